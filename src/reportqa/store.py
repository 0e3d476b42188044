"""The on-disk index: FAISS vectors + chunk store + document table + manifest.

Each save writes a complete new version directory and then atomically repoints the ``current``
symlink at it, so a reader (or a crash) only ever sees a whole index. Vectors are normalised, so
inner product is cosine similarity.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .errors import IndexCorruptError, IndexLockedError, IndexMismatchError, IndexMissingError
from .records import Chunk

FORMAT_VERSION = 5
CURRENT = "current"


@dataclass
class DocumentEntry:
    """What the index knows about one document."""

    doc_id: str
    path: str
    title: str
    lang: str
    pages: int
    paged: bool
    chunk_ids: list[str]
    added: str
    meta: dict = field(default_factory=dict)

    @property
    def short_title(self) -> str:
        return self.meta.get("short") or self.title


@dataclass
class Features:
    """Everything indexed for a run of chunks, row-aligned with them.

    ``sentences`` holds (chunk row, start, end) spans into each chunk's text; the sentence arrays
    are aligned with it. ``aux_*`` are the second encoder's vectors (empty when it is off).
    """

    vectors: np.ndarray
    tokens: list[list[str]]
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
        pieces = {name: [getattr(p, name) for p in parts] for name in _VECTORS}
        parts.clear()
        joined = {}
        for name in _VECTORS:
            joined[name] = np.vstack(pieces.pop(name))
            return_free_memory()
        return Features(tokens=tokens, sentences=np.vstack(sentences).astype(np.int32), **joined)


def return_free_memory() -> None:
    """Hand freed heap pages back to the system (glibc only). A document's arrays are small enough
    to live in the heap, so without this their freed pages stay in the process and the joined
    arrays, mapped afresh, come on top of them."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


_VECTORS = ("vectors", "sentence_vectors", "aux_vectors", "aux_sentence_vectors")
_ARRAYS = ("sentences", "sentence_vectors", "aux_vectors", "aux_sentence_vectors")
ANN_LISTS = _VECTORS  # each vector list gets its approximate index
ANN_PROBES = 32


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


