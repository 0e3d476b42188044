"""Load ``.txt``, ``.md`` and ``.pdf`` files into ``Document`` records.

A document's id is the sha256 of its bytes, so an unchanged file keeps its id across rebuilds and
a changed one gets a new id. Human metadata (title, authors, year, source URL) lives in an optional
sidecar ``<file>.meta.json`` next to the file.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import json
import logging
import os
import re
import stat
import unicodedata
from pathlib import Path

from .errors import DocumentError, printable
from .records import Document

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".pdf")
META_SUFFIX = ".meta.json"
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN = re.compile(r"[A-Za-z]")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks (an index file or a PDF need not fit in memory twice)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def detect_lang(text: str) -> str:
    """``"ko"`` when Hangul makes up a fair share of the letters, else ``"en"``."""
    hangul = len(_HANGUL.findall(text))
    latin = len(_LATIN.findall(text))
    if hangul == 0:
        return "en"
    # a Hangul syllable carries about three Latin letters' worth of text
    return "ko" if hangul * 3 >= latin * 0.5 else "en"


def korean_or_english(text: str) -> bool:
    """Whether Hangul and Latin letters make up at least half of ``text``'s letters (a text without
    letters counts as either). Questions in other languages are not answered: the encoders would read
    them, but what counts as an answer and when to refuse are measured on Korean and English only."""
    letters = sum(1 for ch in text if unicodedata.category(ch).startswith("L"))
    return not letters or 2 * (len(_HANGUL.findall(text)) + len(_LATIN.findall(text))) >= letters


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The indexable files of a corpus directory, sorted, sidecars and hidden files excluded."""
    return scan_corpus(corpus_dir)[0]


