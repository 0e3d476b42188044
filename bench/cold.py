"""Cold-start budget: what a fresh process spends before its first answer, stage by stage.

Each stage runs after the one before it in one fresh process (wall time, and resident memory after
it), so the budget shows what each load costs; a real ``reportqa ask`` overlaps them. Then a whole
cold ``reportqa ask`` (wall time and peak RSS from ``/usr/bin/time -v``), without and with a
resident ``reportqa daemon`` on the same index.

    python bench/cold.py [--shared ../shared] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "챗GPT 학습에 사용된 전력량은?"
QUESTION_EN = "How much electricity did training ChatGPT use?"  # plain English: answered without Kiwi

AFTER_WARM = r"""
import sys, time
from reportqa.pipeline import ReportQA
qa = ReportQA(index_dir=sys.argv[1], corpus_dir=sys.argv[2])
started = time.perf_counter()
qa.warm()  # what ``reportqa serve`` does before it prints its URL
warmed = time.perf_counter()
qa.ask(sys.argv[3])
print(f"{warmed - started:.3f} {time.perf_counter() - warmed:.4f}")
"""

STAGES = r"""
import json, sys, time
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
out, mark = [], time.perf_counter()
def stage(name):
    global mark
    now = time.perf_counter()
    out.append((name, (now - mark) * 1000, rss()))
    mark = now
from reportqa.pipeline import ReportQA
stage("imports (reportqa.pipeline: numpy, faiss, onnxruntime's Python side …)")
qa = ReportQA(index_dir=sys.argv[1], corpus_dir=sys.argv[2])
qa.models.encoder
stage("e5: int8 ONNX session and sentencepiece tokenizer")
from reportqa.lexical import load_tokenizer
load_tokenizer()
stage("Kiwi's model")
qa.models.aux_encoder
stage("USE (numpy weights, sentencepiece)")
version = qa.version()
stage("index open (arrays, chunks, tokens)")
version.search.lexical()
stage("BM25 over the chunks' tokens")
qa.models.encoder.encode_queries([sys.argv[3]])
stage("first e5 run")
qa.ask(sys.argv[3])
stage("first ask (USE, BM25 query, fusion, quotes, citations)")
print(json.dumps(out))
"""


def timed(command: list[str], env: dict) -> tuple[float, float]:
    done = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    clock = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", done.stderr).group(1)
    wall = 0.0
    for part in clock.split(":"):
        wall = wall * 60 + float(part)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1)) / 1024
    return wall, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryDirectory() as scratch:
        corpus, index = Path(scratch) / "corpus", Path(scratch) / "index"
        shutil.copytree(ROOT / "corpus", corpus)
        shutil.copy(args.shared / "corpus-sources" / "gunasekar2023-textbooks-are-all-you-need.pdf", corpus)
        cli = [sys.executable, "-m", "reportqa.cli"]
        dirs = ["--index", str(index), "--corpus", str(corpus)]
        subprocess.run([*cli, "build", "-q", *dirs], check=True, env=env)

        def child(script: str) -> str:
            """The last line a fresh process running ``script`` prints."""
            done = subprocess.run(
                [sys.executable, "-c", script, str(index), str(corpus), QUESTION],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            )
            return done.stdout.splitlines()[-1]

        runs = [json.loads(child(STAGES)) for _ in range(args.repeat)]
        print(f"cold-start budget, report + phi-1 PDF, median of {args.repeat} fresh processes\n")
        print("| stage | wall ms | RSS after, MB |\n|---|---|---|")
        for i, (name, _, _) in enumerate(runs[0]):
            wall = statistics.median(run[i][1] for run in runs)
            rss = statistics.median(run[i][2] for run in runs)
            print(f"| {name} | {wall:.0f} | {rss:.0f} |")
        total = statistics.median(sum(stage[1] for stage in run) for run in runs)
        print(f"| all, one after another | {total:.0f} | |\n")
        warm = [child(AFTER_WARM).split() for _ in range(args.repeat)]
        print(
            f"web start: warm-up {statistics.median(float(w) for w, _ in warm):.2f} s before the URL, then the "
            f"first question {statistics.median(float(q) for _, q in warm) * 1000:.1f} ms (median of {len(warm)})"
        )
        ask = [*cli, "ask", QUESTION, "--json", *dirs]
        ask_en = [*cli, "ask", QUESTION_EN, "--json", *dirs]
        local, local_en = [], []
        for _ in range(args.repeat):  # interleaved: the machine's load drifts
            local.append(timed(ask, env))
            local_en.append(timed(ask_en, env))
        daemon = subprocess.Popen([*cli, "daemon", *dirs], env=env, stderr=subprocess.PIPE, text=True)
        try:
            daemon.stderr.readline()  # "answering questions on …" once it listens
            resident = [timed(ask, env) for _ in range(args.repeat)]
        finally:
            daemon.send_signal(signal.SIGINT)
            daemon.wait(30)
        for name, rows in (
            ("cold `reportqa ask` (Korean)", local),
            ("cold `reportqa ask` (plain English: no Kiwi)", local_en),
            ("cold `reportqa ask`, a `reportqa daemon` running", resident),
        ):
            wall = statistics.median(w for w, _ in rows)
            rss = statistics.median(r for _, r in rows)
            print(f"{name}: {wall:.2f} s, {rss:.0f} MB peak RSS (median of {len(rows)})")


if __name__ == "__main__":
    main()
