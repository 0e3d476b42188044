"""Building the index: build, add and remove, each under the index's build lock.

A build reads as a short sequence of named steps: take the lock, settle an interrupted add, plan
what changed (by sha256), embed each new file (through a runner), edit the index's data and save
it as a new version.
"""

from __future__ import annotations

import logging
import threading
import time
import unicodedata
from pathlib import Path

from .chunking import RULES_VERSION
from .citations import document_citations
from .config import Settings
from .corpus import CorpusChange, corpus_folder, recover, safe_name
from .documents import SUPPORTED_SUFFIXES, corpus_files, read_bounded, scan_corpus
from .documents import sha256_bytes as sha256
from .errors import BuildCancelled, DocumentError, ReportQAError, printable
from .models import Models
from .records import BuildReport, Chunk, Document, DocumentEntry
from .runners import RUNNERS, Embedded, read_new_file
from .store import FORMAT_VERSION, BuildLock, IndexStore, read_manifest

logger = logging.getLogger(__name__)


class Indexer:
    """Keeps ``settings.index_dir`` in line with ``settings.corpus_dir``; returns the index it leaves."""

    def __init__(self, settings: Settings, models: Models):
        self.settings = settings
        self.models = models
        self._write_lock = threading.Lock()

    def build(self, force: bool = False, progress: bool = False, cancel: threading.Event | None = None):
        """(report, the new index): unchanged documents are not re-embedded; ``cancel`` stops before the
        next document and leaves the index as it was."""
        corpus_folder(Path(self.settings.corpus_dir), create=False)  # a mistyped --corpus would empty the index
        with self._write_lock, BuildLock(self.settings.index_dir):
            self._recover()
            return self._build(force, progress, cancel, whole_corpus=True)

    def add(
        self,
        paths: list[str | Path],
        replace: bool = False,
        progress: bool = False,
        cancel: threading.Event | None = None,
    ):
        """Copy files into the corpus (a different file of the same name only with ``replace``) and index them.

        A copy that the build cannot index is taken out again, and a file it replaced is put back and
        indexed again: a corrupt or empty file never displaces a document, nor stays in the corpus
        to be skipped by every later build. The copies are journalled (``corpus.CorpusChange``), so
        this holds even when the process is killed: the next build or add settles them.
        """
        corpus = Path(self.settings.corpus_dir)
        with self._write_lock, BuildLock(self.settings.index_dir):
            self._recover()
            corpus_folder(corpus, create=True)
            change = CorpusChange(corpus, self.settings.index_dir)
            refused = _copy_in(paths, corpus, change, replace)
            built = None
            try:
                built = self._build(False, progress, cancel)
            finally:
                undone = change.settle(None if built is None else (name for name, _ in built[0].skipped))
            report, store = built
            restored = [entry.target for entry in change.entries.values() if entry.previous and entry.target in undone]
            if restored:  # the build dropped them from the index: index them again, as the unchanged files they are
                again, store = self._build(False, progress)
                report.removed = [name for name in report.removed if name not in restored]
                report.unchanged = sorted([*report.unchanged, *restored])
                report.chunks, report.seconds = again.chunks, report.seconds + again.seconds
        report.skipped = refused + [
            (name, f"{reason}; {undone[name]}" if name in undone else reason) for name, reason in report.skipped
        ]
        return report, store

    def remove(self, names: list[str], progress: bool = False):
        """Delete documents (by corpus file name or sha256 prefix) from the corpus and the index."""
        corpus = Path(self.settings.corpus_dir)
        with self._write_lock, BuildLock(self.settings.index_dir):
            self._recover()
            files = {str(p.relative_to(corpus)): p for p in corpus_files(corpus)}
            ids = self.indexed_paths()
            for name in names:
                matches = _named(name, files, ids)
                if len(matches) != 1:
                    raise ReportQAError(
                        f"no single document matches '{printable(name)}' (use a name from 'reportqa list')"
                    )
                matches[0].unlink()
                matches[0].with_name(matches[0].name + ".meta.json").unlink(missing_ok=True)
            return self._build(False, progress)

    def indexed_paths(self) -> dict[str, str]:
        """sha256 → corpus path of each document in the current index, from its manifest ({} if unreadable)."""
        manifest = read_manifest(self.settings.index_dir)
        documents = manifest.get("documents") if isinstance(manifest, dict) else None
        if not isinstance(documents, dict):
            return {}
        return {doc_id: entry.get("path") for doc_id, entry in documents.items() if isinstance(entry, dict)}

    def load(self) -> IndexStore:
        """The current index, refused when it was built with other models or chunker settings."""
        return IndexStore.load(
            self.settings.index_dir,
            model=self.models.model_name,
            chunker=self.settings.chunker_fingerprint(),
            aux_model=self.models.aux_model_name,
        )

    # --- the steps of a build ----------------------------------------------------------------
    def _recover(self) -> None:
        """Settle an ``add`` killed before it could (``corpus.recover``); call with the build lock held."""
        for note in recover(self.settings.corpus_dir, self.settings.index_dir, set(self.indexed_paths())):
            logger.warning("%s", printable(note))

    def _build(self, force: bool, progress: bool, cancel: threading.Event | None = None, whole_corpus: bool = False):
        """``whole_corpus``: a build of the corpus as it stands (not an add or a removal), which refuses
        a corpus folder without documents while the index holds some."""
        started = time.perf_counter()
        store = self._previous(force)
        report, seen = BuildReport(), {}
        added: list[tuple[Embedded, DocumentEntry, dict | None]] = []
        files = list(self._new_files(store, seen, report, whole_corpus))
        with (
            self._runner()(self.models, self.settings, progress) as runner,
            _documents_bar(len(files), progress) as bar,
        ):
            chunks_made = 0
            for item in runner.embedded(files, self.read_document, lambda: _stop_if(cancel)):
                chunks_made += len(item.chunks or ())
                bar.set_postfix(chunks=chunks_made, refresh=False)
                bar.update(1)
                if item.error is not None:
                    logger.info("skipped %s", item.error)  # the report carries it to every front end
                    report.skipped.append((item.name, str(item.error)))
                    continue
                report.warnings += [(item.name, note) for note in item.document.notes]
                # footnote and reference lines are only reliable in text documents, not PDF extracts
                citations = None if item.document.paged else document_citations(item.document.text)
                added.append((item, _entry(item.name, item.doc_id, item.document), citations))
            runner.finish()
            store = store or self._fresh_store()
            _edit(store, added, seen, report)
            _stop_if(cancel)
            if report.changed or force or read_manifest(self.settings.index_dir) is None:
                store.save(  # the second encoder is loaded only if a Korean term is new (not for a removal)
                    self.settings.index_dir,
                    ann_above=self.settings.ann_above,
                    embed_terms=lambda words: self.models.aux_encoder.encode_passages(words),
                )
        report.chunks = len(store.chunks)
        report.seconds = time.perf_counter() - started
        return report, store

    def _runner(self) -> type:
        """Where the new files are read and embedded: on a Ray cluster when one is named, else here."""
        if self.settings.ray:
            from .distributed import RayRunner

            return RayRunner
        return RUNNERS[self.settings.build_runner]

    def _previous(self, force: bool) -> IndexStore | None:
        """The index to update, or None to build one from nothing."""
        manifest = read_manifest(self.settings.index_dir)
        if force or manifest is None:
            return None
        reason = outdated(manifest)
        if reason:
            logger.warning("%s: indexing every document again", reason)
            return None
        return self.load()

    def _new_files(self, store: IndexStore | None, seen: dict[str, Path], report: BuildReport, whole_corpus: bool):
        """(name, sha256, path, bytes) of each corpus file the index lacks; unchanged and unreadable ones are noted."""
        max_bytes = int(self.settings.max_file_mb * 1e6)
        files, refused = scan_corpus(self.settings.corpus_dir)
        if whole_corpus and not files:
            _refuse_an_empty_corpus(Path(self.settings.corpus_dir), len(self.indexed_paths()))
        report.skipped += refused
        for path in _indexed_first(files, self.settings.corpus_dir, store):
            name = str(path.relative_to(self.settings.corpus_dir))
            try:
                data = read_bounded(path, max_bytes, name)
                doc_id = sha256(data)
                if doc_id in seen:
                    same = printable(seen[doc_id].name)
                    raise DocumentError(f"{printable(name)}: same content as {same}, indexed once")
            except DocumentError as e:
                logger.info("skipped %s", e)  # the report carries it to every front end
                report.skipped.append((name, str(e)))
                continue
            seen[doc_id] = path
            if store is not None and doc_id in store.documents:
                store.documents[doc_id].path = name
                report.unchanged.append(name)
            else:
                yield name, doc_id, path, data

    def read_document(self, name: str, doc_id: str, path: Path, data: bytes) -> tuple[Document, list[Chunk]]:
        """A new file's document and chunks; ``DocumentError`` for one that cannot be indexed."""
        return read_new_file(self.settings, name, doc_id, path, data)

    def _fresh_store(self) -> IndexStore:
        encoder, aux = self.models.encoder, self.models.aux_encoder
        return IndexStore(
            model=encoder.name,
            dim=encoder.dim,
            chunker=self.settings.chunker_fingerprint(),
            chunking_rules=RULES_VERSION,
            aux_model=aux.name if aux else "",
            aux_dim=aux.dim if aux else 0,
        )