def scan_corpus(corpus_dir: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """(indexable files, (name, reason) of the files refused) of a corpus directory, both sorted.

    Only regular files inside the corpus are read: a symbolic link (to ``/etc/passwd``, or into
    ``/proc``, whose files report size 0) is refused with a reason, as are sockets and pipes. Linked
    folders are not descended into.
    """
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        return [], []
    files, refused = [], []
    for path in sorted(corpus_dir.rglob("*")):
        relative = path.relative_to(corpus_dir)
        if any(part.startswith(".") for part in relative.parts) or path.name.endswith(META_SUFFIX):
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            continue
        try:
            mode = path.lstat().st_mode
        except OSError:
            continue
        if stat.S_ISLNK(mode):
            refused.append(
                (
                    str(relative),
                    f"{printable(str(relative))}: a symbolic link; only regular files in the "
                    "corpus are indexed (copy the file in with 'reportqa add')",
                )
            )
        elif stat.S_ISREG(mode):
            files.append(path)
        elif not stat.S_ISDIR(mode):
            refused.append((str(relative), f"{printable(str(relative))}: not a regular file"))
    return files, refused


_META_TEXT = ("title", "title_en", "short", "publisher", "publisher_url", "source_url", "sha256", "fetched", "cited_as")
_META_LANGS = ("ko", "en")
_META_MAX_BYTES = 1_000_000
_META_MAX_DEPTH = 4


def read_meta_checked(path: Path) -> tuple[dict, list[str]]:
    """(metadata, one-line notes on what was ignored) from ``<file>.meta.json``.

    The sidecar is user data next to a document: a field of the wrong type (``"language": ["ko"]``)
    would otherwise reach the index and break every question, so each known field is checked and a
    bad one dropped with a note; a sidecar that is not a JSON object is ignored whole.
    """
    path = Path(path)
    sidecar = path.with_name(path.name + META_SUFFIX)
    label = printable(sidecar.name)
    try:
        if not os.path.lexists(sidecar):
            return {}, []
        if sidecar.is_symlink() or not sidecar.is_file():
            return {}, [f"{label}: not a regular file, metadata ignored"]
        if sidecar.stat().st_size > _META_MAX_BYTES:
            return {}, [f"{label}: over {_META_MAX_BYTES // 1_000_000} MB, metadata ignored"]
        raw = json.loads(sidecar.read_text(encoding="utf-8"))
    except OSError as e:
        if e.errno == errno.ENAMETOOLONG:  # a name that long can have no sidecar
            return {}, []
        return {}, [f"{label}: cannot read ({e.strerror}), metadata ignored"]
    except (ValueError, RecursionError) as e:
        reason = "nested too deeply" if isinstance(e, RecursionError) else f"not valid JSON ({str(e)[:60]})"
        return {}, [f"{label}: {reason}, metadata ignored"]
    if not isinstance(raw, dict):
        return {}, [f"{label}: not a JSON object, metadata ignored"]
    return _checked_fields(raw, label)


def _checked_fields(raw: dict, label: str) -> tuple[dict, list[str]]:
    meta, dropped = {}, []
    for key, value in raw.items():
        if key in _META_TEXT:
            ok = isinstance(value, str) and 0 < len(value) <= 1000 and (key not in ("title", "short") or value.strip())
        elif key in ("language", "lang"):
            ok = value in _META_LANGS
        elif key == "year":
            ok = (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, str)
        elif key == "authors":
            ok = isinstance(value, list) and all(isinstance(a, str) for a in value)
        else:
            ok = _depth(value) <= _META_MAX_DEPTH
        if ok:
            meta[key] = value
        else:
            dropped.append(printable(str(key))[:40])
    notes = [f"{label}: ignored field(s) {', '.join(dropped)} (wrong type or value)"] if dropped else []
    return meta, notes


def _depth(value: object, level: int = 0) -> int:
    if level > _META_MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def read_bounded(path: Path, max_bytes: int | None = None, label: str | None = None) -> bytes:
    """A regular file's bytes; ``DocumentError`` when it cannot be read, is not a regular file (a
    symbolic link is not followed) or is over ``max_bytes`` (checked before reading)."""
    path = Path(path)
    label = printable(label or path.name)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        if e.errno == errno.ELOOP:  # the last part of the path is a symbolic link
            raise DocumentError(f"{label}: a symbolic link; only regular files are indexed") from e
        raise DocumentError(f"{label}: cannot read file ({e.strerror})") from e
    with os.fdopen(fd, "rb") as handle:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise DocumentError(f"{label}: not a regular file")
            if max_bytes is not None and info.st_size > max_bytes:
                raise DocumentError(
                    f"{label}: {info.st_size / 1e6:.1f} MB is over the {max_bytes / 1e6:g} MB limit "
                    "(REPORTQA_MAX_FILE_MB)"
                )
            data = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
        except OSError as e:
            raise DocumentError(f"{label}: cannot read file ({e.strerror})") from e
    if max_bytes is not None and len(data) > max_bytes:  # it grew after the size check
        raise DocumentError(f"{label}: over the {max_bytes / 1e6:g} MB limit (REPORTQA_MAX_FILE_MB)")
    return data


def load_document(path: Path, max_bytes: int | None = None, data: bytes | None = None) -> Document:
    """Read one file (or parse its already-read ``data``); ``DocumentError`` with a one-line reason when it
    cannot be used. What was read only in part (a PDF page that fails, bytes that are not UTF-8, a bad
    sidecar field) is in ``Document.notes``."""
    path = Path(path)
    name = printable(path.name)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"{name}: unsupported file type '{printable(suffix)}' (use .txt, .md or .pdf)")
    if data is None:
        data = read_bounded(path, max_bytes)
    if not data.strip():
        raise DocumentError(f"{name}: file is empty")
    if suffix == ".pdf":
        pages, notes = _pdf_pages(name, data)
        paged = True
    else:
        text, notes = _decode_text(name, data)
        pages, paged = (text,), False
    # Korean written decomposed (macOS, some PDF producers: 중 as ᄌ+ᅮ+ᆼ) is the same text composed, which
    # Kiwi reads as words (decomposed, "중국의" kept its particle) and questions are written in
    pages = tuple(unicodedata.normalize("NFC", page) for page in pages)
    text = "\n".join(pages)
    if not _VISIBLE.search(text):
        raise DocumentError(
            f"{name}: no extractable text (a scanned PDF needs OCR first)" if paged else f"{name}: no visible text"
        )
    meta, meta_notes = read_meta_checked(path)
    title = meta.get("title") or _guess_title(path, pages)
    lang = meta.get("language") or meta.get("lang") or detect_lang(text[:20000])
    return Document(
        doc_id=sha256_bytes(data),
        path=path.name,
        title=title,
        lang=lang,
        pages=tuple(pages),
        paged=paged,
        meta=meta,
        notes=tuple(notes + meta_notes),
    )


