"""An index's content in memory: chunks, their features (row i ↔ chunk i) and the documents they came
from, with the edits a build makes. What searching builds from it lives in ``search``; how it is
written to disk, in ``format``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..machine import return_free_memory
from ..records import Chunk, DocumentEntry

VECTORS = ("vectors", "sentence_vectors", "aux_vectors", "aux_sentence_vectors")
ARRAYS = ("sentences", *VECTORS)  # saved as .npy files, memory-mapped when opened


@dataclass
class Features:
    """Everything indexed for a run of chunks, row-aligned with them.

    ``sentences`` holds (chunk row, start, end) spans into each chunk's text; the sentence arrays
    are aligned with it. ``aux_*`` are the second encoder's vectors (empty when it is off).
    """

    vectors: np.ndarray
    tokens: Sequence[list[str]]  # a list, or the rows of the index file read on demand
    sentences: np.ndarray
    sentence_vectors: np.ndarray
    aux_vectors: np.ndarray
    aux_sentence_vectors: np.ndarray

    @classmethod
    def empty(cls, dim: int, aux_dim: int) -> Features:
        return cls(
            np.zeros((0, dim), np.float32),
            [],
            np.zeros((0, 3), np.int32),
            np.zeros((0, dim), np.float32),
            np.zeros((0, aux_dim), np.float32),
            np.zeros((0, aux_dim), np.float32),
        )

    def select(self, keep: np.ndarray) -> Features:
        """The rows where ``keep`` is true, sentence rows renumbered to match."""
        new_row = np.cumsum(keep) - 1
        sentence_keep = keep[self.sentences[:, 0]] if len(self.sentences) else np.zeros(0, bool)
        sentences = self.sentences[sentence_keep].copy()
        sentences[:, 0] = new_row[sentences[:, 0]]
        return Features(
            self.vectors[keep],
            [t for t, k in zip(self.tokens, keep) if k],
            sentences,
            self.sentence_vectors[sentence_keep],
            self.aux_vectors[keep],
            self.aux_sentence_vectors[sentence_keep],
        )

    def extend(self, *others: Features) -> Features:
        """These features followed by ``others``', each array concatenated once."""
        return Features.join([self, *others])

    @classmethod
    def join(cls, parts: list[Features]) -> Features:
        """``parts`` one after another. ``parts`` is emptied and the arrays are joined one kind at a
        time, so where nothing else holds them each kind's pieces are let go as soon as it is joined:
        at 100k chunks the pieces and the joined arrays are a gigabyte each."""
        offsets = np.cumsum([0, *(len(p.vectors) for p in parts[:-1])])
        sentences = [p.sentences + np.array([offset, 0, 0], np.int32) for p, offset in zip(parts, offsets)]
        tokens = [tokens for p in parts for tokens in p.tokens]
        pieces = {name: [getattr(p, name) for p in parts] for name in VECTORS}
        parts.clear()
        joined = {}
        for name in VECTORS:
            joined[name] = np.vstack(pieces.pop(name))
            return_free_memory()
        return Features(tokens=tokens, sentences=np.vstack(sentences).astype(np.int32), **joined)


