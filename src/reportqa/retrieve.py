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
BM25 through their words' nearest Korean terms of the corpus (``lexical.TermTranslator``); English
passages are scored with the question's own words.
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
ANN_CANDIDATES = 100  # per list and question in large indexes: twice the z-score window


@dataclass(frozen=True)
class Retrieval:
    """Ranked passages for one question and the evidence strength behind the decision to abstain."""

    passages: list[Passage]
    evidence: float
    aux_similarity: float
    abstained: bool


@dataclass(frozen=True)
class LexicalQuery:
    """A question's BM25 side, which needs neither of its dense vectors: it can be ready before them."""

    language: str
    tokens: list[str]
    expansion: list[str]  # the corpus's Korean terms for an English question's words


def zscore_top(scores: np.ndarray, k: int = Z_TOP) -> np.ndarray:
    """Standardise by the mean and spread of the ``k`` best scores."""
    if not len(scores):
        return scores
    k = min(k, len(scores))
    # partitioning only the scores above the floor: BM25's zeros and the −inf of chunks outside the
    # candidates are most of a large index, and np.partition slows down ~10× on that many equal values
    floor = scores.min()
    above = scores[scores > floor]
    if len(above) >= k:
        head = np.partition(above, -k)[-k:]
    else:
        head = np.concatenate([above, np.full(k - len(above), floor, dtype=scores.dtype)])
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


def bm25_with_coverage(store: IndexStore, query_tokens: list[str]) -> tuple[np.ndarray, float]:
    """BM25 scores of every chunk, and the share of the question's tokens its best chunk holds."""
    lexical = store.lexical().scores(query_tokens)
    if not lexical.any():
        return lexical, 0.0
    return lexical, lexical_coverage(query_tokens, store.features.tokens[int(np.argmax(lexical))])


def lexical_term(lexical: np.ndarray, coverage: float) -> np.ndarray:
    """BM25 as it enters the fusion: standardised, and weighted by how much of the question it covers."""
    return coverage * zscore_top(lexical)