# A character that shows: not whitespace, a control or an invisible format mark (zero-width space and
# joiners, direction marks, word joiner, BOM), so a file of only those is refused rather than indexed
# as a chunk that no question can match and no page can show.
_VISIBLE = re.compile(r"[^\s\x00-\x1f\x7f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")

_UTF32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _decode_text(name: str, data: bytes) -> tuple[str, list[str]]:
    """The text of a file and notes on bytes that had to be replaced.

    A BOM says the encoding (UTF-16/32 contain NUL bytes, so it is read before the binary check).
    UTF-8 with a few bad bytes (a file cut in the middle of a character) is decoded with
    replacements rather than refused; anything further from UTF-8 tries the Korean legacy encodings.
    """
    for boms, encoding in ((_UTF32_BOMS, "utf-32"), (_UTF16_BOMS, "utf-16")):
        if data.startswith(boms):
            return _decode_replacing(name, data, encoding)
    if b"\x00" in data[:8192]:
        raise DocumentError(f"{name}: looks binary (NUL bytes), not a text file")
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    undecodable = sum(1 for ch in data.decode("utf-8", "surrogateescape") if "\udc80" <= ch <= "\udcff")
    if undecodable <= max(8, len(data) // 1000):  # UTF-8 but for a few bytes (a file cut mid-character)
        note = f"{name}: {undecodable} byte(s) that are not UTF-8 replaced by U+FFFD"
        return data.decode("utf-8-sig", "replace"), [note]
    for encoding in ("cp949", "euc-kr"):
        try:
            return data.decode(encoding), []
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise DocumentError(f"{name}: unknown text encoding")
    return str(best), []


def _decode_replacing(name: str, data: bytes, encoding: str) -> tuple[str, list[str]]:
    text = data.decode(encoding, "replace")
    replaced = text.count("\ufffd") - data.decode(encoding, "ignore").count("\ufffd")
    if replaced == 0:
        return text, []
    return text, [f"{name}: {replaced} undecodable {encoding.upper()} sequence(s) replaced by U+FFFD"]


def _pdf_pages(name: str, data: bytes) -> tuple[tuple[str, ...], list[str]]:
    """Each page's text; a page pypdf cannot read is left empty and named in the notes.

    A PDF is untrusted input to a large parser whose failures come as many exception types (an
    unknown filter raises ``NotImplementedError``, a stream inflating past pypdf's limit
    ``LimitReachedError``, a cyclic tree ``RecursionError``), so every ``Exception`` from it counts
    as "unreadable" and costs the document, or the page, not the build.
    """
    import io

    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(f"{name}: encrypted PDF (needs a password)")
        pages = reader.pages
        count = len(pages)
    except DocumentError:
        raise
    except DependencyError as e:
        raise DocumentError(f"{name}: encrypted PDF needs the 'cryptography' package ({e})") from e
    except Exception as e:  # noqa: BLE001 (see the docstring)
        raise DocumentError(f"{name}: unreadable PDF ({_brief(e)})") from e
    texts, failed = [], []
    for number in range(count):
        try:
            texts.append(pages[number].extract_text() or "")
        except Exception as e:  # noqa: BLE001 (see the docstring)
            texts.append("")
            failed.append((number + 1, _brief(e)))
    if failed and len(failed) == count:
        raise DocumentError(f"{name}: unreadable PDF (every page failed; page 1: {failed[0][1]})")
    notes = [f"{name}: page {number} unreadable ({reason}), left out" for number, reason in failed[:3]]
    if len(failed) > 3:
        notes.append(f"{name}: {len(failed) - 3} more unreadable page(s) left out")
    return tuple(texts), notes


def _brief(error: BaseException) -> str:
    return printable(f"{type(error).__name__}: {str(error)[:80]}")


def _guess_title(path: Path, pages: tuple[str, ...]) -> str:
    for line in pages[0].splitlines():
        line = line.strip().lstrip("#").strip()
        if 8 <= len(line) <= 150:
            return line
    return path.stem