@dataclass
class IndexStore:
    """Chunks, their features (row i ↔ chunk i) and the documents they came from."""

    model: str
    dim: int
    chunker: dict
    aux_model: str = ""
    aux_dim: int = 0
    chunking_rules: int = 1  # chunking.RULES_VERSION when the chunks were made
    chunks: list[Chunk] = field(default_factory=list)
    features: Features | None = None
    documents: dict[str, DocumentEntry] = field(default_factory=dict)
    extras: dict = field(default_factory=dict)
    _faiss: object = field(default=None, repr=False)
    _lexical: object = field(default=None, repr=False)
    _translator: object = field(default=None, repr=False)
    _citations: object = field(default=None, repr=False)
    _languages: np.ndarray | None = field(default=None, repr=False)
    _spans: np.ndarray | None = field(default=None, repr=False)
    _ann: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.features is None:
            self.features = Features.empty(self.dim, self.aux_dim)

    @property
    def vectors(self) -> np.ndarray:
        return self.features.vectors

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
        for entry, chunks, _ in added:
            entry.chunk_ids = [c.chunk_id for c in chunks]
            self.documents[entry.doc_id] = entry
            self.chunks.extend(chunks)
        parts = [self.features, *(features for _, _, features in added)]
        added.clear()
        self.features = Features.join(parts)
        self._forget_derived()

    def remove_document(self, doc_id: str) -> None:
        self.remove_documents([doc_id])

    def remove_documents(self, doc_ids: list[str]) -> None:
        """Drop documents (unknown ids are ignored); the arrays shrink once for all of them."""
        gone = {doc_id for doc_id in doc_ids if doc_id in self.documents}
        if not gone:
            return
        keep = np.array([c.doc_id not in gone for c in self.chunks], dtype=bool)
        self.chunks = [c for c, k in zip(self.chunks, keep) if k]
        self.features = self.features.select(keep)
        for doc_id in gone:
            del self.documents[doc_id]
            self.extras.get("citations", {}).pop(doc_id, None)
        self._forget_derived()

    def _forget_derived(self) -> None:
        """Drop what is built from the chunks on first use; it is rebuilt for the new rows."""
        self._faiss = self._lexical = self._translator = self._citations = self._languages = self._spans = None
        self._ann = {}

    def sentences_of(self, row: int) -> list[tuple[int, int, np.ndarray]]:
        """(start, end, e5 vector) of each indexed sentence of chunk ``row``."""
        rows = self.features.sentences[:, 0]
        lo, hi = np.searchsorted(rows, row, "left"), np.searchsorted(rows, row, "right")
        return [
            (int(a), int(b), self.features.sentence_vectors[i])
            for i, (_, a, b) in zip(range(lo, hi), self.features.sentences[lo:hi])
        ]

    def chunk_languages(self) -> np.ndarray:
        """The language code of every chunk, by row (kept for per-question language offsets)."""
        if self._languages is None:
            self._languages = np.array([c.lang for c in self.chunks])
        return self._languages

    def sentence_spans(self) -> np.ndarray:
        """``spans[r]:spans[r + 1]`` are the sentence indices of chunk row ``r`` (rows are sorted)."""
        if self._spans is None:
            self._spans = np.searchsorted(self.features.sentences[:, 0], np.arange(len(self.chunks) + 1))
        return self._spans

    def ann_index(self, name: str):
        """An approximate index over ``features.<name>`` for candidate search in large indexes (built on first use).

        IVF with 8-bit scalar-quantised vectors: it holds a quarter of the float vectors' memory and
        scans ``nprobe`` of its lists; candidates are rescored exactly from the float vectors.
        """
        if name not in self._ann:
            self._ann[name] = build_ivf(getattr(self.features, name))
        return self._ann[name]

    def candidate_rows(self, chunk_list: str, sentence_list: str, queries: np.ndarray, k: int) -> list[np.ndarray]:
        """Per query, the chunk rows among the ``k`` nearest chunks and the ``2k`` nearest sentences."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        _, chunk_hits = self.ann_index(chunk_list).search(queries, k)
        _, sentence_hits = self.ann_index(sentence_list).search(queries, 2 * k)
        sentence_rows = self.features.sentences[:, 0]
        return [
            np.unique(np.concatenate([c[c >= 0], sentence_rows[s[s >= 0]]])) for c, s in zip(chunk_hits, sentence_hits)
        ]

    def translator(self, encoder):
        """English → Korean term expansion over this index's vocabulary (built on first use)."""
        if self._translator is None:
            from .lexical import TermTranslator

            self._translator = TermTranslator([t for tokens in self.features.tokens for t in tokens], encoder)
        return self._translator

    def citation_index(self):
        """Footnotes resolved against the documents of this index (built on first use)."""
        if self._citations is None:
            from .citations import CitationIndex

            self._citations = CitationIndex(self)
        return self._citations

    def lexical(self):
        """The BM25 index over the chunks' tokens (built on first use)."""
        if self._lexical is None:
            from .lexical import LexicalIndex

            self._lexical = LexicalIndex(self.features.tokens)
        return self._lexical

    # --- searching -----------------------------------------------------------------------
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` chunk rows per query: (scores, rows), rows −1 where fewer exist."""
        k = max(1, min(k, len(self.chunks)))
        return self.faiss_index().search(np.ascontiguousarray(queries, dtype=np.float32), k)

    def faiss_index(self):
        if self._faiss is None:
            import faiss

            index = faiss.IndexFlatIP(self.dim)
            if len(self.vectors):
                index.add(self.vectors)
            self._faiss = index
        return self._faiss

    def manifest(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "model": self.model,
            "dim": self.dim,
            "aux_model": self.aux_model,
            "aux_dim": self.aux_dim,
            "chunker": self.chunker,
            "chunking_rules": self.chunking_rules,
            "chunks": len(self.chunks),
            "documents": {
                d.doc_id: {"path": d.path, "sha256": d.doc_id, "chunks": len(d.chunk_ids)}
                for d in self.documents.values()
            },
            "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }

    # --- persistence ---------------------------------------------------------------------
    def save(self, index_dir: Path, ann_above: int | None = None) -> Path:
        """Write a new version next to the current one and swap it in atomically.

        With more than ``ann_above`` chunks, the approximate indexes for candidate search are built
        and written too, so opening the index does not train them.
        """
        import faiss

        index_dir = Path(index_dir)
        index_dir.mkdir(parents=True, exist_ok=True)
        version = Path(tempfile.mkdtemp(prefix=".build-", dir=index_dir))
        _remove_leftovers(index_dir, keep={version.name})
        faiss.write_index(self.faiss_index(), str(version / "vectors.faiss"))
        with open(version / "vectors.faiss", "rb+") as f:
            os.fsync(f.fileno())
        _write(version / "chunks.jsonl", (json.dumps(c.to_dict(), ensure_ascii=False) + "\n" for c in self.chunks))
        _write(
            version / "documents.json",
            json.dumps([asdict(d) for d in self.documents.values()], ensure_ascii=False, indent=1),
        )
        _write(version / "extras.json", json.dumps(self.extras, ensure_ascii=False))
        _write(version / "tokens.jsonl", (json.dumps(t, ensure_ascii=False) + "\n" for t in self.features.tokens))
        for name in _ARRAYS:
            with open(version / f"{name}.npy", "wb") as f:
                np.save(f, getattr(self.features, name))
                f.flush()
                os.fsync(f.fileno())
        if ann_above is not None and len(self.chunks) > ann_above:
            for name in ANN_LISTS:
                if getattr(self.features, name).shape[1]:
                    faiss.write_index(self.ann_index(name), str(version / f"ann-{name}.faiss"))
        manifest = {**self.manifest(), "files": file_checksums(version)}
        _write(version / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
        _fsync_dir(version)
        final = index_dir / f"v-{time.strftime('%Y%m%d-%H%M%S')}-{version.name[-6:]}"
        os.rename(version, final)
        link = index_dir / f".current-{os.getpid()}"
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink(final.name, link)
        previous = _resolve(index_dir)
        os.replace(link, index_dir / CURRENT)
        _fsync_dir(index_dir)
        if previous is not None and previous != final:
            shutil.rmtree(previous, ignore_errors=True)
        return final

    @classmethod
    def load(
        cls, index_dir: Path, model: str | None = None, chunker: dict | None = None, aux_model: str | None = None
    ) -> IndexStore:
        """Open the current version; refuse one built with another model or chunker."""
        import faiss

        index_dir = Path(index_dir)
        version = _resolve(index_dir)
        if version is None:
            raise IndexMissingError(f"no index in {index_dir}: run 'reportqa build' first")
        manifest = _checked_manifest(version)
        _check_sizes(version, manifest)
        if manifest["format_version"] != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index format {manifest['format_version']} is not {FORMAT_VERSION}: run 'reportqa build --force'"
            )
        if model is not None and manifest["model"] != model:
            raise IndexMismatchError(
                f"index was built with model '{manifest['model']}', not '{model}': "
                f"rebuild with 'reportqa build --force --model {model}' or pass --model {manifest['model']}"
            )
        if aux_model is not None and manifest.get("aux_model", "") != aux_model:
            raise IndexMismatchError(
                f"index was built with second encoder '{manifest.get('aux_model') or 'none'}', not "
                f"'{aux_model or 'none'}': run 'reportqa build --force'"
            )
        if chunker is not None and manifest["chunker"] != chunker:
            raise IndexMismatchError(
                f"index was built with chunker settings {manifest['chunker']}, not {chunker}: "
                "run 'reportqa build --force'"
            )
        try:
            chunks = [
                Chunk.from_dict(_checked_chunk(json.loads(line)))
                for line in (version / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
                if line
            ]
            documents = {
                d["doc_id"]: DocumentEntry(**_checked_entry(d))
                for d in json.loads((version / "documents.json").read_text(encoding="utf-8"))
            }
            extras = json.loads((version / "extras.json").read_text(encoding="utf-8"))
            tokens = [
                _checked_tokens(json.loads(line))
                for line in (version / "tokens.jsonl").read_text(encoding="utf-8").splitlines()
                if line
            ]
            arrays = {name: _checked_array(np.load(version / f"{name}.npy"), name) for name in _ARRAYS}
            index = faiss.read_index(str(version / "vectors.faiss"))
            ann = {
                name: faiss.read_index(str(path))
                for name in ANN_LISTS
                if (path := version / f"ann-{name}.faiss").exists()
            }
            if not isinstance(extras, dict):
                raise ValueError("extras.json is not an object")
        except Exception as e:  # noqa: BLE001 (any parse failure of a damaged file: one message, one fix)
            raise IndexCorruptError(
                f"index in {version} is damaged ({type(e).__name__}: {str(e)[:80]}): run 'reportqa build --force'"
            ) from e
        consistent = (
            index.ntotal == len(chunks) == len(tokens) == len(arrays["aux_vectors"])
            and index.d == manifest["dim"]
            and len(arrays["sentences"]) == len(arrays["sentence_vectors"]) == len(arrays["aux_sentence_vectors"])
            and arrays["aux_vectors"].shape[1] == arrays["aux_sentence_vectors"].shape[1] == manifest.get("aux_dim", 0)
            and arrays["sentence_vectors"].shape[1] == manifest["dim"]
            and all(0 <= row < len(chunks) for row in arrays["sentences"][:, 0][[0, -1]] if len(arrays["sentences"]))
            and all(chunk.doc_id in documents for chunk in chunks)
        )
        if not consistent:
            raise IndexCorruptError(
                f"index in {version} has {index.ntotal} vectors for {len(chunks)} chunks, or arrays that do not "
                "match them: run 'reportqa build --force'"
            )
        vectors = index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, index.d), np.float32)
        store = cls(
            model=manifest["model"],
            dim=manifest["dim"],
            chunker=manifest["chunker"],
            chunking_rules=manifest.get("chunking_rules", 1),
            aux_model=manifest.get("aux_model", ""),
            aux_dim=manifest.get("aux_dim", 0),
            chunks=chunks,
            features=Features(vectors=vectors, tokens=tokens, **arrays),
            documents=documents,
            extras=extras,
        )
        store._faiss = index
        for name, ann_index in ann.items():
            faiss.extract_index_ivf(ann_index).nprobe = ANN_PROBES
            store._ann[name] = ann_index
        return store


class BuildLock:
    """One writer per index: an exclusive ``flock`` on ``index_dir/.lock``.

    The kernel drops the lock when its process dies, so a build killed with SIGKILL never leaves
    a stale lock behind; the file only records who holds it, for the error message.
    """

    def __init__(self, index_dir: Path):
        self.path = Path(index_dir) / ".lock"
        self._fd: int | None = None

    def __enter__(self) -> BuildLock:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise IndexLockedError(
                f"another build is updating {self.path.parent} (pid {holder}); wait for it to finish"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _remove_leftovers(index_dir: Path, keep: set[str]) -> None:
    """Drop versions and half-written builds that ``current`` does not point at (left by a crash).

    Only called while holding the build lock, so nothing else is writing them.
    """
    current = _resolve(index_dir)
    for entry in index_dir.iterdir():
        stale = entry.name.startswith((".build-", "v-")) or entry.name.startswith(".current-")
        if stale and entry.name not in keep and (current is None or entry.name != current.name):
            if entry.is_symlink() or entry.is_file():
                entry.unlink()
            else:
                shutil.rmtree(entry, ignore_errors=True)


def read_manifest(index_dir: Path) -> dict | None:
    """The current version's manifest, or None when there is none (or it is not a JSON object)."""
    version = _resolve(Path(index_dir))
    if version is None:
        return None
    try:
        manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return manifest if isinstance(manifest, dict) else None


def file_checksums(version: Path) -> dict[str, dict]:
    """Size and sha256 of every file of an index version but the manifest, which records them."""
    sums = {}
    for path in sorted(version.iterdir()):
        if path.is_file() and path.name != "manifest.json":
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            sums[path.name] = {"size": path.stat().st_size, "sha256": digest.hexdigest()}
    return sums


def verify(index_dir: Path) -> tuple[Path, list[str]]:
    """(the current version, one line per file whose size or sha256 differs from the manifest's record).

    Raises ``IndexMissingError`` without an index and ``IndexCorruptError`` when the manifest cannot
    be read or records no checksums.
    """
    version = _resolve(Path(index_dir))
    if version is None:
        raise IndexMissingError(f"no index in {index_dir}: run 'reportqa build' first")
    manifest = _checked_manifest(version)
    recorded = manifest.get("files")
    if not isinstance(recorded, dict):
        raise IndexCorruptError(
            f"index in {version} records no checksums (an older format): run 'reportqa build --force'"
        )
    problems = []
    actual = file_checksums(version)
    for name, expected in sorted(recorded.items()):
        found = actual.get(name)
        if found is None:
            problems.append(f"{name}: missing")
        elif not isinstance(expected, dict) or found != expected:
            problems.append(f"{name}: {found['size']} bytes, sha256 {found['sha256'][:12]}… differs from the manifest")
    problems += [f"{name}: not recorded in the manifest" for name in sorted(set(actual) - set(recorded))]
    return version, problems


_MANIFEST_FIELDS = {"format_version": int, "model": str, "dim": int, "chunker": dict}


def _checked_manifest(version: Path) -> dict:
    try:
        manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as e:
        raise IndexCorruptError(f"index manifest in {version} is unreadable: run 'reportqa build --force'") from e
    if not isinstance(manifest, dict):
        raise IndexCorruptError(f"index manifest in {version} is not a JSON object: run 'reportqa build --force'")
    for key, kind in _MANIFEST_FIELDS.items():
        if not isinstance(manifest.get(key), kind) or isinstance(manifest.get(key), bool):
            raise IndexCorruptError(f"index manifest in {version} lacks a valid '{key}': run 'reportqa build --force'")
    if not isinstance(manifest.get("aux_model", ""), str) or not isinstance(manifest.get("aux_dim", 0), int):
        raise IndexCorruptError(
            f"index manifest in {version} has an invalid second encoder: run 'reportqa build --force'"
        )
    return manifest


def _check_sizes(version: Path, manifest: dict) -> None:
    """Cheap on every open: each recorded file is there with its recorded size (``verify`` reads them all)."""
    recorded = manifest.get("files")
    if not isinstance(recorded, dict):
        return  # saved before checksums were recorded
    for name, expected in recorded.items():
        path = version / str(name)
        size = path.stat().st_size if path.is_file() else None
        recorded_size = expected.get("size") if isinstance(expected, dict) else None
        if size != recorded_size:
            found = "missing" if size is None else f"damaged ({size} bytes, not {recorded_size})"
            raise IndexCorruptError(f"index file {path.name} in {version} is {found}: run 'reportqa build --force'")


_CHUNK_TEXT = ("chunk_id", "doc_id", "text", "section", "lang", "kind", "caption", "source_note")


def _checked_chunk(data: object) -> dict:
    if not isinstance(data, dict):
        raise ValueError("a chunk line is not an object")
    if not all(isinstance(data.get(key, ""), str) for key in _CHUNK_TEXT):
        raise ValueError("a chunk has a non-text field")
    if not all(type(data.get(key)) is int for key in ("start", "end")):
        raise ValueError("a chunk's span is not two whole numbers")
    if data.get("page") is not None and type(data.get("page")) is not int:
        raise ValueError("a chunk's page is not a whole number")
    footnotes = data.get("footnotes", [])
    if not isinstance(footnotes, list) or not all(isinstance(f, str) for f in footnotes):
        raise ValueError("a chunk's footnotes are not a list of text")
    return data


def _checked_entry(data: object) -> dict:
    if not isinstance(data, dict):
        raise ValueError("a document entry is not an object")
    if not all(isinstance(data.get(key), str) for key in ("doc_id", "path", "title", "lang", "added")):
        raise ValueError("a document entry has a non-text field")
    if not isinstance(data.get("chunk_ids"), list) or not isinstance(data.get("meta", {}), dict):
        raise ValueError("a document entry has invalid chunk ids or metadata")
    return data


def _checked_tokens(data: object) -> list[str]:
    if not isinstance(data, list) or not all(isinstance(token, str) for token in data):
        raise ValueError("a tokens line is not a list of text")
    return data


def _checked_array(array: np.ndarray, name: str) -> np.ndarray:
    expected = np.int32 if name == "sentences" else np.float32
    if array.dtype != expected or array.ndim != 2 or (name == "sentences" and array.shape[1] != 3):
        raise ValueError(f"{name}.npy has shape {array.shape} and type {array.dtype}")
    return array


def _resolve(index_dir: Path) -> Path | None:
    link = index_dir / CURRENT
    if not link.is_symlink():
        return None
    target = index_dir / os.readlink(link)
    return target if target.is_dir() else None


def _write(path: Path, text: str | Iterable[str]) -> None:
    """Write ``text`` (or its pieces, one after another: a 100k-chunk index's lines joined into one
    string would be copied three times over in memory) and flush it to disk."""
    with open(path, "w", encoding="utf-8") as f:
        if isinstance(text, str):
            f.write(text)
        else:
            f.writelines(text)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