def outdated(manifest: dict | None) -> str | None:
    """Why an index must be built again from its documents (an older file format or older chunking
    rules), or None when it is current or absent."""
    if manifest is None:
        return None
    if manifest.get("format_version") != FORMAT_VERSION:
        return "the index was written in an older format"
    if manifest.get("chunking_rules", 1) != RULES_VERSION:
        return "the index was chunked or tokenized by older rules"
    return None


def _refuse_an_empty_corpus(corpus: Path, indexed: int) -> None:
    """A corpus folder that holds no document while the index holds ``indexed`` is the wrong folder as
    surely as a mistyped one: a build from it would take every document out of the index."""
    if indexed:
        raise ReportQAError(
            f"the corpus folder {printable(str(corpus))} holds no .txt, .md or .pdf file, and the index "
            f"{indexed} document(s): pass --corpus with their folder, or take them out with 'reportqa remove'"
        )


def _indexed_first(files: list[Path], corpus: Path, store: IndexStore | None) -> list[Path]:
    """``files`` with those the index holds by their name first: of two files with the same content,
    the one already indexed stays the document, and a new copy is the duplicate, whatever its name."""
    if store is None:
        return files
    indexed = {entry.path for entry in store.documents.values()}
    return sorted(files, key=lambda path: str(path.relative_to(corpus)) not in indexed)


