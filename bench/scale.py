"""Scale: build and query a SYNTHETIC corpus of N chunks (see ``bench/synthetic.py``).

Build: a fresh ``reportqa build`` process on the generated corpus (wall time, chunks/s, peak RSS
from ``/usr/bin/time -v``) and the index's size on disk. Query: a fresh process that opens the
index and asks every question of the dev, dev_sources and own sets (p50/p95 of the full
``ReportQA.ask``, peak RSS).

``--stand-in`` writes the index directly instead of building it, for sizes a 2-core build cannot
reach (1M chunks would take about ten hours): every distinct sentence of the pool is embedded once
by the real encoders and tokenised by Kiwi; a chunk is 1–3 pool sentences (sentences per chunk as
in real builds, ≈ 1.9), its sentence vectors are the pool sentence's plus seeded noise and its chunk
vector the normalised mean of its sentences' plus noise (a stand-in encoder of the real dimensions,
whose questions are embedded by the real models), so the serving side is measured on an index of
the real size, shapes and files. Vectors go to disk as they are made; the chunk texts are real.

``--replicate R`` then writes an index of R copies of the built one (chunks, vectors, tokens
and sentences repeated under new ids, no encoding) and measures queries on it: query cost
depends on the index's shapes, not on its text, so this measures a larger index without the
time a CPU needs to embed it (a 100k-chunk build takes about 70 minutes on two cores). Its
build figures are not measured, only its queries.

    python bench/scale.py --chunks 100000 [--replicate R] [--workdir DIR] [--shared ../shared]
    python bench/scale.py --chunks 1000000 --stand-in [--probes 32,64] [--workdir DIR]
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from speed import percentile, questions, timed  # noqa: E402
from synthetic import generate, sentence_pool  # noqa: E402

from reportqa.config import Settings  # noqa: E402
from reportqa.store import IndexStore  # noqa: E402

HEADER = (
    "| index | chunks | sentences | build s | chunks/s | build RSS MB | disk MB | open s | open + first ask s "
    "| p50 ms (first pass) | p95 ms (first pass) | query RSS MB |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def disk_mb(index: Path) -> float:
    version = (index / "current").resolve()
    return sum(f.stat().st_size for f in version.iterdir()) / 1e6


def measure_queries(index: Path, corpus: Path, shared: Path, probes: str = "") -> dict:
    """In a fresh process: open the index, ask every question, report latency and peak RSS."""
    code = (
        "import json, sys, time, resource; sys.path.insert(0, sys.argv[4]);"
        "from scale import query_run; print(json.dumps(query_run(*sys.argv[1:4], *sys.argv[5:])))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(index), str(corpus), str(shared), str(ROOT / "bench"), probes],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    """This process's peak RSS (``VmHWM``: unlike ``ru_maxrss``, not inherited from the parent it was forked from)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def query_run(index: str, corpus: str, shared: str, probes: str = "") -> dict:
    from reportqa import ReportQA

    started = time.perf_counter()
    qa = ReportQA(index_dir=Path(index), corpus_dir=Path(corpus))
    qa.version()  # the index alone
    opened = time.perf_counter() - started
    texts = questions(Path(shared))
    qa.ask(texts[0])  # loads the models, the term vectors and the citation links
    first = time.perf_counter() - started
    passes = []
    for _ in range(2):  # the first pass reads the rows it needs from disk; the second, from the page cache
        timings = []
        for text in texts:
            t = time.perf_counter()
            qa.ask(text)
            timings.append((time.perf_counter() - t) * 1000)
        passes.append(timings)
    rss = peak_rss_mb()  # before the exact scoring below
    recall = {}
    if len(qa.store.chunks) > qa.settings.ann_above:  # the candidate search's top 10 against scoring every chunk
        import faiss

        from reportqa.retrieve import Retriever

        def top10(settings):
            retriever = Retriever(qa.store, qa.encoder, qa.aux_encoder, settings)
            found = []
            for lo in range(0, len(texts), 8):  # every chunk scored: 8 questions' score rows at a time
                found += [[p.row for p in r.passages] for r in retriever.retrieve_many(texts[lo : lo + 8], 10)]
            return found

        exact = top10(qa.settings.with_(ann_above=len(qa.store.chunks)))
        for nprobe in [int(p) for p in probes.split(",") if p] or [None]:
            if nprobe is not None:
                for ann in qa.store.ann.values():
                    faiss.extract_index_ivf(ann).nprobe = nprobe
            t = time.perf_counter()
            found = top10(qa.settings)
            per_question = (time.perf_counter() - t) * 1000 / len(texts)

            def texts_of(rows):
                return {qa.store.chunks[row].text for row in rows}

            recall[str(nprobe or "default")] = {
                "recall@10": statistics.mean(len(set(a) & set(b)) / len(a) for a, b in zip(exact, found)),
                "same_first": statistics.mean(a[0] == b[0] for a, b in zip(exact, found)),
                # a synthetic corpus repeats each pool sentence in many chunks: the same text under
                # another row (its own noise, nearly its score) is the same answer to a reader
                "text_recall@10": statistics.mean(
                    len(texts_of(a) & texts_of(b)) / len(texts_of(a)) for a, b in zip(exact, found)
                ),
                "ms_per_question": per_question,
            }
    result = {
        "recall": recall,
        "chunks": len(qa.store.chunks),
        "sentences": int(len(qa.store.features.sentences)),
        "open_s": opened,
        "open_and_first_s": first,
        "p50": statistics.median(passes[1]),
        "p95": percentile(passes[1], 0.95),
        "first_pass_p50": statistics.median(passes[0]),
        "first_pass_p95": percentile(passes[0], 0.95),
        "rss_mb": rss,
    }
    (Path(index).parent / "queries.json").write_text(json.dumps(result, indent=1))
    return result


