"""Changes to the corpus folder that must survive a crash: ``add``'s copies, journalled.

``add`` copies files into the corpus and then builds. A build that skips a copy (corrupt, empty,
encrypted) takes it out again and puts back the file it replaced; a build that fails does the same
for every copy. A process killed with SIGKILL gets no chance to, so every change is first written to
a journal in the index folder; the next ``build`` or ``add`` (under the same build lock) settles
what the journal names by what the index holds: a copy the index has indexed is kept (the add had
finished), any other copy is undone.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import ReportQAError, printable

JOURNAL = ".add-journal.json"
MAX_NAME_BYTES = 200  # leaves room for ``.meta.json`` and the ``.previous`` of a replaced file within 255


def safe_name(name: str) -> str:
    """A file name that stays inside the corpus directory, short enough for its sidecar's name, its
    letters composed (NFC: macOS writes Korean names decomposed, which look the same and compare unequal)."""
    cleaned = "".join(ch for ch in unicodedata.normalize("NFC", Path(name).name) if unicodedata.category(ch)[0] != "C")
    cleaned = cleaned.replace("/", "_").replace("\\", "_").lstrip(".").strip()
    if not cleaned:
        raise ReportQAError(f"unusable file name {name!r}")
    if len(cleaned.encode()) > MAX_NAME_BYTES:
        stem, suffix = os.path.splitext(cleaned)
        room = MAX_NAME_BYTES - len(suffix.encode())
        cleaned = stem.encode()[:room].decode(errors="ignore").rstrip() + suffix
    return cleaned


@dataclass
class _Entry:
    target: str  # file name in the corpus
    previous: str | None  # hidden name of the file it replaced, while the add runs
    sha256: str  # of the new content


class CorpusChange:
    """The files one ``add`` writes into ``corpus``, each recorded in ``index_dir``'s journal before
    anything on disk moves. Use inside the index's build lock."""

    def __init__(self, corpus: Path, index_dir: Path):
        self.corpus = Path(corpus)
        self.journal = Path(index_dir) / JOURNAL
        self.entries: dict[str, _Entry] = {}

    def write(self, source: Path, target: Path) -> None:
        """Put ``source``'s bytes at ``target``, setting a file already there aside until ``settle``."""
        data = Path(source).read_bytes()
        entry = self.entries.get(target.name)
        first = entry is None
        if first:
            previous = f".{target.name}.previous" if target.exists() else None
            if previous:
                (self.corpus / previous).unlink(missing_ok=True)  # stale: no journal names it any more
            entry = self.entries[target.name] = _Entry(target.name, previous, "")
        entry.sha256 = hashlib.sha256(data).hexdigest()
        self._save()
        if first and entry.previous:
            os.replace(target, self.corpus / entry.previous)
        _write_atomically(target, data)

    def settle(self, skipped: Iterable[str] | None) -> dict[str, str]:
        """After the build: keep what it indexed; take back a copy it skipped and put back the file that
        copy replaced (everything, when the build failed: ``skipped`` None). Returns what was undone."""
        skipped = None if skipped is None else set(skipped)
        undone = {}
        for entry in self.entries.values():
            if skipped is not None and entry.target not in skipped:
                _keep(self.corpus, entry)
            else:
                undone[entry.target] = _undo(self.corpus, entry)
        self.close()
        return undone

    def close(self) -> None:
        self.journal.unlink(missing_ok=True)

    def _save(self) -> None:
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        record = {"corpus": str(self.corpus.resolve()), "entries": [asdict(e) for e in self.entries.values()]}
        _write_atomically(self.journal, json.dumps(record, ensure_ascii=False).encode())


def recover(corpus: Path, index_dir: Path, indexed: set[str]) -> list[str]:
    """Settle an ``add`` that was killed before it could (see the module docstring); ``indexed`` holds
    the sha256 of every document in the current index. Returns one line per file settled."""
    journal = Path(index_dir) / JOURNAL
    leftovers = [*Path(corpus).glob(".*.incoming-*"), *Path(index_dir).glob(f".{JOURNAL}.incoming-*")]
    for leftover in leftovers:  # half-written copies: the files they were to become are settled below
        leftover.unlink(missing_ok=True)
    try:
        record = json.loads(journal.read_text(encoding="utf-8"))
        entries = [_Entry(**e) for e in record["entries"]]
        same_corpus = record["corpus"] == str(Path(corpus).resolve())
    except FileNotFoundError:
        return []
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        journal.unlink(missing_ok=True)  # not one this code wrote whole (it is written by rename)
        return []
    if not same_corpus:  # this index is being built from another folder now: leave that one alone
        return [f"an interrupted add into {record['corpus']} is settled by the next build of that corpus"]
    notes = []
    for entry in entries:
        if Path(entry.target).name != entry.target or (entry.previous and Path(entry.previous).name != entry.previous):
            continue  # not a journal this code wrote: touch nothing outside the corpus
        target = Path(corpus) / entry.target
        if entry.sha256 in indexed and _sha256(target) == entry.sha256:
            _keep(Path(corpus), entry)
            notes.append(f"{entry.target}: an interrupted add was completed")
        else:
            outcome = _undo(Path(corpus), entry)
            notes.append(f"{entry.target}: an interrupted add was undone ({outcome})")
    journal.unlink(missing_ok=True)
    return notes


def _keep(corpus: Path, entry: _Entry) -> None:
    if entry.previous:
        (corpus / entry.previous).unlink(missing_ok=True)


def _undo(corpus: Path, entry: _Entry) -> str:
    target = corpus / entry.target
    if entry.previous and (corpus / entry.previous).exists():
        os.replace(corpus / entry.previous, target)
        return "the previous file was kept"
    if _sha256(target) == entry.sha256:
        target.unlink()
    return "not added"


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _write_atomically(path: Path, data: bytes) -> None:
    """``data`` at ``path``, whole or not at all: written to a hidden temporary file, then renamed."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name[:60]}.incoming-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def corpus_folder(corpus: Path, create: bool) -> None:
    """Refuse a corpus path that is a file, or (unless ``create``) one that does not exist: a mistyped
    ``--corpus`` would otherwise empty the index, or fail half-way with an OSError's text."""
    if corpus.is_dir():
        return
    if create and not corpus.exists():
        corpus.mkdir(parents=True)
        return
    what = "is not a folder" if corpus.exists() else "does not exist"
    hint = "" if create else ", or add files with 'reportqa add'"
    raise ReportQAError(
        f"the corpus folder {printable(str(corpus))} {what}: pass --corpus with your documents' folder{hint}"
    )
