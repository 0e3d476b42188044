"""Ray builds against the local build: report + phi-1 PDF, each in a fresh process.

The local build is ``reportqa build`` as a user runs it. A Ray build starts a Ray cluster on this
machine with N worker CPUs (``ray.init(num_cpus=N)``, timed apart), then builds with ``ray="auto"``:
N workers, each loading its own encoders and Kiwi, one document at a time each. Every Ray index is
compared file by file with the local one (timestamps left out, as in ``index_digest.py``).

    python bench/ray_build.py [--cpus 1,2] [--shared ../shared]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from index_digest import digest  # noqa: E402
from speed import timed  # noqa: E402

PHI1 = "corpus-sources/gunasekar2023-textbooks-are-all-you-need.pdf"

RAY_BUILD = """
import json, sys, time
started = time.perf_counter()
import ray
ray.init(num_cpus=int(sys.argv[3]), include_dashboard=False, log_to_driver=False)
cluster = time.perf_counter() - started
from reportqa import ReportQA
from reportqa.config import Settings
settings = Settings.from_env().with_(index_dir=sys.argv[1], corpus_dir=sys.argv[2], ray="auto")
began = time.perf_counter()
report = ReportQA(settings=settings).build()
print(json.dumps({"cluster_s": cluster, "build_s": time.perf_counter() - began, "chunks": report.chunks}))
ray.shutdown()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpus", default="1,2")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="reportqa-ray-"))
    corpus = work / "corpus"
    corpus.mkdir()
    for path in (ROOT / "corpus").glob("*.txt"):
        shutil.copy(path, corpus / path.name)
    shutil.copy(args.shared / PHI1, corpus / Path(PHI1).name)

    local = work / "index-local"
    command = [sys.executable, "-m", "reportqa.cli", "build", "-q", "--index", str(local), "--corpus", str(corpus)]
    wall, *_ = timed(command)
    chunks = json.loads((local / "current" / "manifest.json").read_text())["chunks"]
    reference = digest((local / "current").resolve())
    print("| build | worker CPUs | cluster start s | build s | chunks/s | index files as the local build's |")
    print("|---|---|---|---|---|---|")
    print(f"| local (`reportqa build`, a fresh process) | – | – | {wall:.1f} | {chunks / wall:.1f} | – |")
    for cpus in [int(c) for c in args.cpus.split(",")]:
        index = work / f"index-ray-{cpus}"
        done = subprocess.run(
            [sys.executable, "-c", RAY_BUILD, str(index), str(corpus), str(cpus)],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        same = digest((index / "current").resolve()) == reference
        print(
            f"| Ray, local cluster | {cpus} | {result['cluster_s']:.1f} | {result['build_s']:.1f} | "
            f"{result['chunks'] / result['build_s']:.1f} | {'identical' if same else 'DIFFERENT'} |"
        )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
