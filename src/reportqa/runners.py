"""How a build's CPU (and GPU) work is laid out: one place for the parallel machinery.

A runner turns the files a build must index into their chunks and features (e5 vectors of chunks
and sentences, the second encoder's vectors, BM25 tokens). ``SerialRunner`` does each step after
the other on this thread: the readable reference, and what tests compare with. ``OverlappedRunner``
gives the same bytes faster: e5 loads while the first file is read, the next file is read and
chunked while the current one is embedded, and USE and Kiwi run beside e5 (Kiwi in a worker
process, and USE too when e5 runs on a GPU; see ``side_processes`` and bench/README.md, "Where the time goes").
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .answer import split_sentences
from .chunking import chunk_document
from .config import Settings
from .dates import spell_dates
from .documents import load_document
from .encoder import Encoder, passage_workers, vectors_with_spans
from .errors import DocumentError, printable
from .lexical import load_tokenizer, tokenize, tokenizer_loaded
from .machine import gpu_driver_present
from .models import Models
from .records import Chunk, Document
from .side_processes import TOKENS_ONLY, SidePool, auto_processes
from .store import Features

NewFile = tuple  # (corpus name, sha256, path, bytes) of a file the index lacks
Reader = Callable[..., tuple[Document, list[Chunk]]]


@dataclass
class Embedded:
    """One new file, read and sent to the encoders; ``features()`` waits for their results."""

    position: int  # in the corpus order
    name: str
    doc_id: str
    document: Document | None = None
    chunks: list[Chunk] | None = None
    features: Callable[[], Features] | None = None
    error: DocumentError | None = None


def read_new_file(settings: Settings, name: str, doc_id: str, path: Path, data: bytes) -> tuple[Document, list[Chunk]]:
    """A new file's document and chunks; ``DocumentError`` for one that cannot be indexed. A plain function
    of the settings, so that a worker process or a Ray worker reads a file exactly as the build here does."""
    ceiling = settings.max_chunks_per_document
    document = load_document(path, data=data)
    if len(document.text) > ceiling * settings.chunk_max:  # more than the ceiling's chunks can hold
        raise DocumentError(f"{printable(name)}: {_too_many(ceiling, f'{len(document.text):,} characters')}")
    chunks = chunk_document(document, settings)
    if not chunks:
        raise DocumentError(f"{printable(name)}: no text to index")
    if len(chunks) > ceiling:
        raise DocumentError(f"{printable(name)}: {_too_many(ceiling, f'{len(chunks):,} chunks')}")
    return document, chunks


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


def dense_vectors(
    encoder: Encoder,
    chunks: list[Chunk],
    passages: tuple[list[str], list[tuple[int, int, int]], list[str]],
    settings: Settings,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """e5's vectors of the chunks' texts and of their sentences (``passage_texts``), compact dates
    spelled out (``dates.spell_dates``: e5 reads "21.09.29" as numbers)."""
    texts, sentences, sentence_texts = passages
    spelled = [spell_dates(text, chunk.lang) for text, chunk in zip(texts, chunks)]
    spelled_sentences = [spell_dates(text, chunks[row].lang) for (row, _, _), text in zip(sentences, sentence_texts)]
    batch = settings.batch_size
    vectors = encoder.encode_passages(spelled, batch_size=batch, progress=progress)
    return vectors, encoder.encode_passages(spelled_sentences, batch_size=batch * 2, progress=progress)


def _spans(texts: list[str], chunks: list[Chunk], sentences: list[tuple[int, int, int]]) -> list[tuple]:
    """The sentences' spans in the texts the encoders see (each chunk's text follows its header)."""
    header = [len(text) - len(chunk.text) for text, chunk in zip(texts, chunks)]
    return [(row, a + header[row], b + header[row]) for row, a, b in sentences]


def _features(
    vectors: np.ndarray, sentence_vectors: np.ndarray, dim: int, sentences: list, tokens: list, aux: tuple
) -> Features:
    chunk_aux, sentence_aux = aux
    return Features(
        vectors=vectors,
        tokens=tokens,
        sentences=np.array(sentences, dtype=np.int32).reshape(-1, 3),
        sentence_vectors=sentence_vectors.reshape(len(sentences), dim),
        aux_vectors=chunk_aux.reshape(len(vectors), -1),
        aux_sentence_vectors=sentence_aux.reshape(len(sentences), chunk_aux.shape[1]),
    )


class SerialRunner:
    """Read, chunk and embed each file in turn, on this thread."""

    def __init__(self, models: Models, settings: Settings, progress: bool = False):
        self.models, self.settings, self.progress = models, settings, progress

    def __enter__(self) -> SerialRunner:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def embedded(self, files: Iterable[NewFile], read: Reader, check: Callable[[], None]) -> Iterator[Embedded]:
        for position, (name, doc_id, *rest) in enumerate(files):
            check()
            try:
                document, chunks = read(name, doc_id, *rest)
            except DocumentError as e:
                yield Embedded(position, name, doc_id, error=e)
                continue
            passages = texts, sentences, _ = passage_texts(chunks)
            encoder = self.models.encoder
            vectors, sentence_vectors = dense_vectors(encoder, chunks, passages, self.settings, self.progress)
            aux = vectors_with_spans(
                self.models.aux_encoder, texts, _spans(texts, chunks, sentences), passage_workers(encoder)
            )
            features = _features(vectors, sentence_vectors, encoder.dim, sentences, [tokenize(t) for t in texts], aux)
            yield Embedded(position, name, doc_id, document, chunks, lambda features=features: features)

    def finish(self) -> None:
        pass


class OverlappedRunner:
    """The same work as ``SerialRunner``, overlapped on every core (see the module docstring)."""

    def __init__(self, models: Models, settings: Settings, progress: bool = False):
        self.models, self.settings, self.progress = models, settings, progress
        self._loading: dict[str, Future] = {}
        self._sides: list[SidePool | None] = []  # decided once: with the first read on a CPU, else once e5 loads

    def __enter__(self) -> OverlappedRunner:
        self._stack = contextlib.ExitStack()
        self._pool = self._stack.enter_context(worker_pool(4, "reportqa-build"))
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def embedded(self, files: Iterable[NewFile], read: Reader, check: Callable[[], None]) -> Iterator[Embedded]:
        for position, (name, doc_id), reading in read_ahead(self._pool, read, files, first=self._start_loading):
            check()
            try:
                document, chunks = reading.result()
                self._loading["encoder"].result()
                if "aux" not in self._loading:  # second: they run beside e5, which has the cores first
                    self._start_side_work()
                features = self._features(chunks)
            except DocumentError as e:
                yield Embedded(position, name, doc_id, error=e)
                continue
            yield Embedded(position, name, doc_id, document, chunks, features)

    def finish(self) -> None:
        """Wait for the loads begun beside the reading (an error in one surfaces here)."""
        for future in list(self._loading.values()):
            future.result()

    def _start_loading(self) -> None:
        """From the first new file on, beside the reading: e5, and on a CPU build Kiwi's worker."""
        self._loading["encoder"] = self._pool.submit(lambda: self.models.encoder)
        if not gpu_driver_present():
            self._sides.append(self._side_processes(gpu=False))

    def _start_side_work(self) -> None:
        if not self._sides:
            self._sides.append(self._side_processes(self.models.encoder_device == "cuda"))
        self._loading["aux"] = self._pool.submit(lambda: self.models.aux_encoder)
        if self._sides[0] is None:
            self._loading["tokenizer"] = self._pool.submit(load_tokenizer)

    def _side_processes(self, gpu: bool) -> SidePool | None:
        """Worker processes for Kiwi, and for USE where asked (see ``side_processes``), or None for threads here."""
        processes, with_aux = auto_processes(self.settings.build_processes, gpu)
        if processes == 0 or (with_aux and self.models.aux_given):
            return None
        if not with_aux and tokenizer_loaded():  # Kiwi is here already (an earlier build or question): no load to hide
            return None
        aux_name = self.settings.second_encoder if with_aux else TOKENS_ONLY
        side = self._stack.enter_context(SidePool(processes, aux_name, self.models.cache))
        side.warm()
        return side

    def _features(self, chunks: list[Chunk]) -> Callable[[], Features]:
        """Start everything retrieval needs for these chunks; what is returned waits for it.

        e5 runs here, on every core or on the GPU, while USE and Kiwi run beside it: on the pool's
        threads or in the side processes (Kiwi's alone, or both), so that the next document's e5
        pass can start before they finish.
        """
        passages = texts, sentences, _ = passage_texts(chunks)
        spans = _spans(texts, chunks, sentences)
        side, loading, pool = self._sides[0], self._loading, self._pool

        def lexical() -> list[list[str]]:
            loading["tokenizer"].result()
            return [tokenize(t) for t in texts]

        def second() -> tuple[np.ndarray, np.ndarray]:
            return vectors_with_spans(loading["aux"].result(), texts, spans, passage_workers(self.models.encoder))

        elsewhere = side.submit(texts, spans) if side is not None else None
        tokens = pool.submit(lexical) if side is None else None
        aux_vectors = pool.submit(second) if side is None or not side.runs_aux else None
        encoder = self.models.encoder
        vectors, sentence_vectors = dense_vectors(encoder, chunks, passages, self.settings, self.progress)

        def gather() -> Features:
            if elsewhere is not None:
                token_lists, chunk_aux, sentence_aux = elsewhere.result()
            else:
                token_lists = tokens.result()
            if aux_vectors is not None:
                chunk_aux, sentence_aux = aux_vectors.result()
            return _features(vectors, sentence_vectors, encoder.dim, sentences, token_lists, (chunk_aux, sentence_aux))

        return gather


RUNNERS = {"overlapped": OverlappedRunner, "serial": SerialRunner}


def read_ahead(
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
def worker_pool(workers: int, name: str) -> Iterator[ThreadPoolExecutor]:
    """A thread pool whose queued work is dropped when the block ends early (an error, Ctrl-C)."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class Beside:
    """One thread that runs a question's side work (USE, Kiwi) while e5 runs on the calling thread."""

    def __init__(self):
        self._pool: ThreadPoolExecutor | None = None

    def submit(self, work: Callable, *args) -> Future:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reportqa-aux")
        return self._pool.submit(work, *args)
