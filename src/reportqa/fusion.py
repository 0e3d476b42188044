"""Score lists to one ranking: each standardised against its own best candidates, then summed.

A cosine of 0.83 means little alone: e5, the second encoder and BM25 score on different scales, and
the same encoder spreads its scores differently for each question. What carries over is how far a
chunk stands out from the question's best candidates (``zscore_top``); BM25 counts by how much of the
question its best chunk covers, so it fades for a question whose words the corpus does not hold.
Plain arrays in and out.
"""

from __future__ import annotations

import numpy as np

Z_TOP = 50


def zscore_top(scores: np.ndarray, k: int = Z_TOP) -> np.ndarray:
    """Standardise by the mean and spread of the ``k`` best scores."""
    if not len(scores):
        return scores
    floor = scores.min()
    mean, spread = _top_stats(scores[scores > floor], floor, min(k, len(scores)))
    return (scores - mean) / spread


def _top_stats(above: np.ndarray, floor: float, k: int) -> tuple[float, float]:
    """Mean and spread (+1e-6) of the ``k`` best scores, given those above the floor (the rest equal it).

    Partitioning only the scores above the floor: BM25's zeros are most of a large index, and
    np.partition slows down ~10× on that many equal values.
    """
    if len(above) >= k:
        head = np.partition(above, -k)[-k:]
    else:
        head = np.concatenate([above, np.full(k - len(above), floor, dtype=above.dtype)])
    return head.mean(), head.std() + 1e-6


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


def lexical_term(
    lexical: np.ndarray, coverage: float, rows: np.ndarray | None = None, matched: np.ndarray | None = None
) -> np.ndarray:
    """BM25 as it enters the fusion: standardised, and weighted by how much of the question it covers;
    for ``rows`` alone when given (the standardisation is still the whole list's). ``matched``: the
    rows with a score above zero, when known."""
    if rows is None:
        return coverage * zscore_top(lexical)
    if matched is None:
        matched = np.flatnonzero(lexical)  # BM25 scores are never negative: the rest are the zero floor
    if len(matched) == len(lexical):
        return coverage * zscore_top(lexical)[rows]
    mean, spread = _top_stats(lexical[matched], 0.0, min(Z_TOP, len(lexical)))
    return coverage * (lexical[rows] - mean) / spread


def fuse(
    dense: np.ndarray,
    aux: np.ndarray | None,
    lexical: np.ndarray,
    aux_weight: float,
    rendered: np.ndarray | None = None,
    other: np.ndarray | None = None,
) -> np.ndarray:
    """Sum of the standardised dense scores, ``lexical`` (from ``lexical_term``) and the weighted second
    encoder. ``rendered``: e5 scores of the question's rendering in the other language, standardised on
    their own; a passage in that language (``other``) counts the better of its two standardised scores."""
    dense_z = zscore_top(dense)
    if rendered is not None and other is not None:
        dense_z = np.where(other, np.maximum(dense_z, zscore_top(rendered)), dense_z)
    fused = dense_z + lexical
    if aux is not None:
        fused += aux_weight * zscore_top(aux)
    return fused