@dataclass
class IndexData:
    """Chunks, their features (row i ↔ chunk i) and the documents they came from.

    ``flat`` and ``ann`` hold the FAISS indexes read from disk with the arrays (``search`` uses them
    rather than building its own); an edit drops them, as they no longer match the rows.
    """

    model: str
    dim: int
    chunker: dict
    aux_model: str = ""
    aux_dim: int = 0
    chunking_rules: int = 1  # chunking.RULES_VERSION when the chunks were made
    chunks: Sequence[Chunk] = field(default_factory=list)  # a list, or ``JsonLines`` of the index file
    features: Features | None = None
    documents: dict[str, DocumentEntry] = field(default_factory=dict)
    extras: dict = field(default_factory=dict)
    flat: object = field(default=None, repr=False)
    ann: dict = field(default_factory=dict, repr=False)
    lexical: object = field(default=None, repr=False)  # the BM25 index read from disk
    row_languages: np.ndarray | None = field(default=None, repr=False)
    row_documents: np.ndarray | None = field(default=None, repr=False)  # positions in ``documents``
    row_kinds: np.ndarray | None = field(default=None, repr=False)
    # the second encoder's vectors of the Korean terms of the chunks' tokens (``lexical.korean_terms``),
    # for the English→Korean term expansion; optional: without them the terms are embedded on first use
    terms: list[str] | None = field(default=None, repr=False)
    term_vectors: np.ndarray | None = field(default=None, repr=False)
    row_files: dict = field(default_factory=dict, repr=False)  # vector name → ``RowFile`` of the saved matrix

    def __post_init__(self) -> None:
        if self.features is None:
            self.features = Features.empty(self.dim, self.aux_dim)

    @property
    def vectors(self) -> np.ndarray:
        return self.features.vectors

    def take(self, name: str, rows: np.ndarray) -> np.ndarray:
        """Rows of one vector matrix (``VECTORS``): read from its file when the index came from disk."""
        row_file = self.row_files.get(name)
        return row_file.take(rows) if row_file is not None else getattr(self.features, name)[rows]

    # --- per-row facts, read from disk with the index (parsing a million chunks for them would not do)
    def languages(self) -> np.ndarray:
        """The language code of every chunk, by row."""
        if self.row_languages is None:
            self.row_languages = np.array([c.lang for c in self.chunks], dtype="U8")
        return self.row_languages

    def kinds(self) -> np.ndarray:
        """The kind of every chunk ("text", "table", "reference" …), by row."""
        if self.row_kinds is None:
            self.row_kinds = np.array([c.kind for c in self.chunks], dtype="U10")
        return self.row_kinds

    def documents_by_row(self) -> np.ndarray:
        """Each chunk's document as its position in ``documents``."""
        if self.row_documents is None:
            position = {doc_id: i for i, doc_id in enumerate(self.documents)}
            self.row_documents = np.array([position[c.doc_id] for c in self.chunks], dtype=np.int32)
        return self.row_documents

    def rows_of_documents(self) -> dict[str, np.ndarray]:
        """doc_id → its chunks' rows, in order."""
        by_row = self.documents_by_row()
        order = np.argsort(by_row, kind="stable")
        bounds = np.searchsorted(by_row[order], np.arange(len(self.documents) + 1))
        return {doc_id: order[bounds[i] : bounds[i + 1]] for i, doc_id in enumerate(self.documents)}

    def row_of(self, chunk_id: str) -> int | None:
        """The row of a chunk, from the documents' chunk lists (no chunk is parsed)."""
        for position, entry in enumerate(self.documents.values()):
            if chunk_id in entry.chunk_ids:
                rows = np.flatnonzero(self.documents_by_row() == position)
                index = entry.chunk_ids.index(chunk_id)
                return int(rows[index]) if index < len(rows) else None
        return None

    # --- editing -------------------------------------------------------------------------
    def add_document(self, entry: DocumentEntry, chunks: list[Chunk], features: Features) -> None:
        self.add_documents([(entry, chunks, features)])

    def add_documents(self, added: list[tuple[DocumentEntry, list[Chunk], Features]]) -> None:
        """Append documents (replacing any of the same id); the arrays grow once for all of them,
        where growing them per document would copy the whole index once per document.

        ``added`` is emptied: a document's arrays are let go once they are joined to the index's.
        """
        if len({entry.doc_id for entry, _, _ in added}) != len(added):
            raise ValueError("a document added twice")
        for _, chunks, features in added:
            if len(chunks) != len(features.vectors) or len(chunks) != len(features.tokens):
                raise ValueError("one vector and one token list per chunk")
        self.remove_documents([entry.doc_id for entry, _, _ in added])
        self._edited()
        for entry, chunks, _ in added:
            entry.chunk_ids = [c.chunk_id for c in chunks]
            self.documents[entry.doc_id] = entry
            self.chunks.extend(chunks)
        parts = [self.features, *(features for _, _, features in added)]
        added.clear()
        self.features = Features.join(parts)

    def remove_document(self, doc_id: str) -> None:
        self.remove_documents([doc_id])

    def remove_documents(self, doc_ids: list[str]) -> None:
        """Drop documents (unknown ids are ignored); the arrays shrink once for all of them."""
        gone = {doc_id for doc_id in doc_ids if doc_id in self.documents}
        if not gone:
            return
        positions = [i for i, doc_id in enumerate(self.documents) if doc_id in gone]
        keep = ~np.isin(self.documents_by_row(), positions)
        self._edited()
        self.chunks = [c for c, k in zip(self.chunks, keep) if k]
        self.features = self.features.select(keep)
        for doc_id in gone:
            del self.documents[doc_id]
            self.extras.get("citations", {}).pop(doc_id, None)

    def _edited(self) -> None:
        """Rows are about to change: chunks become a plain list and what was read for the old rows goes."""
        if not isinstance(self.chunks, list):
            self.chunks = list(self.chunks)
        if not isinstance(self.features.tokens, list):
            self.features.tokens = list(self.features.tokens)
        self.flat, self.ann, self.lexical, self.row_files = None, {}, None, {}
        self.row_languages = self.row_documents = self.row_kinds = None

    def sentences_of(self, row: int, matrix: str = "sentence_vectors") -> list[tuple[int, int, np.ndarray]]:
        """(start, end, vector) of each indexed sentence of chunk ``row``: e5's, or the second encoder's
        with ``matrix="aux_sentence_vectors"``."""
        rows = self.features.sentences[:, 0]
        lo, hi = np.searchsorted(rows, row, "left"), np.searchsorted(rows, row, "right")
        vectors = self.take(matrix, np.arange(lo, hi))
        return [(int(a), int(b), vector) for vector, (_, a, b) in zip(vectors, self.features.sentences[lo:hi])]
