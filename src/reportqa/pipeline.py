"""``ReportQA``: load → chunk → embed → index → retrieve → answer, behind one object.

The CLI, the web app and the batch runner are thin shells over this class.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import numbers
import os
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .answer import NOT_FOUND, render, select_quotes, split_sentences
from .chunking import RULES_VERSION, chunk_document
from .citations import Reference, document_citations
from .config import MAX_TOP_K, Settings
from .corpus import CorpusChange, recover, safe_name
from .documents import (
    SUPPORTED_SUFFIXES,
    corpus_files,
    detect_lang,
    load_document,
    printable,
    read_bounded,
    scan_corpus,
    sha256_bytes,
)
from .encoder import (
    Encoder,
    gpu_driver_present,
    load_aux_encoder,
    load_encoder,
    one_blas_thread,
    passage_workers,
    vectors_with_spans,
)
from .errors import BuildCancelled, DocumentError, QuestionError, ReportQAError
from .lexical import load_tokenizer, tokenize, tokenizer_loaded
from .records import Answer, Chunk, Document
from .retrieve import Retriever
from .side_processes import TOKENS_ONLY, SidePool, auto_processes
from .store import BuildLock, DocumentEntry, Features, IndexStore, read_manifest, verify

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000


@dataclass
class BuildReport:
    """What a build did; ``skipped`` holds (file name, reason) for files that were not indexed."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # indexed, but part of it was left out
    chunks: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


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
        base = settings or Settings.from_env()
        self.settings = base.with_(
            **{
                k: v
                for k, v in {"index_dir": index_dir, "corpus_dir": corpus_dir, "model": model}.items()
                if v is not None
            }
        )
        self._encoder = encoder
        self._aux_encoder = aux_encoder
        self._aux_given = aux_encoder is not None
        self._store: IndexStore | None = None
        self._write_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    # --- parts, loaded on first use ----------------------------------------------------------
    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = load_encoder(self.settings.model, self._model_cache, self.settings.encoder_backend)
        return self._encoder

    @property
    def aux_encoder(self) -> Encoder | None:
        if self._aux_encoder is None:
            self._aux_encoder = load_aux_encoder(self.settings.second_encoder, self._model_cache)
        return self._aux_encoder

    @property
    def _model_cache(self) -> str | None:
        """The model cache as the cached loaders key it (a string, or None for the default)."""
        return str(self.settings.cache_dir) if self.settings.cache_dir else None

    @property
    def aux_model_name(self) -> str:
        if self._aux_encoder is not None:
            return self._aux_encoder.name
        return "" if self.settings.second_encoder in ("", "none") else self.settings.second_encoder

    @property
    def model_name(self) -> str:
        return self._encoder.name if self._encoder is not None else self.settings.model

    @property
    def store(self) -> IndexStore:
        if self._store is None:
            self._store = self._load_store()
        return self._store

    def _load_store(self) -> IndexStore:
        return IndexStore.load(
            self.settings.index_dir,
            model=self.model_name,
            chunker=self.settings.chunker_fingerprint(),
            aux_model=self.aux_model_name,
        )

    def has_index(self) -> bool:
        return read_manifest(self.settings.index_dir) is not None

    # --- building ----------------------------------------------------------------------------
    def build(self, force: bool = False, progress: bool = False, cancel: threading.Event | None = None) -> BuildReport:
        """Bring the index in line with the corpus; unchanged documents are not re-embedded.

        The stages overlap: e5 loads while the first new document is read, the next document is
        read and chunked while the current one is embedded, and USE and the BM25 tokenizer load
        and run beside e5 — Kiwi in a worker process, and USE too when e5 runs on a GPU, so that
        the cores keep up (see ``side_processes``).
        """
        with self._write_lock, BuildLock(self.settings.index_dir):
            self._recover()
            return self._build(force, progress, cancel)

    def _recover(self) -> None:
        """Settle an ``add`` killed before it could (``corpus.recover``); call with the build lock held."""
        for note in recover(self.settings.corpus_dir, self.settings.index_dir, set(self._indexed_paths())):
            logger.warning("%s", printable(note))

    def _indexed_paths(self) -> dict[str, str]:
        """sha256 → corpus path of each document in the current index, from its manifest ({} if unreadable)."""
        manifest = read_manifest(self.settings.index_dir)
        documents = manifest.get("documents") if isinstance(manifest, dict) else None
        if not isinstance(documents, dict):
            return {}
        return {doc_id: entry.get("path") for doc_id, entry in documents.items() if isinstance(entry, dict)}

    def _build(self, force: bool, progress: bool, cancel: threading.Event | None = None) -> BuildReport:
        """``build`` with the index's lock held; ``cancel``, once set, stops it before the next document
        (``BuildCancelled``), leaving the index as it was."""
        started = time.perf_counter()
        with (
            _worker_pool(4, "reportqa-build") as pool,
            contextlib.ExitStack() as stack,
        ):
            store = None if force or not self.has_index() else self._load_store()
            if store is not None and store.chunking_rules != RULES_VERSION:
                logger.warning("the index was chunked by older rules: indexing every document again")
                store = None
            report = BuildReport()
            seen: dict[str, Path] = {}
            loading: dict[str, Future] = {}
            sides: list[SidePool | None] = []  # decided once: with the first read on a CPU, else once e5 loads
            added: list[_NewDocument] = []
            new_files = self._new_files(store, seen, report)

            def start_loading() -> None:  # from the first new file on, beside the reading
                loading["encoder"] = pool.submit(lambda: self.encoder)
                if not gpu_driver_present():  # a CPU build for sure: Kiwi's worker loads while documents are read
                    sides.append(self._side_processes(stack, gpu=False))

            reads = _read_ahead(pool, self._read_document, new_files, first=start_loading)
            for position, (name, doc_id), reading in reads:
                _stop_if(cancel)
                try:
                    document, chunks = reading.result()
                    loading["encoder"].result()
                    if "aux" not in loading:  # second: they run beside e5, which has the cores first
                        if not sides:
                            gpu = getattr(self.encoder, "passage_device", "cpu") == "cuda"
                            sides.append(self._side_processes(stack, gpu))
                        loading["aux"] = pool.submit(lambda: self.aux_encoder)
                        if sides[0] is None:
                            loading["tokenizer"] = pool.submit(load_tokenizer)
                    features = self._features(chunks, pool, loading, sides[0], progress)
                except DocumentError as e:
                    logger.info("skipped %s", e)  # the report carries it to every front end
                    report.skipped.append((name, str(e)))
                    continue
                report.warnings += [(name, note) for note in document.notes]
                # footnote and reference lines are only reliable in text documents, not PDF extracts
                citations = None if document.paged else document_citations(document.text)
                added.append(_NewDocument(position, self._entry(name, doc_id, document), citations, chunks, features))
            _wait(list(loading.values()))
            store = store or self._fresh_store()
            added.sort(key=lambda new: new.position)  # corpus order, whichever read finished first
            for new in added:
                report.added.append(new.entry.path)
                if new.citations is not None:
                    store.extras.setdefault("citations", {})[new.entry.doc_id] = new.citations
            documents = [(new.entry, new.chunks, new.features()) for new in added]
            added.clear()  # the gathered features are now all that hold each document's arrays, and
            store.add_documents(documents)  # the store lets them go as it joins them to its own
            gone = [doc_id for doc_id in store.documents if doc_id not in seen]
            report.removed += [store.documents[doc_id].path for doc_id in gone]
            store.remove_documents(gone)
            _stop_if(cancel)
            if report.changed or force or not self.has_index():
                store.save(self.settings.index_dir, ann_above=self.settings.ann_above)
            self._store = store
        report.chunks = len(store.chunks)
        report.seconds = time.perf_counter() - started
        return report

    def _side_processes(self, stack: contextlib.ExitStack, gpu: bool) -> SidePool | None:
        """Worker processes for Kiwi, and for USE where asked (see ``side_processes``), or None for threads here."""
        processes, with_aux = auto_processes(self.settings.build_processes, gpu)
        if processes == 0 or (with_aux and self._aux_given):  # an encoder object handed in cannot be loaded there
            return None
        if not with_aux and tokenizer_loaded():  # Kiwi is here already (an earlier build or question): no load to hide
            return None
        aux_name = self.settings.second_encoder if with_aux else TOKENS_ONLY
        side = stack.enter_context(SidePool(processes, aux_name, self._model_cache))
        side.warm()
        return side

    def _new_files(self, store: IndexStore | None, seen: dict[str, Path], report: BuildReport) -> Iterator[tuple]:
        """(name, sha256, path, bytes) of each corpus file the index lacks; unchanged and unreadable ones are noted."""
        max_bytes = int(self.settings.max_file_mb * 1e6)
        files, refused = scan_corpus(self.settings.corpus_dir)
        report.skipped += refused
        for path in files:
            name = str(path.relative_to(self.settings.corpus_dir))
            try:
                data = read_bounded(path, max_bytes, name)
                doc_id = sha256_bytes(data)
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

    def _read_document(self, name: str, doc_id: str, path: Path, data: bytes) -> tuple[Document, list[Chunk]]:
        ceiling = self.settings.max_chunks_per_document
        document = load_document(path, data=data)
        if len(document.text) > ceiling * self.settings.chunk_max:  # more than the ceiling's chunks can hold
            raise DocumentError(f"{printable(name)}: {_too_many(ceiling, f'{len(document.text):,} characters')}")
        chunks = chunk_document(document, self.settings)
        if not chunks:
            raise DocumentError(f"{printable(name)}: no text to index")
        if len(chunks) > ceiling:
            raise DocumentError(f"{printable(name)}: {_too_many(ceiling, f'{len(chunks):,} chunks')}")
        return document, chunks

    def _entry(self, name: str, doc_id: str, document: Document) -> DocumentEntry:
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

    def _features(
        self,
        chunks: list[Chunk],
        pool: ThreadPoolExecutor,
        loading: dict[str, Future],
        side: SidePool | None,
        progress: bool,
    ) -> Callable[[], Features]:
        """Everything retrieval needs for these chunks: vectors of chunks and sentences, BM25 tokens.

        e5 runs here, on every core or on the GPU, while USE and Kiwi run beside it: on ``pool``'s
        threads (one each on a CPU, USE on every core when e5 runs on a GPU) or in the ``side``
        processes (Kiwi's alone, or both). What is returned waits for them, so the next document's
        e5 pass can start first.
        """
        texts, sentences, sentence_texts = passage_texts(chunks)
        header = [len(text) - len(chunk.text) for text, chunk in zip(texts, chunks)]
        spans = [(row, a + header[row], b + header[row]) for row, a, b in sentences]

        def lexical() -> list[list[str]]:
            loading["tokenizer"].result()
            return [tokenize(t) for t in texts]

        def second() -> tuple[np.ndarray, np.ndarray]:
            return vectors_with_spans(loading["aux"].result(), texts, spans, passage_workers(self.encoder))

        elsewhere = side.submit(texts, spans) if side is not None else None
        tokens = pool.submit(lexical) if side is None else None
        aux_vectors = pool.submit(second) if side is None or not side.runs_aux else None
        encoder, batch = self.encoder, self.settings.batch_size
        vectors = encoder.encode_passages(texts, batch_size=batch, progress=progress)
        sentence_vectors = encoder.encode_passages(sentence_texts, batch_size=batch * 2, progress=progress)

        def gather() -> Features:
            if elsewhere is not None:
                token_lists, chunk_aux, sentence_aux = elsewhere.result()
            else:
                token_lists = tokens.result()
            if aux_vectors is not None:
                chunk_aux, sentence_aux = aux_vectors.result()
            return Features(
                vectors=vectors,
                tokens=token_lists,
                sentences=np.array(sentences, dtype=np.int32).reshape(-1, 3),
                sentence_vectors=sentence_vectors.reshape(len(sentences), encoder.dim),
                aux_vectors=chunk_aux.reshape(len(texts), -1),
                aux_sentence_vectors=sentence_aux.reshape(len(sentences), chunk_aux.shape[1]),
            )

        return gather

    def _fresh_store(self) -> IndexStore:
        aux = self.aux_encoder
        return IndexStore(
            model=self.encoder.name,
            dim=self.encoder.dim,
            chunker=self.settings.chunker_fingerprint(),
            chunking_rules=RULES_VERSION,
            aux_model=aux.name if aux else "",
            aux_dim=aux.dim if aux else 0,
        )

    def add(
        self,
        paths: list[str | Path],
        replace: bool = False,
        progress: bool = False,
        cancel: threading.Event | None = None,
    ) -> BuildReport:
        """Copy files into the corpus (never overwriting a different file unless ``replace``) and index them.

        A copy that the build cannot index is taken out again, and a file it replaced is put back and
        indexed again: a corrupt or empty file never displaces a document, nor stays in the corpus
        to be skipped by every later build. The copies are journalled (``corpus.CorpusChange``), so
        this holds even when the process is killed: the next build or add settles them. Setting
        ``cancel`` undoes the add as a failed build would (``BuildCancelled``).
        """
        corpus = Path(self.settings.corpus_dir)
        with self._write_lock, BuildLock(self.settings.index_dir):
            self._recover()
            corpus.mkdir(parents=True, exist_ok=True)
            change = CorpusChange(corpus, self.settings.index_dir)
            refused = self._copy_in(paths, corpus, change, replace)
            report = None
            try:
                report = self._build(False, progress, cancel)
            finally:
                undone = change.settle(None if report is None else (name for name, _ in report.skipped))
            restored = [entry.target for entry in change.entries.values() if entry.previous and entry.target in undone]
            if restored:  # the build dropped them from the index: index them again, as the unchanged files they are
                again = self._build(False, progress)
                report.removed = [name for name in report.removed if name not in restored]
                report.unchanged = sorted([*report.unchanged, *restored])
                report.chunks, report.seconds = again.chunks, report.seconds + again.seconds
        report.skipped = refused + [
            (name, f"{reason}; {undone[name]}" if name in undone else reason) for name, reason in report.skipped
        ]
        return report

    @staticmethod
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

    def remove(self, names: list[str], progress: bool = False) -> BuildReport:
        """Delete documents (by corpus file name or sha256 prefix) from the corpus and the index."""
        corpus = Path(self.settings.corpus_dir)
        with self._write_lock, BuildLock(self.settings.index_dir):
            self._recover()
            files = {str(p.relative_to(corpus)): p for p in corpus_files(corpus)}
            ids = self._indexed_paths()
            for name in names:
                matches = (
                    [files[name]]
                    if name in files
                    else [
                        files[path]
                        for doc_id, path in ids.items()
                        if len(name) >= 6 and doc_id.startswith(name) and path in files
                    ]
                )
                if len(matches) != 1:
                    raise ReportQAError(
                        f"no single document matches '{printable(name)}' (use a name from 'reportqa list')"
                    )
                matches[0].unlink()
                sidecar = matches[0].with_name(matches[0].name + ".meta.json")
                if sidecar.exists():
                    sidecar.unlink()
            return self._build(False, progress)

    def sources(self) -> list[tuple[str, Reference, str | None]]:
        """Every footnote and reference-list entry of the indexed documents: (citing document path,
        reference, path of the corpus document it resolves to or None)."""
        store = self.store
        citations = store.citation_index()
        out = []
        for entry in self.documents():
            for reference, target in citations.references(entry.doc_id):
                out.append((entry.path, reference, store.documents[target].path if target else None))
        return out

    def fetch_sources(
        self, only: list[str] | None = None, arxiv_base: str | None = None, progress: bool = False
    ) -> tuple[list, BuildReport | None]:
        """Download the cited works that are not in the corpus and can be fetched, then index them."""
        from .fetch import DEFAULT_ARXIV_BASE, fetch, source_url

        base = arxiv_base or os.environ.get("REPORTQA_ARXIV_BASE") or DEFAULT_ARXIV_BASE
        wanted, seen_urls = [], set()
        for _, reference, target in self.sources():
            url = source_url(reference, base)
            if target is None and url and url not in seen_urls and (not only or reference.marker in only):
                seen_urls.add(url)
                wanted.append(reference)
        corpus, max_bytes = Path(self.settings.corpus_dir), int(self.settings.max_file_mb * 1e6)
        results = [fetch(r, corpus, max_bytes, base, deadline=self.settings.fetch_deadline_s) for r in wanted]
        report = self.build(progress=progress) if any(r.path for r in results) else None
        if report is not None:  # a download the build could not index leaves the corpus, as with ``add``
            skipped, dropped = dict(report.skipped), set()
            for number, result in enumerate(results):
                if result.path is not None and result.path.name in skipped:
                    dropped.add(result.path.name)
                    result.path.unlink(missing_ok=True)
                    result.path.with_name(result.path.name + ".meta.json").unlink(missing_ok=True)
                    results[number] = replace(result, path=None, error=f"{skipped[result.path.name]}; not kept")
            report.skipped = [(name, reason) for name, reason in report.skipped if name not in dropped]
        return results, report

    # --- asking ------------------------------------------------------------------------------
    def ask(self, question: str, top_k: int | None = None) -> Answer:
        return self.batch([question], top_k)[0]

    def batch(self, questions: list[str], top_k: int | None = None) -> list[Answer]:
        """Answer many questions with one encoder call for all of them."""
        top_k = self.settings.top_k if top_k is None else top_k
        if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or not 1 <= top_k <= MAX_TOP_K:
            raise QuestionError(f"top_k must be a whole number from 1 to {MAX_TOP_K}, got {top_k!r}")
        top_k = int(top_k)
        cleaned = [clean_question(q) for q in questions]
        store = self._ready_to_answer()
        with one_blas_thread():  # a question's products are small; spinning BLAS threads would slow the next
            return self._answers(store, cleaned, top_k)

    def _answers(self, store: IndexStore, cleaned: list[str], top_k: int) -> list[Answer]:
        started = time.perf_counter()
        aux = self.aux_encoder if store.aux_dim else None
        retriever = Retriever(store, self.encoder, aux, self.settings)
        # USE's vectors and the BM25 side (Kiwi's tokens; an English question's Korean terms, whose
        # words USE embeds in the same call) run beside e5: both release the GIL for most of their
        # time, and a question is too short to keep both cores busy with one of them
        beside = self._side_pool().submit(retriever.prepare_queries, cleaned)
        query_vectors = self.encoder.encode_queries(cleaned)
        aux_vectors, lexical_queries = beside.result()
        results = retriever.retrieve_many(
            cleaned, top_k, query_vectors=query_vectors, aux_query_vectors=aux_vectors, lexical_queries=lexical_queries
        )
        retrieved = time.perf_counter()
        answers = []
        citations = store.citation_index()
        for question, vector, result in zip(cleaned, query_vectors, results):
            result = replace(
                result, passages=[replace(p, cites=citations.cites(p.chunk, p.row)) for p in result.passages]
            )
            if result.abstained or not result.passages:
                answers.append(
                    Answer(
                        question=question,
                        text=NOT_FOUND[detect_lang(question)],
                        passages=result.passages,
                        abstained=True,
                    )
                )
            else:
                quotes = select_quotes(vector, result.passages, store.sentences_of)
                answers.append(Answer(question=question, text=render(quotes), passages=result.passages, quotes=quotes))
            answers[-1].timings = {"retrieve_s": (retrieved - started) / len(cleaned)}
        return answers

    def _ready_to_answer(self) -> IndexStore:
        """The index, with both encoders and the Korean tokenizer loaded side by side on first use.

        Each load is mostly native code that releases the GIL (onnxruntime, sentencepiece, numpy,
        Kiwi), so a one-off ``reportqa ask`` starts in ~1.4 s of loading instead of ~2.6 s.
        """
        if (self._store is not None and self._encoder is not None) or not self.has_index():
            return self.store  # ready, or no index: its error at once
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="reportqa-load") as pool:
            loads = [pool.submit(lambda: self.encoder), pool.submit(load_tokenizer)]
            if self.aux_model_name:
                loads.append(pool.submit(lambda: self.aux_encoder))
            store = self.store
            for load in loads:
                load.result()
        return store

    def _side_pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reportqa-aux")
        return self._pool

    def check(self) -> tuple[Path, list[str]]:
        """(the index version, one line per file whose sha256 differs from the manifest's record)."""
        return verify(self.settings.index_dir)

    def documents(self) -> list[DocumentEntry]:
        return sorted(self.store.documents.values(), key=lambda d: d.path)


