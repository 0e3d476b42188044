"""Follow-up questions: the second turn of two-turn conversations, retrieved alone and with its history.

Reads bench/followups.jsonl (each line: ``history`` — the earlier questions —, ``question`` and the
``evidence`` of its answer), indexes the report plus the phi-1 PDF (or uses ``--index``) and prints
hit@1 / hit@5 of the second turn without and with the conversation, per language.

    python bench/followups.py [--index DIR] [--shared ../shared] [--show]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from reportqa import ReportQA
from reportqa.evaluation import first_hit

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", help="an index of the report and phi-1 (built in a temporary folder if absent)")
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--show", action="store_true", help="print each conversation's query and rank")
    args = parser.parse_args()
    rows = [json.loads(line) for line in (ROOT / "bench" / "followups.jsonl").read_text().splitlines() if line]
    with tempfile.TemporaryDirectory() as scratch:
        if args.index:
            qa = ReportQA(index_dir=args.index)
        else:
            corpus = Path(scratch) / "corpus"
            shutil.copytree(ROOT / "corpus", corpus)
            for pdf in (Path(args.shared) / "corpus-sources").glob("*.pdf"):
                shutil.copy(pdf, corpus)
            qa = ReportQA(index_dir=Path(scratch) / "index", corpus_dir=corpus)
            qa.build()
        alone = qa.batch([r["question"] for r in rows])
        together = qa.batch([r["question"] for r in rows], histories=[r["history"] for r in rows])
    table: dict[str, dict[str, list[int | None]]] = {}
    for row, a, b in zip(rows, alone, together):
        evidence = tuple(row["evidence"])
        ranks = [first_hit([p.chunk.text for p in answer.passages], evidence) for answer in (a, b)]
        for key in (row["lang"], "all"):
            for name, rank in zip(("alone", "with history"), ranks):
                table.setdefault(key, {}).setdefault(name, []).append(rank)
        if args.show:
            print(f"{row['id']:24s} alone {ranks[0]} / with {ranks[1]}  {b.query or row['question']}")
    print(f"follow-up set: {len(rows)} two-turn conversations (second turn scored)")
    print("| language | n | hit@1 alone | hit@1 with history | hit@5 alone | hit@5 with history |")
    print("|---|---|---|---|---|---|")
    for key in ("ko", "en", "all"):
        if key not in table:
            continue
        cols = table[key]
        n = len(cols["alone"])

        def share(ranks, k, n=n):
            return sum(1 for r in ranks if r is not None and r <= k) / n

        print(
            f"| {key} | {n} | {share(cols['alone'], 1):.2f} | {share(cols['with history'], 1):.2f} | "
            f"{share(cols['alone'], 5):.2f} | {share(cols['with history'], 5):.2f} |"
        )


if __name__ == "__main__":
    main()
