"""What does giving e5's first and last token their own int8 scale cost, and what are the cheaper ways?

The default graph runs each feed-forward matmul twice, on the inner tokens and on ``<s>``/``</s>``,
whose activations are several times everyone else's (``model_build.split_end_tokens``). This
takes the passages a build embeds for the report + the phi-1 PDF, measures on every other text
how far the end tokens stand out at each of the 24 matmuls' inputs (float32 graph), and compares
on the rest, one thread, interleaved rounds:

* the default graph (all 24 matmuls split);
* no split (one scale per run for all tokens);
* the split only where an end token exceeds the inner tokens ``R``× or more;
* no second matmul: where an end token exceeds ``R``×, its row is scaled down by a power of two
  before the matmul and back up after it, so that one scale fits all rows;
* the default's arithmetic with the end rows written back by ``ScatterND`` instead of ``Concat``
  (the same numbers, fewer copies).

It prints each graph's cosine to the float32 model and its CPU seconds.

    python bench/end_tokens.py [--shared ../shared] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from static_scales import cosines, feed, passage_ids, session

from reportqa import model_build as dm

ROOT = Path(__file__).resolve().parents[1]


def feed_forward_matmuls(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    """The matmuls the default graph splits, in graph order."""
    weights = {i.name for i in model.graph.initializer}
    return [n for n in model.graph.node if dm.is_end_token_matmul(n, weights)]


def end_token_ratios(float_graph: Path, calibration: list[np.ndarray]) -> dict[str, tuple[float, float]]:
    """Per matmul: the median over texts of (first token's, last token's) largest |input| / the inner tokens'."""
    model = onnx.load(str(float_graph))
    matmuls = feed_forward_matmuls(model)
    for node in matmuls:
        model.graph.output.append(helper.make_tensor_value_info(node.input[0], TensorProto.FLOAT, None))
    probe = session(model)
    seen: dict[str, list[tuple[float, float]]] = {n.name: [] for n in matmuls}
    for ids in calibration:
        if ids.shape[1] < 3:
            continue
        for node, x in zip(matmuls, probe.run([n.input[0] for n in matmuls], feed(ids))):
            x = np.abs(x[0])
            inner = x[1:-1].max()
            seen[node.name].append((x[0].max() / inner, x[-1].max() / inner))
    return {name: tuple(np.median(np.array(r), axis=0)) for name, r in seen.items()}


def _constants(graph: onnx.GraphProto, values: dict[str, list], dtype=np.int64) -> None:
    for name, value in values.items():
        graph.initializer.append(numpy_helper.from_array(np.array(value, dtype), name))


def _row_vector(graph: onnx.GraphProto, nodes: list, first: float, last: float, cache: dict) -> str:
    """A (1, tokens, 1) tensor: ``first``, then ones, then ``last`` (built once per pair)."""
    key = (first, last)
    if key not in cache:
        if not cache:
            _constants(graph, {"rows/two": [2], "rows/axis": [1], "rows/shape": [1, -1, 1]})
            _constants(graph, {"rows/one": [1.0]}, np.float32)
            nodes += [
                helper.make_node("Shape", ["input_ids"], ["rows/ids_shape"]),
                helper.make_node("Gather", ["rows/ids_shape", "rows/axis"], ["rows/tokens"], axis=0),
                helper.make_node("Sub", ["rows/tokens", "rows/two"], ["rows/inner"]),
                helper.make_node("Expand", ["rows/one", "rows/inner"], ["rows/ones"]),
            ]
        name = f"rows/{first:g}_{last:g}"
        _constants(graph, {f"{name}/first": [first], f"{name}/last": [last]}, np.float32)
        nodes += [
            helper.make_node("Concat", [f"{name}/first", "rows/ones", f"{name}/last"], [f"{name}/flat"], axis=0),
            helper.make_node("Reshape", [f"{name}/flat", "rows/shape"], [name]),
        ]
        cache[key] = name
    return cache[key]


def rewrite(float_graph: Path, out: Path, choose) -> int:
    """The float graph with each split matmul replaced by ``choose(node, graph, head)``'s nodes (None: kept)."""
    model = onnx.load(str(float_graph))
    graph = model.graph
    head: list = []  # nodes computed once per run, ahead of the layers
    body, changed = [], 0
    for node in graph.node:
        replacement = choose(node, graph, head)
        body += replacement or [node]
        changed += replacement is not None
    del graph.node[:]
    graph.node.extend(head + body)
    onnx.save(model, str(out))
    return changed


def scattered_split(node, mask: str) -> list:
    """The default's two matmuls with the end rows written back by ``ScatterND``: the inner rows'
    matmul takes every row with the end rows zeroed (its range always holds 0, so their scale is
    the same), and its output's end rows are overwritten."""
    (x, w), y, name = node.input, node.output[0], node.name
    return [
        helper.make_node("Mul", [x, mask], [f"{name}/inner"]),
        helper.make_node("MatMul", [f"{name}/inner", w], [f"{name}/inner_out"], name=name),
        helper.make_node("Gather", [x, "ends/rows"], [f"{name}/ends"], axis=1),
        helper.make_node("MatMul", [f"{name}/ends", w], [f"{name}/ends_out"], name=f"{name}/ends"),
        helper.make_node("Reshape", [f"{name}/ends_out", "ends/two_rows"], [f"{name}/ends_rows"]),
        helper.make_node("ScatterND", [f"{name}/inner_out", "ends/where", f"{name}/ends_rows"], [y]),
    ]


