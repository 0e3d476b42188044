"""Index lifecycle timings: first build, unchanged rebuild, and adding the phi-1 PDF to a report index.

Each step is a fresh ``reportqa`` process, timed by wall clock, as a user would run it.

    python bench/lifecycle.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "reportqa.cli", *args, "-q"], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    pdf = args.shared / "corpus-sources" / "gunasekar2023-textbooks-are-all-you-need.pdf"
    with tempfile.TemporaryDirectory() as tmp:
        both, report_only = Path(tmp, "both"), Path(tmp, "report")
        for corpus in (both / "corpus", report_only / "corpus"):
            shutil.copytree(ROOT / "corpus", corpus)
        shutil.copy(pdf, both / "corpus")
        dirs = lambda base: ["--corpus", str(base / "corpus"), "--index", str(base / "index")]  # noqa: E731
        first = run("build", *dirs(both))
        unchanged = run("build", *dirs(both))
        run("build", *dirs(report_only))
        add = run("add", str(pdf), *dirs(report_only))
    print(f"first build, report + phi-1 PDF:   {first:6.1f} s")
    print(f"unchanged rebuild:                 {unchanged:6.1f} s  ({unchanged / first:.1%} of the first build)")
    print(f"add phi-1 PDF to a report index:   {add:6.1f} s  ({add / first:.1%} of building both)")


if __name__ == "__main__":
    main()