def table_row(label: str, q: dict, build_cells: str, disk: float) -> str:
    """One row of ``HEADER``: ``build_cells`` are the build s, chunks/s and build RSS columns."""
    return (
        f"| {label} | {q['chunks']:,} | {q['sentences']:,} | {build_cells} | {disk:,.0f} | {q['open_s']:.2f} | "
        f"{q['open_and_first_s']:.1f} | {q['p50']:.1f} ({q['first_pass_p50']:.1f}) | "
        f"{q['p95']:.1f} ({q['first_pass_p95']:.1f}) | {q['rss_mb']:,.0f} |"
    )


def recall_lines(q: dict, shared: Path) -> str:
    lines = [
        f"candidate search above {Settings().ann_above:,} chunks against scoring every chunk, "
        f"{len(questions(shared))} questions:"
    ]
    for probes, r in q["recall"].items():
        lines.append(
            f"  nprobe {probes}: recall@10 {r['recall@10']:.3f} (by text {r.get('text_recall@10', 0):.3f}), "
            f"the same first passage {r['same_first']:.3f}, "
            f"{r['ms_per_question']:.1f} ms per question"
        )
    return "\n".join(lines)


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


STAND_IN_NOISE = 0.35  # the noise's norm against a unit vector: neighbours stay neighbours, no two rows alike
CHUNKS_PER_STAND_IN_DOCUMENT = 1000