def variants(float_graph: Path, ratios: dict[str, tuple[float, float]], folder: Path) -> dict[str, Path]:
    """Each graph to compare, quantised and written as the default is (int8 per channel, plain layer norms)."""
    built: dict[str, Path] = {}

    def finish(label: str, source: Path) -> None:
        quantised = folder / f"{len(built)}-q.onnx"
        dm._quantise_int8(source, quantised)
        built[label] = folder / f"{len(built)}.onnx"
        dm.unfuse_layer_norms(quantised, built[label])

    finish("no split", float_graph)
    source = folder / "split-2.onnx"
    dm.split_end_tokens(float_graph, source, only=lambda name: max(ratios[name]) >= 2)
    count = sum(max(r) >= 2 for r in ratios.values())
    finish(f"split where an end token ≥ 2× ({count} of 24)", source)
    for threshold in (2.0, 3.0, 4.0):
        cache: dict = {}

        def scaled(node, graph, head, threshold=threshold, cache=cache):
            if node.name not in ratios:
                return None
            factors = [1.0 if r < threshold else 2.0 ** -round(math.log2(r)) for r in ratios[node.name]]
            if factors == [1.0, 1.0]:
                return None
            down = _row_vector(graph, head, *factors, cache)
            up = _row_vector(graph, head, *(1 / f for f in factors), cache)
            (x, w), y, name = node.input, node.output[0], node.name
            return [
                helper.make_node("Mul", [x, down], [f"{name}/scaled"]),
                helper.make_node("MatMul", [f"{name}/scaled", w], [f"{name}/scaled_out"], name=name),
                helper.make_node("Mul", [f"{name}/scaled_out", up], [y]),
            ]

        source = folder / f"scaled-{threshold:g}.onnx"
        count = rewrite(float_graph, source, scaled)
        finish(f"end rows scaled where ≥ {threshold:g}× ({count} of 24)", source)

    masks: dict = {}

    def scatter(node, graph, head):
        if node.name not in ratios:
            return None
        if not masks:
            _constants(graph, {"ends/rows": [0, -1], "ends/where": [[0, 0], [0, -1]], "ends/two_rows": [2, -1]})
        return scattered_split(node, _row_vector(graph, head, 0.0, 0.0, masks))

    source = folder / "scatter.onnx"
    rewrite(float_graph, source, scatter)
    finish("the default's arithmetic, end rows put back by ScatterND", source)
    return built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    inputs = passage_ids(args.shared)
    calibration, held_out = inputs[0::2], inputs[1::2]
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        dm.export_token_states(dm.ensure_default_model(), folder / "export.onnx")
        dm._optimise_bert(folder / "export.onnx", folder / "float.onnx")
        ratios = end_token_ratios(folder / "float.onnx", calibration)
        print("end tokens' largest |input| over the inner tokens' (median of the calibration texts), first / last:")
        for name, (first, last) in ratios.items():
            print(f"  {name.split('/')[3]:>8} {name.split('/')[4]:>12}: {first:5.1f} / {last:5.1f}")
        default = "default (all 24 split)"
        onnx.save(dm.whole_graph(dm.ensure_onnx_model()), str(folder / "default.onnx"))  # fed token ids alone
        graphs = {default: folder / "default.onnx"}
        graphs.update(variants(folder / "float.onnx", ratios, folder))
        sessions = {label: session(path) for label, path in graphs.items()}
        reference_session = session(folder / "float.onnx")
        reference = np.stack([reference_session.run(None, feed(ids))[0][0].mean(axis=0) for ids in held_out])
        outputs = {label: [s.run(None, feed(ids))[0] for ids in held_out] for label, s in sessions.items()}
        tokens = sum(ids.shape[1] for ids in held_out)
        print(f"\n{len(inputs)} texts; ratios from {len(calibration)}, compared on {len(held_out)} ({tokens:,} tokens)")
        spent: dict[str, list[float]] = {label: [] for label in sessions}
        for _ in range(args.repeat):
            for label, graph_session in sessions.items():
                started = time.thread_time()
                for ids in held_out:
                    graph_session.run(None, feed(ids))
                spent[label].append(time.thread_time() - started)
        print("| graph | cosine to float32, mean / min | the default's numbers | CPU s, one thread (min / median) |")
        print("|---|---|---|---|")
        for label, states in outputs.items():
            c = cosines(np.stack([o[0].mean(axis=0) for o in states]), reference)
            same = all(np.array_equal(a, b) for a, b in zip(states, outputs[default]))
            times = spent[label]
            print(
                f"| {label} | {c.mean():.5f} / {c.min():.5f} | {'yes' if same else 'no'} | "
                f"{min(times):.2f} / {float(np.median(times)):.2f} |"
            )


if __name__ == "__main__":
    main()
