"""Korean Wikipedia open retrieval: the KorQuAD 1.0 excerpt of ``shared/eval/korquad`` as a corpus.

A second Korean regime, where questions share most of their words with their paragraph (the
opposite of an English question on the Korean report). Makes the set with the excerpt's own
``make_set.py``, indexes its articles, and prints hit@1 / hit@5 of every retrieval variant of
``bench/ablation.py`` beside the default's false refusals.

    python bench/korquad.py [--shared ../shared] [--work DIR] [--n 600]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from reportqa import ReportQA

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from ablation import answered, load_questions, table, variants  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "reportqa-korquad")
    parser.add_argument("--n", type=int, default=600)
    args = parser.parse_args()
    maker = args.shared / "eval" / "korquad" / "make_set.py"
    subprocess.run([sys.executable, str(maker), str(args.work), "--n", str(args.n)], check=True)
    qa = ReportQA(index_dir=args.work / "index", corpus_dir=args.work / "corpus")
    started = time.perf_counter()
    report = qa.build()
    print(f"index: {len(qa.documents())} articles, {report.chunks} chunks, {time.perf_counter() - started:.0f}s")
    questions = load_questions(args.work / "questions.jsonl")
    texts = [c.text for c in qa.store.chunks]
    print(f"\n### KorQuAD excerpt ({len(questions)} questions)\n\n| variant | ko hit@1 / hit@5 | en |\n|---|---|---|")
    for name, score_vectors in variants(qa, questions).items():
        ranked = [[texts[r] for r in np.argsort(-s, kind="stable")[:10]] for s in score_vectors]
        print(table(name, questions, ranked))
    answers = qa.batch([q.question for q in questions], top_k=5)
    ranked = [[p.chunk.text for p in a.passages] for a in answers]
    print(table("ReportQA default (as answered)", questions, ranked))
    print(answered(questions, answers))
    refused = sum(a.abstained for a in answers)
    print(f"\nfalse refusals (default settings): {refused}/{len(answers)} = {refused / len(answers):.1%}")


if __name__ == "__main__":
    main()
