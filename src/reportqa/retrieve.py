"""Turn questions into ranked ``Passage`` lists over an ``IndexStore``.

Batch-first: ``retrieve`` is one line over ``retrieve_many``. Dense search runs over the whole
index; candidates are over-fetched so later stages (fusion, answer selection) have room to work.
"""

from __future__ import annotations

import numpy as np

from .encoder import Encoder
from .records import Passage
from .store import IndexStore

CANDIDATE_FACTOR = 4


class Retriever:
    def __init__(self, store: IndexStore, encoder: Encoder):
        self.store = store
        self.encoder = encoder

    def retrieve(self, question: str, top_k: int = 5) -> list[Passage]:
        return self.retrieve_many([question], top_k)[0]

    def retrieve_many(self, questions: list[str], top_k: int = 5) -> list[list[Passage]]:
        if not self.store.chunks:
            return [[] for _ in questions]
        return self.passages_for_vectors(self.encoder.encode_queries(questions), top_k)

    def passages_for_vectors(self, query_vectors: np.ndarray, top_k: int = 5) -> list[list[Passage]]:
        if not self.store.chunks:
            return [[] for _ in query_vectors]
        scores, rows = self.store.search(query_vectors, top_k * CANDIDATE_FACTOR)
        return [self._passages(s, r, top_k) for s, r in zip(scores, rows)]

    def _passages(self, scores: np.ndarray, rows: np.ndarray, top_k: int) -> list[Passage]:
        ranked = sorted(
            ((float(s), int(r)) for s, r in zip(scores, rows) if r >= 0),
            key=lambda item: (-item[0], self.store.chunks[item[1]].chunk_id),
        )
        passages = []
        for rank, (score, row) in enumerate(ranked[:top_k], start=1):
            chunk = self.store.chunks[row]
            doc = self.store.documents[chunk.doc_id]
            passages.append(
                Passage(
                    chunk=chunk, rank=rank, score=score, title=doc.title, doc_path=doc.path, short_title=doc.short_title
                )
            )
        return passages
