"""Builds the report + the phi-1 PDF into a fresh index and prints one sha256 per index file.

Two builds of the same corpus by the same code print the same lines: timestamps (the document
table's ``added``, the manifest's ``saved``) and the manifest's record of the files' checksums are
left out, everything else (chunks, tokens, every vector bit, the manifest's fields) is hashed as
written. Comparing the output before and after a change shows that it changed nothing the index
holds.

    python bench/index_digest.py [--shared ../shared] [--runner serial|overlapped]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def digest(version: Path) -> dict[str, str]:
    """sha256 per file of an index version, volatile fields left out."""
    out = {}
    for path in sorted(version.iterdir()):
        data = path.read_bytes()
        if path.name == "documents.json":
            entries = json.loads(data)
            data = json.dumps([{k: v for k, v in e.items() if k != "added"} for e in entries]).encode()
        elif path.name == "manifest.json":
            manifest = {k: v for k, v in json.loads(data).items() if k not in ("saved", "files")}
            data = json.dumps(manifest, sort_keys=True).encode()
        out[path.name] = hashlib.sha256(data).hexdigest()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--runner", choices=["serial", "overlapped"], default=None)
    args = parser.parse_args()
    from reportqa import ReportQA, Settings

    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch) / "corpus"
        shutil.copytree(ROOT / "corpus", corpus)
        shutil.copy(args.shared / "corpus-sources" / "gunasekar2023-textbooks-are-all-you-need.pdf", corpus)
        settings = Settings.from_env(**({"build_runner": args.runner} if args.runner else {}))
        qa = ReportQA(index_dir=Path(scratch) / "index", corpus_dir=corpus, settings=settings)
        report = qa.build()
        print(f"{report.chunks} chunks from {len(report.added)} documents", file=sys.stderr)
        for name, value in digest((Path(scratch) / "index" / "current").resolve()).items():
            print(f"{value}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
