"""Would texts sharing an int8 run be faster? 12 e5-sized feed-forward blocks, random int8 weights.

The default graph runs one text per run because dynamic int8 takes one activation scale per run:
in a shared run a text's vector would depend on its batch-mates. This times, on one thread,

* the default's kernel (``DynamicQuantizeMatMul``, one scale per run), one text per run and 32;
* one scale per token (quantise each row, ``MatMulIntegerToFloat``, rescale each row), which
  makes a shared run give every text the vector it gets alone, one text per run and 32.

    python bench/activation_scales.py [--texts 256] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

WIDTH, INNER, LAYERS = 384, 1536, 12


def quantised(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scale = np.abs(weights).max(axis=0) / 127
    return np.round(weights / scale).astype(np.int8), scale.astype(np.float32)


def initializers(rng: np.random.Generator) -> list:
    w1, s1 = quantised(rng.standard_normal((WIDTH, INNER)).astype(np.float32) * 0.05)
    w2, s2 = quantised(rng.standard_normal((INNER, WIDTH)).astype(np.float32) * 0.05)
    arrays = {
        "w1": w1, "s1": s1, "b1": np.zeros(INNER, np.float32), "zero1": np.zeros(INNER, np.int8),
        "w2": w2, "s2": s2, "b2": np.zeros(WIDTH, np.float32), "zero2": np.zeros(WIDTH, np.int8),
        "one": np.array(1.0, np.float32), "u8_zero": np.array(128, np.uint8), "offset": np.array(128.0, np.float32),
        "i8_zero": np.array(0, np.int8), "inv127": np.array(1 / 127, np.float32), "tiny": np.array(1e-8, np.float32),
    }  # fmt: skip
    return [numpy_helper.from_array(value, name) for name, value in arrays.items()]


def per_run(x: str, weights: str, out: str) -> list:
    """``x`` times weights ``weights`` (``1`` or ``2``) into ``out``."""
    inputs = [x, f"w{weights}", f"s{weights}", f"zero{weights}", f"b{weights}"]
    return [helper.make_node("DynamicQuantizeMatMul", inputs, [out], domain="com.microsoft")]


def per_token(unsigned: bool):
    def matmul(x: str, weights: str, out: str) -> list:
        n = lambda op, inputs, name, **kw: helper.make_node(op, inputs, [f"{out}_{name}"], **kw)  # noqa: E731
        nodes = [
            n("Abs", [x], "abs"),
            n("ReduceMax", [f"{out}_abs"], "max", axes=[-1], keepdims=1),
            n("Mul", [f"{out}_max", "inv127"], "scale0"),
            n("Max", [f"{out}_scale0", "tiny"], "scale"),
            n("Div", [x, f"{out}_scale"], "div"),
            n("Round", [f"{out}_div"], "round"),
        ]
        if unsigned:  # onnxruntime's fast kernels take uint8 activations
            nodes += [n("Add", [f"{out}_round", "offset"], "shift")]
            nodes += [n("Cast", [f"{out}_shift"], "q", to=TensorProto.UINT8)]
        else:
            nodes += [n("Cast", [f"{out}_round"], "q", to=TensorProto.INT8)]
        a_zero = "u8_zero" if unsigned else "i8_zero"
        inputs = [f"{out}_q", f"w{weights}", "one", f"s{weights}", a_zero, f"zero{weights}", f"b{weights}"]
        nodes += [
            n("MatMulIntegerToFloat", inputs, "mm", domain="com.microsoft"),
            helper.make_node("Mul", [f"{out}_mm", f"{out}_scale"], [out]),
        ]
        return nodes

    return matmul


def session(matmul, rng: np.random.Generator) -> ort.InferenceSession:
    nodes, x = [], "x"
    for i in range(LAYERS):
        nodes += matmul(x, "1", f"h{i}")
        nodes.append(helper.make_node("Gelu", [f"h{i}"], [f"g{i}"], domain="com.microsoft"))
        nodes += matmul(f"g{i}", "2", f"y{i}")
        x = f"y{i}"
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, WIDTH])]
    outputs = [helper.make_tensor_value_info(x, TensorProto.FLOAT, None)]
    graph = helper.make_graph(nodes, "ffn", inputs, outputs, initializers(rng))
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def cpu_seconds(run, texts: list[np.ndarray], per_run_texts: int) -> float:
    started = time.thread_time()
    for k in range(0, len(texts), per_run_texts):
        run(None, {"x": np.concatenate(texts[k : k + per_run_texts])})
    return time.thread_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    lengths = rng.integers(8, 80, args.texts)  # the corpus's sentences: 37 tokens on average
    texts = [rng.standard_normal((n, WIDTH)).astype(np.float32) for n in lengths]
    graphs = {
        "one scale per run (default)": session(per_run, rng),
        "one scale per token, uint8": session(per_token(unsigned=True), rng),
        "one scale per token, int8": session(per_token(unsigned=False), rng),
    }
    token_graph = graphs["one scale per token, uint8"]
    alone = token_graph.run(None, {"x": texts[0]})[0]
    shared = token_graph.run(None, {"x": np.concatenate(texts[:8])})[0][: lengths[0]]
    print(f"one scale per token: a text alone against in a run of 8, max difference {np.abs(alone - shared).max():.1e}")
    print(f"{args.texts} texts, {lengths.sum()} tokens, {LAYERS} feed-forward blocks, one thread: CPU s")
    print("| graph | 1 text per run | 32 texts per run |\n|---|---|---|")
    for name, graph in graphs.items():
        one = [cpu_seconds(graph.run, texts, 1) for _ in range(args.repeat)]
        many = [cpu_seconds(graph.run, texts, 32) for _ in range(args.repeat)]
        print(f"| {name} | {' / '.join(f'{t:.2f}' for t in one)} | {' / '.join(f'{t:.2f}' for t in many)} |")


if __name__ == "__main__":
    main()
