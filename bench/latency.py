"""Query latency: warm ``ReportQA.ask`` p50/p95 over every question of the shared and own sets, and a
cold ``reportqa ask`` process (wall time and peak RSS from ``/usr/bin/time -v``).

    python bench/latency.py [--shared ../shared]
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

from reportqa import ReportQA

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    files = [
        args.shared / "eval" / "dev.jsonl",
        args.shared / "eval" / "dev_sources.jsonl",
        ROOT / "bench" / "questions.jsonl",
    ]
    questions = [
        json.loads(line)["question"]
        for f in files
        for line in f.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    with tempfile.TemporaryDirectory() as tmp:
        corpus, index = Path(tmp, "corpus"), Path(tmp, "index")
        shutil.copytree(ROOT / "corpus", corpus)
        shutil.copy(args.shared / "corpus-sources" / "gunasekar2023-textbooks-are-all-you-need.pdf", corpus)
        qa = ReportQA(index_dir=index, corpus_dir=corpus)
        qa.build()
        qa.ask(questions[0])  # warm: models loaded, BM25 and term vectors built
        timings = []
        for question in questions:
            started = time.perf_counter()
            qa.ask(question)
            timings.append((time.perf_counter() - started) * 1000)
        print(
            f"warm ask over {len(timings)} questions (report + phi-1, hybrid + answer): "
            f"p50 {statistics.median(timings):.1f} ms, p95 {percentile(timings, 0.95):.1f} ms"
        )
        cold = subprocess.run(
            [
                "/usr/bin/time",
                "-v",
                sys.executable,
                "-m",
                "reportqa.cli",
                "ask",
                "챗GPT 학습에 사용된 전력량은?",
                "--index",
                str(index),
                "--corpus",
                str(corpus),
            ],
            capture_output=True,
            text=True,
        )
        wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+(?:\.\d+)?)", cold.stderr)
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", cold.stderr)
        seconds = int(wall.group(1) or 0) * 60 + float(wall.group(2))
        print(f"cold `reportqa ask` process: {seconds:.2f} s wall, {int(rss.group(1)) / 1024:.0f} MB peak RSS")


if __name__ == "__main__":
    main()