def fuse(dense: np.ndarray, aux: np.ndarray | None, lexical: np.ndarray, aux_weight: float) -> np.ndarray:
    """Sum of the standardised dense scores, ``lexical`` (from ``lexical_term``) and the weighted second encoder."""
    fused = zscore_top(dense) + lexical
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
        lexical_queries: list[LexicalQuery] | None = None,
    ) -> list[Retrieval]:
        if not self.store.chunks:
            return [Retrieval([], 0.0, 0.0, True) for _ in questions]
        if query_vectors is None:
            query_vectors = self.encoder.encode_queries(questions)
        features = self.store.features
        if self.aux_encoder is not None and aux_query_vectors is None:
            if lexical_queries is None:
                aux_query_vectors, lexical_queries = self.prepare_queries(questions)
            else:
                aux_query_vectors = self.aux_encoder.encode_queries(questions)
        aux_queries = aux_query_vectors if self.aux_encoder is not None else None
        large = len(self.store.chunks) > self.settings.ann_above
        if large:  # candidates from the approximate indexes; every other chunk is out of the running
            candidates = self.store.candidate_rows("vectors", "sentence_vectors", query_vectors, ANN_CANDIDATES)
            if aux_queries is not None:
                aux_candidates = self.store.candidate_rows(
                    "aux_vectors", "aux_sentence_vectors", aux_queries, ANN_CANDIDATES
                )
                candidates = [np.union1d(a, b) for a, b in zip(candidates, aux_candidates)]
        else:
            dense = self._dense(query_vectors, features.vectors, features.sentence_vectors)
            aux = (
                self._dense(aux_queries, features.aux_vectors, features.aux_sentence_vectors)
                if aux_queries is not None
                else None
            )
        chunk_langs = self.store.chunk_languages()
        if lexical_queries is None:
            lexical_queries = self.lexical_queries(questions)
        results = []
        for i, lexical_query in enumerate(lexical_queries):
            language, query_tokens, expansion = lexical_query.language, lexical_query.tokens, lexical_query.expansion
            lexical, coverage = bm25_with_coverage(self.store, query_tokens)
            lexical_z = lexical_term(lexical, coverage)
            lists = [lexical]
            if expansion:
                # the corpus's Korean terms for an English question's words, for the passages in the
                # other language only: in its own language the added terms match nothing and would
                # shrink the share of the question that a passage covers
                expanded, expanded_coverage = bm25_with_coverage(self.store, query_tokens + expansion)
                other = chunk_langs != language
                lexical_z = np.where(other, lexical_term(expanded, expanded_coverage), lexical_z)
                lists.append(expanded)
            if large:
                head = min(ANN_CANDIDATES, len(lexical))
                rows = candidates[i]
                for scores in lists:
                    rows = np.union1d(rows, np.argpartition(-scores, head - 1)[:head])
                dense_i = self._dense_rows(rows, query_vectors[i], features.vectors, features.sentence_vectors)
                aux_i = (
                    self._dense_rows(rows, aux_queries[i], features.aux_vectors, features.aux_sentence_vectors)
                    if aux_queries is not None
                    else None
                )
            else:
                dense_i, aux_i = dense[i], (aux[i] if aux is not None else None)
            dense_i = dense_i + self.settings.cross_language_offset * (chunk_langs != language)
            fused = fuse(dense_i, aux_i, lexical_z, self.settings.second_weight)
            results.append(self._retrieval(fused, aux_i, top_k))
        return results

    def prepare_queries(self, questions: list[str]) -> tuple[np.ndarray | None, list[LexicalQuery]]:
        """Everything of the questions but their e5 vectors: second-encoder vectors and the BM25 side.

        An English question's words are embedded in the same second-encoder call as the questions:
        for short texts a call costs about the same whatever it holds (~2 ms for USE), so the
        expansion's words come nearly free. The pipeline runs this beside e5's call.

        Where no question is English, the second encoder goes first: its call lets go of the GIL
        at once, while Kiwi's tokenising holds it and would delay the start of e5's call beside it
        (by about 1 ms a question). An English question needs Kiwi's tokens first, to name its words.
        """
        languages = [detect_lang(q) for q in questions]
        aux_first = self.aux_encoder is not None and "en" not in languages
        vectors = self.aux_encoder.encode_queries(questions) if aux_first else None
        spoken = [(language, tokenize(q)) for language, q in zip(languages, questions)]
        if self.aux_encoder is None or aux_first:
            return vectors, self._lexical(spoken)
        translator = self.store.translator(self.aux_encoder)
        words = translator.unknown([word for language, tokens in spoken if language == "en" for word in tokens])
        vectors = self.aux_encoder.encode_queries(questions + words)
        translator.learn(words, vectors[len(questions) :])
        return vectors[: len(questions)], self._lexical(spoken)

    def lexical_queries(self, questions: list[str]) -> list[LexicalQuery]:
        """Each question's language, Kiwi tokens and English→Korean expansion (which the second encoder embeds)."""
        return self._lexical([(detect_lang(q), tokenize(q)) for q in questions])

    def _lexical(self, spoken: list[tuple[str, list[str]]]) -> list[LexicalQuery]:
        return [LexicalQuery(language, tokens, self._expansion(tokens, language)) for language, tokens in spoken]

    def _expansion(self, query_tokens: list[str], language: str) -> list[str]:
        """The corpus's Korean terms for an English question's words (none for other questions)."""
        if language != "en" or self.aux_encoder is None:
            return []
        return self.store.translator(self.aux_encoder).expand(query_tokens)

    def _dense(self, queries: np.ndarray, chunk_vectors: np.ndarray, sentence_vectors: np.ndarray) -> np.ndarray:
        rows = self.store.features.sentences[:, 0] if len(sentence_vectors) else np.zeros(0, np.int64)
        return best_of_chunk_and_sentences(queries @ chunk_vectors.T, queries @ sentence_vectors.T, rows)

    def _dense_rows(
        self, rows: np.ndarray, query: np.ndarray, chunk_vectors: np.ndarray, sentence_vectors: np.ndarray
    ) -> np.ndarray:
        """``_dense`` for one question, computed exactly for ``rows`` only; −inf for every other chunk."""
        spans = self.store.sentence_spans()
        best = np.full(len(self.store.chunks), -np.inf, dtype=np.float32)
        best[rows] = chunk_vectors[rows] @ query
        counts = spans[rows + 1] - spans[rows]
        with_sentences, counts = rows[counts > 0], counts[counts > 0]
        if len(with_sentences):
            offsets = np.cumsum(counts) - counts  # where each row's sentences start in the gathered list
            gathered = np.repeat(spans[with_sentences] - offsets, counts) + np.arange(counts.sum())
            per_row = np.maximum.reduceat(sentence_vectors[gathered] @ query, offsets)
            best[with_sentences] = np.maximum(best[with_sentences], per_row)
        return best

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
