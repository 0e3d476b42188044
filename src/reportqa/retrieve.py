"""Hybrid retrieval: two multilingual encoders and Korean-aware BM25, fused on calibrated scores.

Per question, every chunk gets three scores:

* **dense** — e5 cosine to the chunk or to its best sentence, whichever is higher (the evidence is
  often one sentence in a passage about several things), plus ``cross_language_offset`` for
  chunks in the other language, because e5 rates same-language text higher for that alone;
* **aux** — the same with the second encoder (USE multilingual), whose errors differ from e5's;
* **lexical** — BM25 over Kiwi morphemes and number/name anchors.

Each score list is standardised against its own top-50 for this question (how far a chunk stands
out from the best candidates, not the raw scale, which differs per encoder and per question) and
summed; BM25 is weighted by how much of the question its best chunk covers, so it counts when it
matches the question's words and fades when it cannot. English questions reach Korean text in
BM25 through their words' nearest Korean terms of the corpus (``lexical.TermTranslator``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import Settings
from .documents import detect_lang
from .encoder import Encoder
from .lexical import tokenize
from .records import Passage
from .store import IndexStore

Z_TOP = 50


@dataclass(frozen=True)
class Retrieval:
    """Ranked passages for one question and the evidence strength behind the decision to abstain."""

    passages: list[Passage]
    evidence: float
    aux_similarity: float
    abstained: bool


def zscore_top(scores: np.ndarray, k: int = Z_TOP) -> np.ndarray:
    """Standardise by the mean and spread of the ``k`` best scores."""
    if not len(scores):
        return scores
    head = np.partition(scores, -min(k, len(scores)))[-min(k, len(scores)) :]
    return (scores - head.mean()) / (head.std() + 1e-6)


def best_of_chunk_and_sentences(
    chunk_scores: np.ndarray, sentence_scores: np.ndarray, sentence_rows: np.ndarray
) -> np.ndarray:
    """Per chunk: the higher of its own score and its best sentence's score. Shapes (q, n), (q, s), (s,)."""
    best = chunk_scores.copy()
    if len(sentence_rows):  # a chunk's sentences are contiguous: one segment max per chunk
        starts = np.flatnonzero(np.r_[True, sentence_rows[1:] != sentence_rows[:-1]])
        rows = sentence_rows[starts]
        best[:, rows] = np.maximum(best[:, rows], np.maximum.reduceat(sentence_scores, starts, axis=1))
    return best


def lexical_coverage(query_tokens: list[str], chunk_tokens: list[str]) -> float:
    """Share of the question's distinct tokens found in a chunk."""
    wanted = set(query_tokens)
    return len(wanted & set(chunk_tokens)) / len(wanted) if wanted else 0.0


def fuse(
    dense: np.ndarray, aux: np.ndarray | None, lexical: np.ndarray, coverage: float, aux_weight: float
) -> np.ndarray:
    fused = zscore_top(dense) + coverage * zscore_top(lexical)
    if aux is not None:
        fused += aux_weight * zscore_top(aux)
    return fused


def should_abstain(evidence: float, aux_similarity: float | None, settings: Settings) -> bool:
    """Weak evidence: the best passage barely stands out, or the second encoder finds it unrelated
    while the fused evidence is not overwhelming."""
    if evidence < settings.abstain_below:
        return True
    unrelated = aux_similarity is not None and aux_similarity < settings.abstain_aux_below
    return unrelated and evidence < settings.abstain_aux_unless_above


class Retriever:
    def __init__(
        self, store: IndexStore, encoder: Encoder, aux_encoder: Encoder | None = None, settings: Settings | None = None
    ):
        self.store = store
        self.encoder = encoder
        self.aux_encoder = aux_encoder if store.aux_dim else None
        self.settings = settings or Settings()

    def retrieve(self, question: str, top_k: int = 5) -> Retrieval:
        return self.retrieve_many([question], top_k)[0]

    def retrieve_many(
        self,
        questions: list[str],
        top_k: int = 5,
        query_vectors: np.ndarray | None = None,
        aux_query_vectors: np.ndarray | None = None,
    ) -> list[Retrieval]:
        if not self.store.chunks:
            return [Retrieval([], 0.0, 0.0, True) for _ in questions]
        if query_vectors is None:
            query_vectors = self.encoder.encode_queries(questions)
        dense = self._dense(query_vectors, self.store.features.vectors, self.store.features.sentence_vectors)
        aux = None
        if self.aux_encoder is not None:
            aux_queries = (
                aux_query_vectors if aux_query_vectors is not None else self.aux_encoder.encode_queries(questions)
            )
            aux = self._dense(aux_queries, self.store.features.aux_vectors, self.store.features.aux_sentence_vectors)
        chunk_langs = self.store.chunk_languages()
        results = []
        for i, question in enumerate(questions):
            language = detect_lang(question)
            dense_i = dense[i] + self.settings.cross_language_offset * (chunk_langs != language)
            query_tokens = self._query_tokens(question, language)
            lexical = self.store.lexical().scores(query_tokens)
            best_lexical = int(np.argmax(lexical))
            coverage = (
                lexical_coverage(query_tokens, self.store.features.tokens[best_lexical]) if lexical.any() else 0.0
            )
            aux_i = aux[i] if aux is not None else None
            fused = fuse(dense_i, aux_i, lexical, coverage, self.settings.second_weight)
            results.append(self._retrieval(fused, aux_i, top_k))
        return results

    def _query_tokens(self, question: str, language: str) -> list[str]:
        """BM25 tokens; an English question also gets the corpus's Korean terms for its words."""
        tokens = tokenize(question)
        if language == "en" and self.aux_encoder is not None:
            tokens += self.store.translator(self.aux_encoder).expand(tokens)
        return tokens

    def _dense(self, queries: np.ndarray, chunk_vectors: np.ndarray, sentence_vectors: np.ndarray) -> np.ndarray:
        rows = self.store.features.sentences[:, 0] if len(sentence_vectors) else np.zeros(0, np.int64)
        return best_of_chunk_and_sentences(queries @ chunk_vectors.T, queries @ sentence_vectors.T, rows)

    def _retrieval(self, fused: np.ndarray, aux: np.ndarray | None, top_k: int) -> Retrieval:
        head = min(top_k * 2, len(fused))
        candidates = np.argpartition(-fused, head - 1)[:head] if head < len(fused) else np.arange(len(fused))
        order = sorted(candidates.tolist(), key=lambda row: (-fused[row], self.store.chunks[row].chunk_id))[:top_k]
        passages = []
        for rank, row in enumerate(order, start=1):
            chunk = self.store.chunks[row]
            doc = self.store.documents[chunk.doc_id]
            passages.append(
                Passage(
                    chunk=chunk,
                    rank=rank,
                    score=float(fused[row]),
                    title=doc.title,
                    doc_path=doc.path,
                    short_title=doc.short_title,
                    row=row,
                )
            )
        evidence = float(fused[order[0]])
        aux_similarity = float(aux[order[0]]) if aux is not None else None
        abstained = should_abstain(evidence, aux_similarity, self.settings)
        return Retrieval(passages, evidence, aux_similarity if aux_similarity is not None else 0.0, abstained)
