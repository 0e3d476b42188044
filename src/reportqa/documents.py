"""Load ``.txt``, ``.md`` and ``.pdf`` files into ``Document`` records.

A document's id is the sha256 of its bytes, so an unchanged file keeps its id across rebuilds and
a changed one gets a new id. Human metadata (title, authors, year, source URL) lives in an optional
sidecar ``<file>.meta.json`` next to the file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path

from .errors import DocumentError
from .records import Document

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".pdf")
META_SUFFIX = ".meta.json"
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN = re.compile(r"[A-Za-z]")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def detect_lang(text: str) -> str:
    """``"ko"`` when Hangul makes up a fair share of the letters, else ``"en"``."""
    hangul = len(_HANGUL.findall(text))
    latin = len(_LATIN.findall(text))
    if hangul == 0:
        return "en"
    # a Hangul syllable carries about three Latin letters' worth of text
    return "ko" if hangul * 3 >= latin * 0.5 else "en"


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The indexable files of a corpus directory, sorted, sidecars and hidden files excluded."""
    if not corpus_dir.is_dir():
        return []
    return sorted(
        p
        for p in corpus_dir.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUPPORTED_SUFFIXES
        and not p.name.endswith(META_SUFFIX)
        and not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts)
    )


def read_meta(path: Path) -> dict:
    sidecar = path.with_name(path.name + META_SUFFIX)
    if not sidecar.exists():
        return {}
    try:
        return json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        logger.warning("ignoring unreadable metadata %s: %s", sidecar, e)
        return {}


def read_bounded(path: Path, max_bytes: int | None = None, label: str | None = None) -> bytes:
    """A file's bytes; ``DocumentError`` when it cannot be read or is over ``max_bytes`` (checked before reading)."""
    path = Path(path)
    label = label or path.name
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise DocumentError(
                f"{label}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:g} MB limit (REPORTQA_MAX_FILE_MB)"
            )
        return path.read_bytes()
    except OSError as e:
        raise DocumentError(f"{label}: cannot read file ({e.strerror})") from e


def load_document(path: Path, max_bytes: int | None = None, data: bytes | None = None) -> Document:
    """Read one file (or parse its already-read ``data``); ``DocumentError`` with a one-line reason when it
    cannot be used."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"{path.name}: unsupported file type '{suffix}' (use .txt, .md or .pdf)")
    if data is None:
        data = read_bounded(path, max_bytes)
    if not data.strip():
        raise DocumentError(f"{path.name}: file is empty")
    if suffix == ".pdf":
        pages = _pdf_pages(path, data)
        paged = True
    else:
        pages = (_decode_text(path, data),)
        paged = False
    text = "\n".join(pages)
    if not text.strip():
        raise DocumentError(f"{path.name}: no extractable text (a scanned PDF needs OCR first)")
    meta = read_meta(path)
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
    )


def _decode_text(path: Path, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise DocumentError(f"{path.name}: looks binary (NUL bytes), not a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    for encoding in ("cp949", "euc-kr"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise DocumentError(f"{path.name}: unknown text encoding")
    return str(best)


def _pdf_pages(path: Path, data: bytes) -> tuple[str, ...]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(f"{path.name}: encrypted PDF (needs a password)")
        return tuple(page.extract_text() or "" for page in reader.pages)
    except DocumentError:
        raise
    except DependencyError as e:
        raise DocumentError(f"{path.name}: encrypted PDF needs the 'cryptography' package ({e})") from e
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError, IndexError) as e:
        raise DocumentError(f"{path.name}: unreadable PDF ({type(e).__name__}: {str(e)[:80]})") from e


def _guess_title(path: Path, pages: tuple[str, ...]) -> str:
    for line in pages[0].splitlines():
        line = line.strip().lstrip("#").strip()
        if 8 <= len(line) <= 150:
            return line
    return path.stem