def stand_in_index(target: Path, n_chunks: int, shared: Path, seed: int = 0, noise: float = STAND_IN_NOISE) -> None:
    """Write an index of ``n_chunks`` stand-in chunks (see the module's docstring) to ``target``."""
    from reportqa.chunking import RULES_VERSION
    from reportqa.documents import detect_lang
    from reportqa.lexical import tokenize
    from reportqa.models import Models
    from reportqa.records import Chunk, DocumentEntry
    from reportqa.store import Features

    started = time.perf_counter()
    settings = Settings()
    models = Models(settings)
    encoder, aux = models.encoder, models.aux_encoder
    pool, _ = sentence_pool(shared)
    pool_vectors = encoder.encode_passages(pool)
    pool_aux = aux.encode_passages(pool)
    pool_tokens = [tokenize(s) for s in pool]
    pool_langs = [detect_lang(s) for s in pool]
    print(f"stand-in: {len(pool)} pool sentences embedded in {time.perf_counter() - started:.0f} s", flush=True)

    rng = np.random.default_rng(seed)
    per_chunk = rng.choice([1, 2, 3], size=n_chunks, p=[0.3, 0.5, 0.2])
    picks = rng.integers(0, len(pool), size=int(per_chunk.sum()))
    rows = np.repeat(np.arange(n_chunks), per_chunk)
    scratch = target.parent / f".{target.name}-arrays"
    scratch.mkdir(parents=True, exist_ok=True)

    def array(name: str, rows_: int, dim: int) -> np.ndarray:
        return np.lib.format.open_memmap(scratch / f"{name}.npy", "w+", np.float32, (rows_, dim))

    n_sent = len(picks)
    vectors, aux_vectors = array("v", n_chunks, encoder.dim), array("a", n_chunks, aux.dim)
    sentence_vectors, aux_sentence_vectors = array("sv", n_sent, encoder.dim), array("sa", n_sent, aux.dim)
    starts = np.r_[0, np.cumsum(per_chunk)]
    block = 50_000
    for lo in range(0, n_chunks, block):  # chunk rows lo..hi and their sentences
        hi = min(n_chunks, lo + block)
        s_lo, s_hi = starts[lo], starts[hi]
        for pool_side, chunk_out, sentence_out in (
            (pool_vectors, vectors, sentence_vectors),
            (pool_aux, aux_vectors, aux_sentence_vectors),
        ):
            noisy = pool_side[picks[s_lo:s_hi]] + _noise(rng, s_hi - s_lo, pool_side.shape[1], noise)
            noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
            sentence_out[s_lo:s_hi] = noisy
            means = np.add.reduceat(noisy, starts[lo:hi] - s_lo, axis=0)
            means += _noise(rng, hi - lo, pool_side.shape[1], noise)
            chunk_out[lo:hi] = means / np.linalg.norm(means, axis=1, keepdims=True)
    chunks, tokens, documents = [], [], {}
    sentences = np.zeros((n_sent, 3), np.int32)
    sentences[:, 0] = rows
    span_starts, span_ends = [], []
    for row in range(n_chunks):
        own = picks[starts[row] : starts[row + 1]]
        text, spans = "", []
        for i in own:
            start = len(text) + (1 if text else 0)
            text = f"{text} {pool[i]}" if text else pool[i]
            spans.append((start, len(text)))
        span_starts += [a for a, _ in spans]
        span_ends += [b for _, b in spans]
        doc_number = row // CHUNKS_PER_STAND_IN_DOCUMENT
        doc_id = f"{doc_number:064x}"
        chunk = Chunk(f"{row:016x}", doc_id, text, f"{row % 12 + 1} Synthetic", None, 0, len(text), pool_langs[own[0]])
        chunks.append(chunk)
        tokens.append([t for i in own for t in pool_tokens[i]])
        if doc_id not in documents:
            documents[doc_id] = DocumentEntry(
                doc_id, f"synthetic-{doc_number:06d}.txt", f"SYNTHETIC {doc_number}", "ko", 0, False, [], "", {}
            )
        documents[doc_id].chunk_ids.append(chunk.chunk_id)
    sentences[:, 1], sentences[:, 2] = span_starts, span_ends
    made = time.perf_counter() - started
    print(f"stand-in: {n_chunks:,} chunks, {n_sent:,} sentences made in {made:.0f} s", flush=True)
    store = IndexStore(
        model=encoder.name,
        dim=encoder.dim,
        chunker=settings.chunker_fingerprint(),
        chunking_rules=RULES_VERSION,
        aux_model=aux.name,
        aux_dim=aux.dim,
        chunks=chunks,
        features=Features(vectors, tokens, sentences, sentence_vectors, aux_vectors, aux_sentence_vectors),
        documents=documents,
    )
    store.save(target, ann_above=settings.ann_above)
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"stand-in: index written in {time.perf_counter() - started:.0f} s", flush=True)


def _noise(rng: np.random.Generator, rows: int, dim: int, norm: float) -> np.ndarray:
    return rng.standard_normal((rows, dim), dtype=np.float32) * (norm / np.sqrt(dim))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--stand-in", action="store_true", help="write the index with the stand-in encoder")
    parser.add_argument("--probes", default="", help="IVF lists probed, e.g. 32,64: recall measured for each")
    parser.add_argument(
        "--noise", type=float, default=STAND_IN_NOISE, help="stand-in noise norm (copies of a sentence differ by it)"
    )
    parser.add_argument("--replicate", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="reportqa-scale-"))
    corpus, index = work / "corpus", work / "index"
    corpus.mkdir(parents=True, exist_ok=True)
    if args.stand_in:
        if not (index / "current").exists():
            timing = time.perf_counter()
            stand_in_index(index, args.chunks, args.shared, noise=args.noise)
            build_cells = f"{time.perf_counter() - timing:.0f} (stand-in) | – | –"
        else:
            build_cells = "– | – | –"
    else:
        if not any(corpus.iterdir()):
            generate(corpus, args.chunks, args.shared)
        shutil.rmtree(index, ignore_errors=True)  # a build from nothing, also when --workdir is reused
        wall, rss, *_ = timed(
            [sys.executable, "-m", "reportqa.cli", "build", "-q", "--index", str(index), "--corpus", str(corpus)]
        )
        built = json.loads((index / "current" / "manifest.json").read_text())["chunks"]
        build_cells = f"{wall:.0f} | {built / wall:.1f} | {rss:.0f}"
    print(f"SYNTHETIC corpus in {work}")
    print(HEADER)
    q = measure_queries(index, corpus, args.shared, args.probes)
    print(table_row("stand-in" if args.stand_in else "built", q, build_cells, disk_mb(index)))
    if q["recall"]:
        print(f"\n{recall_lines(q, args.shared)}")
    if args.replicate > 1:
        copies = work / f"index-x{args.replicate}"
        replicate(index, copies, args.replicate)
        q = measure_queries(copies, corpus, args.shared, args.probes)
        print(table_row(f"{args.replicate} copies", q, "– | – | –", disk_mb(copies)))
        if q["recall"]:
            print(f"\n{recall_lines(q, args.shared)} (copies: a lower bound)")


if __name__ == "__main__":
    main()
