"""``ReportQA``: load → chunk → embed → index → retrieve → answer, behind one object.

The CLI, the web app and the batch runner are thin shells over this class; it is itself a thin
facade over the use cases: ``Indexer`` (build, add, remove), ``Answerer`` (ask, batch) and the
cited-source listing and fetching of ``sources``.
"""

from __future__ import annotations

import threading
from pathlib import Path

from .answerer import Answerer
from .config import Settings
from .encoder import Encoder
from .errors import ReportQAError
from .evidence import Evidence, neighbours, page_of
from .indexer import Indexer, outdated
from .models import Models
from .records import Answer, BuildReport, DocumentEntry, Reference
from .retrieve import IndexVersion
from .sources import Fetched, cited_works, fetch_cited
from .store import IndexStore, current_version, read_manifest, verify

__all__ = ["BuildReport", "ReportQA"]


class ReportQA:
    """Document-grounded question answering over one corpus and its index.

    >>> qa = ReportQA(index_dir="index", corpus_dir="corpus")   # doctest: +SKIP
    >>> qa.build()                                              # doctest: +SKIP
    >>> print(qa.ask("챗GPT 학습에 사용된 전력량은?").text)        # doctest: +SKIP
    """

    def __init__(
        self,
        index_dir: str | Path | None = None,
        corpus_dir: str | Path | None = None,
        settings: Settings | None = None,
        encoder: Encoder | None = None,
        model: str | None = None,
        aux_encoder: Encoder | None = None,
    ):
        given = {"index_dir": index_dir, "corpus_dir": corpus_dir, "model": model}
        self.settings = (settings or Settings.from_env()).with_(**{k: v for k, v in given.items() if v is not None})
        self.models = Models(self.settings, encoder, aux_encoder)
        self.indexer = Indexer(self.settings, self.models)
        self.answerer = Answerer(self.settings, self.models)
        self._version: IndexVersion | None = None
        self._version_dir: Path | None = None  # the version folder ``_version`` was read from
        self._opening = threading.Lock()

    # --- parts, loaded on first use ----------------------------------------------------------
    @property
    def encoder(self) -> Encoder:
        return self.models.encoder

    @property
    def aux_encoder(self) -> Encoder | None:
        return self.models.aux_encoder

    @property
    def model_name(self) -> str:
        return self.models.model_name

    @property
    def aux_model_name(self) -> str:
        return self.models.aux_model_name

    @property
    def store(self) -> IndexStore:
        return self.version().store

    def version(self) -> IndexVersion:
        """The index version questions are answered from, opened on first use."""
        with self._opening:
            if self._version is None:
                self._version_dir = current_version(self.settings.index_dir)
                self._version = IndexVersion(self.indexer.load())
            return self._version

    def follow_index(self) -> None:
        """Answer from the index's current version: after another process's build, the next question
        opens the new one (a long-running server calls this before each request)."""
        with self._opening:
            if self._version is not None and current_version(self.settings.index_dir) != self._version_dir:
                self._version = None

    def warm(self) -> None:
        """Load everything a question needs (encoders, Korean tokenizer, index, BM25, term table) by
        answering two, so that the first real question is as fast as the later ones."""
        if self.has_index():
            self.batch(["Which documents are indexed?", "어떤 문서가 색인되어 있나?"])

    def has_index(self) -> bool:
        return read_manifest(self.settings.index_dir) is not None

    def index_outdated(self) -> str | None:
        """Why the index needs building again (older format or chunking rules), or None."""
        return outdated(read_manifest(self.settings.index_dir))

    # --- building ----------------------------------------------------------------------------
    def build(self, force: bool = False, progress: bool = False, cancel: threading.Event | None = None) -> BuildReport:
        """Bring the index in line with the corpus; unchanged documents are not re-embedded."""
        return self._switch(*self.indexer.build(force, progress, cancel))

    def add(
        self,
        paths: list[str | Path],
        replace: bool = False,
        progress: bool = False,
        cancel: threading.Event | None = None,
    ) -> BuildReport:
        """Copy files into the corpus and index them (see ``Indexer.add``)."""
        return self._switch(*self.indexer.add(paths, replace, progress, cancel))

    def remove(self, names: list[str], progress: bool = False) -> BuildReport:
        """Delete documents (by corpus file name or sha256 prefix) from the corpus and the index."""
        return self._switch(*self.indexer.remove(names, progress))

    def _switch(self, report: BuildReport, store: IndexStore) -> BuildReport:
        """Answer from the index the build left, from the next question on."""
        if self._version is None or self._version.store is not store:
            with self._opening:
                self._version_dir = current_version(self.settings.index_dir)
                self._version = IndexVersion(store)
        return report

    def check(self) -> tuple[Path, list[str]]:
        """(the index version, one line per file whose sha256 differs from the manifest's record)."""
        return verify(self.settings.index_dir)

    # --- cited sources -----------------------------------------------------------------------
    def sources(self) -> list[tuple[str, Reference, str | None]]:
        """Every footnote and reference-list entry of the indexed documents: (citing document path,
        reference, path of the corpus document it resolves to or None)."""
        return cited_works(self.version())

    def fetch_sources(
        self, only: list[str] | None = None, arxiv_base: str | None = None, progress: bool = False
    ) -> tuple[list[Fetched], BuildReport | None]:
        """Download the cited works that are not in the corpus and can be fetched, then index them."""
        return fetch_cited(self.sources(), self.settings, lambda: self.build(progress=progress), only, arxiv_base)

    # --- asking ------------------------------------------------------------------------------
    def ask(self, question: str, top_k: int | None = None, history: list[str] | None = None) -> Answer:
        """Answer one question; ``history`` holds the conversation's earlier questions, oldest first, so
        that a follow-up ("What about China?", "그럼 중국은?") is read with them."""
        return self.batch([question], top_k, histories=[history or []])[0]

    def batch(
        self, questions: list[str], top_k: int | None = None, histories: list[list[str]] | None = None
    ) -> list[Answer]:
        """Answer many questions with one encoder call for all of them (``histories`` as in ``ask``)."""
        return self.answerer.batch(questions, top_k, self.version, self._version is not None, self.has_index, histories)

    def evidence(self, chunk_id: str) -> Evidence:
        """A passage where it stands: its PDF page rendered with the passage boxed, the passages around
        it, and its footnotes with the cited sources' support."""
        version = self.version()
        store = version.store
        row = store.row_of(chunk_id)
        if row is None:
            raise ReportQAError(f"no passage {chunk_id!r} in the index (it may have been rebuilt)")
        chunk = store.chunks[row]
        entry = store.documents[chunk.doc_id]
        before, after = neighbours(store.chunks, row)
        image, note = page_of(chunk, entry.path, self.settings.corpus_dir, chunk.doc_id)
        cites = version.citations().cites(chunk, row)
        return Evidence(chunk, entry.title, entry.path, before, after, image, note, cites)

    def documents(self) -> list[DocumentEntry]:
        return sorted(self.store.documents.values(), key=lambda d: d.path)
