"""A SYNTHETIC corpus for scale benchmarks, assembled from real sentences of the report and phi-1.

Each generated document is marked synthetic in its title and first line. Its sections take
headings from the report's outline and paragraphs of 2–5 sentences drawn at random (seeded) from
the report's and the phi-1 paper's sentences, so chunk lengths, languages and vocabulary look like
the real corpus while the text means nothing. Sized in chunks: about ``--chunks`` chunks result.

    python bench/synthetic.py OUT_DIR --chunks 10000 [--shared ../shared] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

from reportqa.answer import split_sentences
from reportqa.documents import load_document

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "corpus" / "spri-2023-ai-competition.txt"
PHI1 = "corpus-sources/gunasekar2023-textbooks-are-all-you-need.pdf"
MARK = "SYNTHETIC BENCHMARK TEXT — sentences of real documents shuffled at random; not a real document."
SECTIONS_PER_DOCUMENT = 12
SECTION_CHARS = 1680
CHUNKS_PER_DOCUMENT = 80  # what the default chunker makes of one document (measured: 799 chunks from 10)


def sentence_pool(shared: Path) -> tuple[list[str], list[str]]:
    """(sentences, headings): whole sentences of 25–400 characters, and the report's numbered headings."""
    texts = [load_document(REPORT).text, load_document(shared / PHI1).text]
    sentences = []
    for text in texts:
        for a, b in split_sentences(text):
            sentence = " ".join(text[a:b].split())
            if 25 <= len(sentence) <= 400:
                sentences.append(sentence)
    headings = [
        line.strip()
        for line in REPORT.read_text(encoding="utf-8").splitlines()
        if re.match(r"^\d+ \S", line.strip()) and len(line.strip()) < 60
    ]
    return sorted(set(sentences)), sorted(set(headings)) or ["1 Section"]


def generate(out: Path, chunks: int, shared: Path, seed: int = 0) -> int:
    """Write synthetic .txt documents into ``out``; returns how many."""
    rng = random.Random(seed)
    sentences, headings = sentence_pool(shared)
    out.mkdir(parents=True, exist_ok=True)
    documents = max(1, round(chunks / CHUNKS_PER_DOCUMENT))
    for number in range(documents):
        lines = [f"{MARK}\n", f"Synthetic document {number:06d}\n"]
        for section in range(SECTIONS_PER_DOCUMENT):
            heading = rng.choice(headings).split(" ", 1)[1]
            lines.append(f"\n{section + 1} {heading}\n")
            written = 0
            while written < SECTION_CHARS:
                paragraph = " ".join(rng.sample(sentences, rng.randint(2, 5)))
                lines.append(f"\n{paragraph}\n")
                written += len(paragraph)
        (out / f"synthetic-{number:06d}.txt").write_text("".join(lines), encoding="utf-8")
    return documents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{generate(args.out, args.chunks, args.shared, args.seed)} synthetic documents in {args.out}")


if __name__ == "__main__":
    main()
