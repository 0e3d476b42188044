"""Would fixed (calibrated) int8 activation scales let passages share runs, and at what cost?

The default graph quantises each matmul's input with a scale computed per run, so it runs one text
per run (a vector must not depend on its batch-mates). With one fixed scale per matmul input,
calibrated beforehand, texts of equal length could share a run and still get their own vectors.
This takes the passages a build embeds for the report + the phi-1 PDF, calibrates the scales on
every other text (each input's widest range seen), and on the rest measures the cosine to the
float32 model; then it times, on one thread, all texts one per run (per-run and fixed scales) and
with fixed scales in runs of up to ``--cap`` texts of equal length, and the same for the lengths
that at least 8 texts share (short sentences, where a run's fixed cost weighs most).

    python bench/static_scales.py [--shared ../shared] [--repeat 2] [--cap 32]
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from reportqa.chunking import chunk_document
from reportqa.documents import load_document
from reportqa.encoder import DefaultEncoder, TorchRunner
from reportqa.model_build import ensure_default_model, ensure_onnx_model, whole_graph
from reportqa.runners import passage_texts

ROOT = Path(__file__).resolve().parents[1]


class Recorder:
    """Stands in for the encoder's int8 runner and keeps every run's token ids."""

    def __init__(self, runner):
        self.runner, self.workers, self.batch_tokens, self.inputs = runner, 1, None, []

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        self.inputs.append(ids.copy())
        return self.runner(ids, mask)


def passage_ids(shared: Path) -> list[np.ndarray]:
    """Token ids of every chunk and sentence text, exactly as the build feeds them to the graph."""
    encoder = DefaultEncoder()
    recorder = Recorder(encoder._int8)
    encoder._int8 = recorder
    paths = [ROOT / "corpus" / "spri-2023-ai-competition.txt", *sorted((shared / "corpus-sources").glob("*.pdf"))]
    for path in paths:
        texts, _, sentences = passage_texts(chunk_document(load_document(path)))
        encoder.encode_passages(texts)
        encoder.encode_passages(sentences)
    return recorder.inputs


def session(model: onnx.ModelProto | Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    source = str(model) if isinstance(model, Path) else model.SerializeToString()
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def feed(ids: np.ndarray) -> dict[str, np.ndarray]:
    return {"input_ids": ids, "attention_mask": np.ones_like(ids)}


def input_ranges(path: Path, calibration: list[np.ndarray]) -> dict[str, tuple[float, float]]:
    """Each dynamically quantised input's widest range over the calibration texts."""
    model = onnx.load(str(path))
    quantisers = [n for n in model.graph.node if n.op_type == "DynamicQuantizeLinear"]
    for node in quantisers:
        model.graph.output.append(helper.make_tensor_value_info(node.output[1], TensorProto.FLOAT, []))
        model.graph.output.append(helper.make_tensor_value_info(node.output[2], TensorProto.UINT8, []))
    probe = session(model)
    low, high = collections.defaultdict(float), collections.defaultdict(float)
    for ids in calibration:
        outputs = probe.run(None, feed(ids))[1:]
        for node, scale, zero in zip(quantisers, outputs[0::2], outputs[1::2]):
            low[node.name] = min(low[node.name], -float(zero) * float(scale))
            high[node.name] = max(high[node.name], (255 - float(zero)) * float(scale))
    return {name: (low[name], high[name]) for name in low}


def with_fixed_scales(path: Path, ranges: dict[str, tuple[float, float]]) -> onnx.ModelProto:
    """The graph with each ``DynamicQuantizeLinear`` replaced by ``QuantizeLinear`` at a fixed scale."""
    model = onnx.load(str(path))
    nodes = []
    for node in model.graph.node:
        if node.op_type != "DynamicQuantizeLinear":
            nodes.append(node)
            continue
        low, high = ranges[node.name]
        scale = (high - low) / 255
        model.graph.initializer.append(numpy_helper.from_array(np.array(scale, np.float32), node.output[1]))
        model.graph.initializer.append(numpy_helper.from_array(np.array(round(-low / scale), np.uint8), node.output[2]))
        quantise = [node.input[0], *node.output[1:]]
        nodes.append(helper.make_node("QuantizeLinear", quantise, [node.output[0]], name=node.name))
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


def cosines(vectors: np.ndarray, reference: np.ndarray) -> np.ndarray:
    return (vectors * reference).sum(1) / np.linalg.norm(vectors, axis=1) / np.linalg.norm(reference, axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--cap", type=int, default=32, help="most texts in one shared run")
    args = parser.parse_args()

    inputs = passage_ids(args.shared)
    graph = Path(tempfile.mkdtemp(prefix="static-scales-")) / "model.onnx"
    onnx.save(whole_graph(ensure_onnx_model()), str(graph))  # the table back inside: fed token ids alone
    calibration, held_out = inputs[0::2], inputs[1::2]
    per_run, fixed = session(graph), session(with_fixed_scales(graph, input_ranges(graph, calibration)))
    float32 = TorchRunner(ensure_default_model())
    reference = np.concatenate([float32(ids, np.ones_like(ids)) for ids in held_out])
    tokens = sum(ids.shape[1] for ids in inputs)
    print(f"{len(inputs)} texts, {tokens:,} tokens; calibrated on {len(calibration)}, compared on {len(held_out)}")
    for name, graph_session in (("per-run scales", per_run), ("fixed scales", fixed)):
        found = np.concatenate([graph_session.run(None, feed(ids))[0].mean(axis=1) for ids in held_out])
        c = cosines(found, reference)
        print(f"  {name}: cosine mean {c.mean():.5f}, min {c.min():.5f}")

    by_length = collections.defaultdict(list)
    for ids in inputs:
        by_length[ids.shape[1]].append(ids)
    cap = args.cap
    shared_runs = [np.concatenate(same[k : k + cap]) for same in by_length.values() for k in range(0, len(same), cap)]
    print(f"one thread, CPU s for all {len(inputs)} texts:")
    for round_ in range(1, args.repeat + 1):
        timings = []
        for name, graph_session, runs in (
            ("per-run scales, one text per run", per_run, inputs),
            ("fixed scales, one text per run", fixed, inputs),
            (f"fixed scales, equal lengths share a run ({len(shared_runs)} runs)", fixed, shared_runs),
        ):
            started = time.thread_time()
            for ids in runs:
                graph_session.run(None, feed(ids))
            timings.append(f"{name} {time.thread_time() - started:.2f}")
        print(f"  round {round_}: " + "; ".join(timings))
    # where sharing pays most: lengths that many texts share (short sentences), alone and together
    common = [same for same in by_length.values() if len(same) >= 8]
    alone = [ids for same in common for ids in same]
    together = [np.concatenate(same[k : k + cap]) for same in common for k in range(0, len(same), cap)]
    print(f"fixed scales, the {len(alone)} texts whose length at least 8 texts share, one thread:")
    for round_ in range(1, args.repeat + 1):
        spent = []
        for runs in (alone, together):
            started = time.thread_time()
            for ids in runs:
                fixed.run(None, feed(ids))
            spent.append(time.thread_time() - started)
        print(
            f"  round {round_}: one per run {spent[0]:.2f} CPU-s, {len(together)} shared runs {spent[1]:.2f} "
            f"({spent[1] / spent[0]:.2f})"
        )


if __name__ == "__main__":
    main()
