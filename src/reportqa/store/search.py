"""What searching an index builds from its arrays on first use: BM25, FAISS flat and IVF indexes, the
sentence spans per chunk, the chunks' languages. One ``SearchIndex`` per index version: a build
makes a new version, and whoever searches makes a new ``SearchIndex`` for it.
"""

from __future__ import annotations

import numpy as np

from ..lexical import LexicalIndex
from .data import VECTORS, IndexData

ANN_LISTS = VECTORS  # each vector list gets its approximate index
ANN_PROBES = 32
# a name held by this share of a language's passages, and by this many, is what they share, not what
# tells them apart (phi-1 in 62 of the paper's 230 chunks)
COMMON_SHARE = 0.1
COMMON_LEAST = 10


def build_ivf(vectors: np.ndarray):
    """IVF over inner product with 8-bit scalar quantisation: about 4·√n lists, trained on a sample."""
    import faiss

    n, dim = vectors.shape
    lists = int(min(4096, max(8, 4 * np.sqrt(n))))
    index = faiss.IndexIVFScalarQuantizer(
        faiss.IndexFlatIP(dim), dim, lists, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    sample = np.random.default_rng(0).choice(n, size=min(n, 40 * lists), replace=False)
    index.train(np.ascontiguousarray(vectors[np.sort(sample)], dtype=np.float32))
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    index.nprobe = ANN_PROBES
    return index


class SearchIndex:
    """Search structures over one ``IndexData``, each built on first use."""

    def __init__(self, data: IndexData):
        self.data = data
        self._lexical: LexicalIndex | None = data.lexical
        self._spans: np.ndarray | None = None
        self._lowered: tuple[tuple[float, float], np.ndarray] | None = None
        self._of_language: dict[str, np.ndarray] = {}
        self._holding: dict[tuple[str, str], int] = {}  # (token, language) → passages holding it
        self._flat = data.flat
        self._ann = dict(data.ann)

    def lexical(self) -> LexicalIndex:
        """The BM25 index over the chunks' tokens."""
        if self._lexical is None:
            self._lexical = LexicalIndex(self.data.features.tokens)
        return self._lexical

    def chunk_languages(self) -> np.ndarray:
        """The language code of every chunk, by row (kept for per-question language offsets)."""
        return self.data.languages()

    def telling(self, tokens: list[str], language: str) -> list[str]:
        """``tokens`` but those common in the passages in ``language`` (``COMMON_SHARE``, ``COMMON_LEAST``).
        The counts are kept per token and the language's rows once, as ``ranked_lower`` keeps its
        penalties: a question should not compare a million rows for each of its names."""
        if language not in self._of_language:
            self._of_language[language] = self.chunk_languages() == language
        of_language = self._of_language[language]
        if len(self._holding) > 50_000:  # bounded: a server sees many names
            self._holding.clear()
        for token in set(tokens):
            if (token, language) not in self._holding:
                held = self.lexical().scores([token]) > 0
                self._holding[token, language] = int(np.count_nonzero(of_language & held))
        common = max(COMMON_LEAST, COMMON_SHARE * np.count_nonzero(of_language))
        return [t for t in tokens if self._holding[t, language] < common]

    def ranked_lower(self, reference_penalty: float, code_penalty: float) -> np.ndarray:
        """What each chunk, by row, loses in the fusion: an entry of a reference list or a code listing
        names many things and answers few questions. Kept, since comparing a million kinds on every
        question would cost milliseconds."""
        penalties = (reference_penalty, code_penalty)
        if self._lowered is None or self._lowered[0] != penalties:
            kinds = self.data.kinds()
            self._lowered = (penalties, reference_penalty * (kinds == "reference") + code_penalty * (kinds == "code"))
        return self._lowered[1]

    def sentence_spans(self) -> np.ndarray:
        """``spans[r]:spans[r + 1]`` are the sentence indices of chunk row ``r`` (rows are sorted)."""
        if self._spans is None:
            rows = self.data.features.sentences[:, 0]
            self._spans = np.searchsorted(rows, np.arange(len(self.data.chunks) + 1))
        return self._spans

    def ann_index(self, name: str):
        """An approximate index over ``features.<name>`` for candidate search in large indexes.

        IVF with 8-bit scalar-quantised vectors: it holds a quarter of the float vectors' memory and
        scans ``nprobe`` of its lists; candidates are rescored exactly from the float vectors.
        """
        if name not in self._ann:
            self._ann[name] = build_ivf(getattr(self.data.features, name))
        return self._ann[name]

    def candidate_rows(self, chunk_list: str, sentence_list: str, queries: np.ndarray, k: int) -> list[np.ndarray]:
        """Per query, the chunk rows among the ``k`` nearest chunks and the ``2k`` nearest sentences."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        _, chunk_hits = self.ann_index(chunk_list).search(queries, k)
        _, sentence_hits = self.ann_index(sentence_list).search(queries, 2 * k)
        sentence_rows = self.data.features.sentences[:, 0]
        return [
            np.unique(np.concatenate([c[c >= 0], sentence_rows[s[s >= 0]]])) for c, s in zip(chunk_hits, sentence_hits)
        ]

    def faiss_index(self):
        """FAISS inner-product index over the chunk vectors."""
        if self._flat is None:
            import faiss

            index = faiss.IndexFlatIP(self.data.dim)
            if len(self.data.vectors):
                index.add(np.ascontiguousarray(self.data.vectors, dtype=np.float32))
            self._flat = index
        return self._flat

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` chunk rows per query by e5 cosine alone: (scores, rows), rows −1 where fewer exist."""
        k = max(1, min(k, len(self.data.chunks)))
        return self.faiss_index().search(np.ascontiguousarray(queries, dtype=np.float32), k)