def _stop_if(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise BuildCancelled("indexing cancelled: the corpus and the index are as they were")


def _too_many(ceiling: int, size: str) -> str:
    return (
        f"{size} is more than the {ceiling:,}-chunk ceiling for one document "
        "(split the file, or raise REPORTQA_MAX_CHUNKS_PER_DOCUMENT)"
    )


def passage_texts(chunks: list[Chunk]) -> tuple[list[str], list[tuple[int, int, int]], list[str]]:
    """What the encoders embed: each chunk under its section header, and (row, start, end) and text of its sentences."""
    texts = [f"{c.header()}\n{c.text}" if c.header() else c.text for c in chunks]
    sentences = [(row, a, b) for row, c in enumerate(chunks) for a, b in split_sentences(c.text)]
    return texts, sentences, [chunks[row].text[a:b] for row, a, b in sentences]


def clean_question(question: str) -> str:
    """Drop control characters and surplus whitespace; refuse questions with nothing left."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in question)
    text = " ".join(text.split())[:MAX_QUESTION_CHARS]
    if not any(ch.isalnum() for ch in text):
        raise QuestionError("the question is empty: type a question in Korean or English")
    return text


@dataclass
class _NewDocument:
    """A document read and sent to the encoders during a build; ``features`` waits for their results."""

    position: int
    entry: DocumentEntry
    citations: dict | None
    chunks: list[Chunk]
    features: Callable[[], Features]


def _read_ahead(
    pool: ThreadPoolExecutor, read: Callable, items: Iterable[tuple], first: Callable[[], object], depth: int = 2
) -> Iterator[tuple[int, tuple, Future]]:
    """(position, the first two fields, the finished ``read(*item)``) of each item, ``depth`` items read at once.

    Items come back in the order their reads finish, so a short text goes to e5 while a long PDF
    listed before it is still being parsed; callers put them back in ``position`` order. ``first``
    runs once the first read has started (and never when there is nothing to read).
    """
    pending: dict[Future, tuple[int, tuple]] = {}
    numbered = enumerate(items)
    while True:
        for position, item in itertools.islice(numbered, depth - len(pending)):
            pending[pool.submit(read, *item)] = (position, item[:2])
            if position == 0:
                first()
        if not pending:
            return
        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        future = min(finished, key=lambda f: pending[f][0])
        position, key = pending.pop(future)
        yield position, key, future


@contextlib.contextmanager
def _worker_pool(workers: int, name: str) -> Iterator[ThreadPoolExecutor]:
    """A thread pool whose queued work is dropped when the block ends early (an error, Ctrl-C)."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _wait(futures: list[Future]) -> None:
    for future in futures:
        future.result()