def _entry(name: str, doc_id: str, document: Document) -> DocumentEntry:
    """The index's record of a document."""
    return DocumentEntry(
        doc_id=doc_id,
        path=name,
        title=document.title,
        lang=document.lang,
        pages=len(document.pages),
        paged=document.paged,
        chunk_ids=[],
        added=time.strftime("%Y-%m-%dT%H:%M:%S"),
        meta=document.meta,
    )


def _edit(store: IndexStore, added: list, seen: dict[str, Path], report: BuildReport) -> None:
    """Join the new documents to the index (in corpus order, whichever was read first) and drop the gone ones."""
    added.sort(key=lambda new: new[0].position)
    for _, entry, citations in added:
        report.added.append(entry.path)
        if citations is not None:
            store.extras.setdefault("citations", {})[entry.doc_id] = citations
    documents = [(entry, item.chunks, item.features()) for item, entry, _ in added]
    added.clear()  # the gathered features are now all that hold each document's arrays, and
    store.add_documents(documents)  # the store lets them go as it joins them to its own
    gone = [doc_id for doc_id in store.documents if doc_id not in seen]
    report.removed += [store.documents[doc_id].path for doc_id in gone]
    store.remove_documents(gone)


def _named(name: str, files: dict[str, Path], ids: dict[str, str]) -> list[Path]:
    """The corpus files ``name`` stands for: its file name as written, else as Unicode composes it (a
    name macOS wrote decomposed, 보고서 as ᄇ+ᅩ+…, looks the same as the one typed), else a sha256 prefix
    of six or more characters."""
    if name in files:
        return [files[name]]
    typed = unicodedata.normalize("NFC", name)
    composed = [path for key, path in files.items() if unicodedata.normalize("NFC", key) == typed]
    if composed:
        return composed
    return [files[path] for doc_id, path in ids.items() if len(name) >= 6 and doc_id.startswith(name) and path in files]


def _copy_in(paths: list[str | Path], corpus: Path, change: CorpusChange, replace: bool) -> list[tuple[str, str]]:
    """Write each usable file into the corpus through ``change``; (name, reason) of those refused."""
    refused: list[tuple[str, str]] = []
    for source in map(Path, paths):
        shown = printable(str(source))
        if source.is_dir():
            refused.append((source.name, f"{shown}: a folder; add the files in it (e.g. {shown}/*.pdf)"))
            continue
        if not source.is_file():
            refused.append((source.name, f"{shown}: no such file"))
            continue
        if source.suffix.lower() not in SUPPORTED_SUFFIXES:
            kinds = ", ".join(SUPPORTED_SUFFIXES)
            refused.append((source.name, f"{printable(source.name)}: only {kinds} files can be added"))
            continue
        target = corpus / safe_name(source.name)
        if target.exists() and target.samefile(source):
            continue
        if target.exists() and target.read_bytes() != source.read_bytes() and not replace:
            reason = "a different file of that name is already in the corpus (use --replace)"
            refused.append((source.name, f"{printable(target.name)}: {reason}"))
            continue
        change.write(source, target)
    return refused


def _documents_bar(total: int, progress: bool):
    """Documents done of those to index, with the chunks made so far and the time to go (tqdm; the web
    page shows it through Gradio's progress)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="documents", unit="doc", disable=not progress or total == 0, leave=False)


def _stop_if(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise BuildCancelled("indexing cancelled: the corpus and the index are as they were")
