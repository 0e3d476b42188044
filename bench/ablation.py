"""Retrieval ablation: what each part of the hybrid retriever adds, next to the LangChain recipe.

Indexes the report plus the phi-1 PDF, then scores every variant on the shared dev set (with
dev_sources) and on our own question sets, with the definition of shared/eval/score.py.

    python bench/ablation.py [--index DIR] [--shared ../shared]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from reportqa import ReportQA
from reportqa.documents import detect_lang
from reportqa.evaluation import EvalQuestion, score
from reportqa.fusion import best_of_chunk_and_sentences, fuse, lexical_term, zscore_top
from reportqa.lexical import tokenize
from reportqa.retrieve import LexicalQuery, bm25_with_coverage, dense_of

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from recipe import RecipeEncoder, RecipeIndex  # noqa: E402
from recipe import build as build_recipe  # noqa: E402


def rrf(score_lists: list[np.ndarray], k: int = 60) -> np.ndarray:
    fused = np.zeros_like(score_lists[0])
    for scores in score_lists:
        ranks = np.empty(len(scores), dtype=np.int64)
        ranks[np.argsort(-scores, kind="stable")] = np.arange(len(scores))
        fused += 1.0 / (k + ranks + 1)
    return fused


def load_questions(*paths: Path) -> list[EvalQuestion]:
    rows = [json.loads(line) for p in paths for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [EvalQuestion(r["id"], r["lang"], r["question"], tuple(r["evidence"])) for r in rows]


def build_index(shared: Path, index_dir: Path) -> ReportQA:
    corpus = index_dir / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for f in (ROOT / "corpus").iterdir():
        shutil.copy(f, corpus / f.name)
    shutil.copy(shared / "corpus-sources" / "gunasekar2023-textbooks-are-all-you-need.pdf", corpus)
    qa = ReportQA(index_dir=index_dir / "index", corpus_dir=corpus)
    started = time.perf_counter()
    report = qa.build()
    print(
        f"index: {report.chunks} chunks ({len(report.added)} documents embedded) in "
        f"{time.perf_counter() - started:.1f}s",
        file=sys.stderr,
    )
    return qa


def variants(qa: ReportQA, questions: list[EvalQuestion]) -> dict[str, list[np.ndarray]]:
    """Per variant, one score vector over all chunks per question."""
    version = qa.version()
    store, features = version.store, version.store.features
    texts = [q.question for q in questions]
    rows = features.sentences[:, 0]
    queries = qa.encoder.encode_queries(texts)
    aux_queries = qa.aux_encoder.encode_queries(texts)
    chunk = queries @ features.vectors.T
    dense = best_of_chunk_and_sentences(chunk, queries @ features.sentence_vectors.T, rows)
    aux = best_of_chunk_and_sentences(
        aux_queries @ features.aux_vectors.T, aux_queries @ features.aux_sentence_vectors.T, rows
    )
    langs = np.array([c.lang for c in store.chunks])
    kinds = store.kinds()
    references, code = kinds == "reference", kinds == "code"
    offset = qa.settings.cross_language_offset
    out: dict[str, list[np.ndarray]] = {
        name: []
        for name in (
            "e5 dense (chunks)",
            "BM25 (Kiwi)",
            "RRF e5 + BM25",
            "e5 chunks+sentences",
            "+ language offset",
            "+ USE (calibrated fusion)",
            "+ BM25 (coverage-weighted)",
            "+ English→Korean term expansion, every passage",
            "+ the expansion for Korean passages only",
            "+ reference lists ranked lower",
            "+ Korean questions rendered in English",
            "+ English questions rendered in Korean",
            "+ technical terms in the Korean rendering",
            "+ code listings ranked lower (default)",
        )
    }
    for i, q in enumerate(questions):
        query_tokens = tokenize(q.question)
        lexical, coverage = bm25_with_coverage(version.search, query_tokens)
        balanced = dense[i] + offset * (langs != detect_lang(q.question))
        out["e5 dense (chunks)"].append(chunk[i])
        out["BM25 (Kiwi)"].append(lexical)
        out["RRF e5 + BM25"].append(rrf([chunk[i], lexical]))
        out["e5 chunks+sentences"].append(dense[i])
        out["+ language offset"].append(balanced)
        out["+ USE (calibrated fusion)"].append(zscore_top(balanced) + qa.settings.second_weight * zscore_top(aux[i]))
        plain_z = lexical_term(lexical, coverage)
        out["+ BM25 (coverage-weighted)"].append(fuse(balanced, aux[i], plain_z, qa.settings.second_weight))
        expanded_z = default_z = plain_z
        if detect_lang(q.question) == "en":
            expanded_tokens = query_tokens + version.translator(qa.aux_encoder).expand(query_tokens)
            expanded, expanded_coverage = bm25_with_coverage(version.search, expanded_tokens)
            expanded_z = lexical_term(expanded, expanded_coverage)
            default_z = np.where(langs != "en", expanded_z, default_z)
        out["+ English→Korean term expansion, every passage"].append(
            fuse(balanced, aux[i], expanded_z, qa.settings.second_weight)
        )
        default = fuse(balanced, aux[i], default_z, qa.settings.second_weight)
        out["+ the expansion for Korean passages only"].append(default)
        plain_ranked = default - qa.settings.reference_penalty * references
        out["+ reference lists ranked lower"].append(plain_ranked)
        language = detect_lang(q.question)
        ranked = {}
        for terms in (False, True):  # the Korean rendering without, then with, its technical terms
            question = q.question if terms else ""
            expansion, rendering = version.other_language(language, query_tokens, qa.aux_encoder, qa.settings, question)
            ranked[terms] = plain_ranked
            if not rendering:
                continue
            lexical_z = default_z
            if language == "ko":  # its English words are BM25's query for the English passages too
                query = LexicalQuery("ko", query_tokens, expansion)
                rendered_lexical, rendered_coverage = bm25_with_coverage(version.search, query.other_language_tokens())
                lexical_z = np.where(langs == "en", lexical_term(rendered_lexical, rendered_coverage), plain_z)
            vector = qa.encoder.encode_queries([rendering])[0]
            rendered = dense_of(store, version.search, vector, None)
            fused = fuse(balanced, aux[i], lexical_z, qa.settings.second_weight, rendered, langs != language)
            ranked[terms] = fused - qa.settings.reference_penalty * references
        out["+ Korean questions rendered in English"].append(ranked[False] if language == "ko" else plain_ranked)
        out["+ English questions rendered in Korean"].append(ranked[False])
        out["+ technical terms in the Korean rendering"].append(ranked[True])
        out["+ code listings ranked lower (default)"].append(ranked[True] - qa.settings.code_penalty * code)
    return out


def answered(questions: list[EvalQuestion], answers: list) -> str:
    """The default as ``ask`` answers: hit@1 and answer@1 (its first quoted sentence holds the evidence)."""
    results = {
        q.id: ([p.chunk.text for p in a.passages], a.abstained, a.quotes[0].text if a.quotes else None)
        for q, a in zip(questions, answers)
    }
    rows = score(questions, results, k=5)
    cells = [
        f"{rows[lang]['hit@1']:.3f} / {rows[lang]['answer@1']:.3f}" if lang in rows else "—" for lang in ("ko", "en")
    ]
    return "| ReportQA default as answered: hit@1 / answer@1 | " + " | ".join(cells) + " |"


def table(name: str, questions: list[EvalQuestion], ranked: list[list[str]]) -> str:
    results = {q.id: (texts, False) for q, texts in zip(questions, ranked)}
    rows = score(questions, results, k=5)
    cells = [f"{rows[lang]['hit@1']:.3f} / {rows[lang]['hit@5']:.3f}" if lang in rows else "—" for lang in ("ko", "en")]
    return f"| {name} | " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=Path(tempfile.gettempdir()) / "reportqa-bench")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    qa = build_index(args.shared, args.index)
    sets = {
        "dev (dev.jsonl + dev_sources.jsonl)": load_questions(
            args.shared / "eval" / "dev.jsonl", args.shared / "eval" / "dev_sources.jsonl"
        ),
        "own (bench/questions.jsonl)": load_questions(ROOT / "bench" / "questions.jsonl"),
        "own, phi-1 body (bench/questions_pdf.jsonl)": load_questions(ROOT / "bench" / "questions_pdf.jsonl"),
        "own, dated events (bench/questions_dates.jsonl)": load_questions(ROOT / "bench" / "questions_dates.jsonl"),
        "own, off-topic (bench/questions_offtopic.jsonl)": load_questions(ROOT / "bench" / "questions_offtopic.jsonl"),
    }
    shutil.rmtree(args.index / "recipe", ignore_errors=True)
    build_recipe(args.index / "corpus", args.index / "recipe", "st")
    recipe = RecipeIndex(args.index / "recipe", RecipeEncoder("st"))
    texts = [c.text for c in qa.store.chunks]
    for set_name, questions in sets.items():
        answers = qa.batch([q.question for q in questions], top_k=5)
        if any(q.evidence for q in questions):  # a set of unanswerable questions has no ranks to compare
            print(f"\n### {set_name}\n\n| variant | ko hit@1 / hit@5 | en hit@1 / hit@5 |\n|---|---|---|")
            print(
                table(
                    "LangChain recipe (500/100 + e5 + FAISS)",
                    questions,
                    [recipe.search(q.question, k=10) for q in questions],
                )
            )
            for name, score_vectors in variants(qa, questions).items():
                ranked = [[texts[r] for r in np.argsort(-s, kind="stable")[:10]] for s in score_vectors]
                print(table(name, questions, ranked))
            print(answered(questions, answers))
        else:
            print(f"\n### {set_name}")
        unanswerable = [a.abstained for q, a in zip(questions, answers) if not q.evidence]
        false = [a.abstained for q, a in zip(questions, answers) if q.evidence]
        print(
            f"\nabstention (default settings): {sum(unanswerable)}/{len(unanswerable)} unanswerable refused, "
            f"{sum(false)}/{len(false)} answerable refused"
        )


if __name__ == "__main__":
    main()
