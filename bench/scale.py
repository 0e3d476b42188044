"""Scale: build and query a SYNTHETIC corpus of N chunks (see ``bench/synthetic.py``).

Build: a fresh ``reportqa build`` process on the generated corpus (wall time, chunks/s, peak RSS
from ``/usr/bin/time -v``) and the index's size on disk. Query: a fresh process that opens the
index and asks every question of the dev, dev_sources and own sets (p50/p95 of the full
``ReportQA.ask``, peak RSS).

``--replicate R`` then writes an index of R copies of the built one (chunks, vectors, tokens
and sentences repeated under new ids, no encoding) and measures queries on it: query cost
depends on the index's shapes, not on its text, so this measures a larger index without the
time a CPU needs to embed it (a 100k-chunk build takes about 70 minutes on two cores). Its
build figures are not measured, only its queries.

    python bench/scale.py --chunks 100000 [--replicate R] [--workdir DIR] [--shared ../shared]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from speed import percentile, questions, timed  # noqa: E402
from synthetic import generate  # noqa: E402

from reportqa.config import Settings  # noqa: E402
from reportqa.store import IndexStore  # noqa: E402

HEADER = (
    "| index | chunks | sentences | build s | chunks/s | build RSS MB | disk MB | open + first ask s "
    "| p50 ms | p95 ms | query RSS MB |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


def disk_mb(index: Path) -> float:
    version = (index / "current").resolve()
    return sum(f.stat().st_size for f in version.iterdir()) / 1e6


def measure_queries(index: Path, corpus: Path, shared: Path) -> dict:
    """In a fresh process: open the index, ask every question, report latency and peak RSS."""
    code = (
        "import json, sys, time, resource; sys.path.insert(0, sys.argv[4]);"
        "from scale import query_run; print(json.dumps(query_run(*sys.argv[1:4])))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(index), str(corpus), str(shared), str(ROOT / "bench")],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def query_run(index: str, corpus: str, shared: str) -> dict:
    from reportqa import ReportQA

    started = time.perf_counter()
    qa = ReportQA(index_dir=Path(index), corpus_dir=Path(corpus))
    texts = questions(Path(shared))
    qa.ask(texts[0])  # opens the index, loads the models, builds BM25 and the term vectors
    first = time.perf_counter() - started
    timings = []
    for text in texts:
        t = time.perf_counter()
        qa.ask(text)
        timings.append((time.perf_counter() - t) * 1000)
    recall = None
    if len(qa.store.chunks) > qa.settings.ann_above:  # the candidate search's top 10 against scoring every chunk
        from reportqa.retrieve import Retriever

        def top10(settings):
            retriever = Retriever(qa.store, qa.encoder, qa.aux_encoder, settings)
            return [{p.row for p in r.passages} for r in retriever.retrieve_many(texts, 10)]

        exact = top10(qa.settings.with_(ann_above=len(qa.store.chunks)))
        found = top10(qa.settings)
        recall = statistics.mean(len(a & b) / len(a) for a, b in zip(exact, found))
    return {
        "recall@10": recall,
        "chunks": len(qa.store.chunks),
        "sentences": int(len(qa.store.features.sentences)),
        "open_and_first_s": first,
        "p50": statistics.median(timings),
        "p95": percentile(timings, 0.95),
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def table_row(label: str, q: dict, build_cells: str, disk: float) -> str:
    """One row of ``HEADER``: ``build_cells`` are the build s, chunks/s and build RSS columns."""
    return (
        f"| {label} | {q['chunks']} | {q['sentences']} | {build_cells} | {disk:.0f} | "
        f"{q['open_and_first_s']:.1f} | {q['p50']:.1f} | {q['p95']:.1f} | {q['rss_mb']:.0f} |"
    )


def recall_line(recall: float, shared: Path) -> str:
    return (
        f"candidate search above {Settings().ann_above:,} chunks: recall@10 against scoring every chunk "
        f"{recall:.3f} over {len(questions(shared))} questions"
    )


def replicate(source: Path, target: Path, copies: int) -> None:
    """An index of ``copies`` copies of ``source`` under new document and chunk ids."""
    store = IndexStore.load(source)
    chunks, documents, features = [], {}, store.features
    for n in range(copies):
        ids = {doc_id: f"{doc_id[:56]}{n:08d}" for doc_id in store.documents}
        chunks += [replace(c, doc_id=ids[c.doc_id], chunk_id=f"{c.chunk_id}~{n}") for c in store.chunks]
        for entry in store.documents.values():
            documents[ids[entry.doc_id]] = replace(
                entry,
                doc_id=ids[entry.doc_id],
                path=f"copy{n}/{entry.path}",
                chunk_ids=[f"{chunk_id}~{n}" for chunk_id in entry.chunk_ids],
            )
        if n:
            features = features.extend(store.features)
    IndexStore(
        model=store.model,
        dim=store.dim,
        chunker=store.chunker,
        chunking_rules=store.chunking_rules,
        aux_model=store.aux_model,
        aux_dim=store.aux_dim,
        chunks=chunks,
        features=features,
        documents=documents,
    ).save(target, ann_above=Settings().ann_above)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--replicate", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="reportqa-scale-"))
    corpus, index = work / "corpus", work / "index"
    if not corpus.exists():
        generate(corpus, args.chunks, args.shared)
    shutil.rmtree(index, ignore_errors=True)  # a build from nothing, also when --workdir is reused
    wall, rss, *_ = timed(
        [sys.executable, "-m", "reportqa.cli", "build", "-q", "--index", str(index), "--corpus", str(corpus)]
    )
    built = json.loads((index / "current" / "manifest.json").read_text())["chunks"]
    print(f"SYNTHETIC corpus in {work}")
    print(HEADER)
    q = measure_queries(index, corpus, args.shared)
    print(table_row("built", q, f"{wall:.0f} | {built / wall:.1f} | {rss:.0f}", disk_mb(index)))
    if q["recall@10"] is not None:
        print(f"\n{recall_line(q['recall@10'], args.shared)}")
    if args.replicate > 1:
        copies = work / f"index-x{args.replicate}"
        replicate(index, copies, args.replicate)
        q = measure_queries(copies, corpus, args.shared)
        print(table_row(f"{args.replicate} copies", q, "– | – | –", disk_mb(copies)))
        if q["recall@10"] is not None:
            print(f"\n{recall_line(q['recall@10'], args.shared)} (copies: a lower bound)")


if __name__ == "__main__":
    main()
