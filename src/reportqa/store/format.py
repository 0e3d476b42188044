"""The index on disk: a manifest, ``.npy`` arrays, JSON lines of chunks and tokens, BM25's postings and
(for large indexes) FAISS IVF indexes per version directory, switched in atomically through a
``current`` symlink, one writer at a time.

Opening reads no row: vector files are memory-mapped (a small index is scored whole from them) and a
large index's questions read their rows by ``pread`` (``lines.RowFile``); BM25's postings and the IVF
lists are memory-mapped; chunks are parsed when a question reaches them (``lines.JsonLines``). So
opening a million chunks costs what opening a thousand does, and the memory a server holds is what
its questions touch. The second encoder's vectors of the index's Korean terms (``terms.json``,
``term_vectors.npy``, for the English→Korean term expansion) are optional: without them they are
embedded on first use.

Each save writes a complete new version directory and then atomically repoints the ``current``
symlink at it, so a reader (or a crash) only ever sees a whole index. Vectors are normalised, so
inner product is cosine similarity. The manifest records each file's size and sha256: sizes are
checked on every open, checksums by ``verify``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..documents import sha256_file
from ..errors import IndexCorruptError, IndexLockedError, IndexMismatchError, IndexMissingError
from ..lexical import LexicalIndex, korean_terms, term_vectors
from ..records import Chunk, DocumentEntry
from .data import ARRAYS, VECTORS, Features, IndexData
from .lines import JsonLines, RowFile, write_lines
from .search import ANN_LISTS, ANN_PROBES, SearchIndex

FORMAT_VERSION = 7
CURRENT = "current"
# per-row arrays, saved as .npy files and read whole
ROW_ARRAYS = ("chunk_offsets", "token_offsets", "languages", "kinds", "documents_by_row")


@dataclass
class IndexStore(IndexData):
    """An index's content with its on-disk form: ``save`` a new version, ``load`` the current one."""

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

    def save(
        self,
        index_dir: Path,
        ann_above: int | None = None,
        embed_terms: Callable[[list[str]], np.ndarray] | None = None,
    ) -> Path:
        """Write a new version next to the current one and swap it in atomically.

        With more than ``ann_above`` chunks, the approximate indexes for candidate search are built
        and written too, so opening the index does not train them. ``embed_terms`` (the second
        encoder's) embeds the Korean terms new to the index, which are saved with their vectors.
        """
        import faiss

        search = SearchIndex(self)
        index_dir = Path(index_dir)
        index_dir.mkdir(parents=True, exist_ok=True)
        version = Path(tempfile.mkdtemp(prefix=".build-", dir=index_dir))
        _remove_leftovers(index_dir, keep={version.name})
        offsets = {
            "chunk_offsets": write_lines(version / "chunks.jsonl", self.chunks, Chunk.to_dict),
            "token_offsets": write_lines(version / "tokens.jsonl", self.features.tokens, list),
            "languages": self.languages(),
            "kinds": self.kinds(),
            "documents_by_row": self.documents_by_row(),
        }
        _write(
            version / "documents.json",
            json.dumps([asdict(d) for d in self.documents.values()], ensure_ascii=False, indent=1),
        )
        _write(version / "extras.json", json.dumps(self.extras, ensure_ascii=False))
        self.lexical = search.lexical()  # kept, with the IVF indexes below, for the searches that follow
        self.terms, self.term_vectors = _term_table_for(self, embed_terms)
        if self.terms is not None and self.term_vectors is not None:
            _write(version / "terms.json", json.dumps(self.terms, ensure_ascii=False))
            offsets["term_vectors"] = np.asarray(self.term_vectors, dtype=np.float32)
        for name, array in [*((name, getattr(self.features, name)) for name in ARRAYS), *offsets.items()]:
            with open(version / f"{name}.npy", "wb") as f:
                np.save(f, array)
                f.flush()
                os.fsync(f.fileno())
        self.lexical.save(version)
        if ann_above is not None and len(self.chunks) > ann_above:
            for name in ANN_LISTS:
                if getattr(self.features, name).shape[1]:
                    self.ann[name] = search.ann_index(name)
                    faiss.write_index(self.ann[name], str(version / f"ann-{name}.faiss"))
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
        """Open the current version; refuse one built with another model or chunker.

        A build in another process may switch ``current`` and delete the version being read; the
        read then starts again on the new version (a damaged index stays an error).
        """
        index_dir = Path(index_dir)
        for attempt in range(3):
            version = _resolve(index_dir)
            if version is None:
                raise IndexMissingError(f"no index in {index_dir}: run 'reportqa build' first")
            try:
                return cls._load_version(version, model, chunker, aux_model)
            except IndexCorruptError:
                if attempt == 2 or _resolve(index_dir) == version:
                    raise

    @classmethod
    def _load_version(cls, version: Path, model: str | None, chunker: dict | None, aux_model: str | None) -> IndexStore:
        import faiss

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
            documents = {
                d["doc_id"]: DocumentEntry(**_checked_entry(d))
                for d in json.loads((version / "documents.json").read_text(encoding="utf-8"))
            }
            extras = json.loads((version / "extras.json").read_text(encoding="utf-8"))
            if not isinstance(extras, dict):
                raise ValueError("extras.json is not an object")
            arrays = {name: _checked_array(np.load(version / f"{name}.npy", mmap_mode="r"), name) for name in ARRAYS}
            rows = {name: np.load(version / f"{name}.npy") for name in ROW_ARRAYS}
            chunks = JsonLines(version / "chunks.jsonl", rows["chunk_offsets"], _chunk)
            tokens = JsonLines(version / "tokens.jsonl", rows["token_offsets"], _checked_tokens)
            lexical = LexicalIndex.load(version, len(chunks))
            ann = {
                name: faiss.read_index(str(path), faiss.IO_FLAG_MMAP)
                for name in ANN_LISTS
                if (path := version / f"ann-{name}.faiss").exists()
            }
            terms, term_vectors = _term_table(version, manifest.get("aux_dim", 0))
        except Exception as e:  # noqa: BLE001 (any parse failure of a damaged file: one message, one fix)
            raise IndexCorruptError(
                f"index in {version} is damaged ({type(e).__name__}: {str(e)[:80]}): run 'reportqa build --force'"
            ) from e
        n = len(chunks)
        by_row = rows["documents_by_row"]
        consistent = (
            n == len(tokens) == len(arrays["vectors"]) == len(arrays["aux_vectors"])
            and rows["languages"].shape == rows["kinds"].shape == by_row.shape == (n,)
            and rows["languages"].dtype.kind == rows["kinds"].dtype.kind == "U"
            and by_row.dtype == np.int32
            and np.array_equal(
                np.bincount(by_row, minlength=len(documents)) if n and by_row.min() >= 0 else np.zeros(len(documents)),
                [len(d.chunk_ids) for d in documents.values()],
            )
            and arrays["vectors"].shape[1] == arrays["sentence_vectors"].shape[1] == manifest["dim"]
            and len(arrays["sentences"]) == len(arrays["sentence_vectors"]) == len(arrays["aux_sentence_vectors"])
            and arrays["aux_vectors"].shape[1] == arrays["aux_sentence_vectors"].shape[1] == manifest.get("aux_dim", 0)
            and (not len(arrays["sentences"]) or all(0 <= row < n for row in arrays["sentences"][:, 0][[0, -1]]))
        )
        if not consistent:
            raise IndexCorruptError(
                f"index in {version} has {len(arrays['vectors'])} vectors for {n} chunks, or arrays that do not "
                "match them: run 'reportqa build --force'"
            )
        store = cls(
            model=manifest["model"],
            dim=manifest["dim"],
            chunker=manifest["chunker"],
            chunking_rules=manifest.get("chunking_rules", 1),
            aux_model=manifest.get("aux_model", ""),
            aux_dim=manifest.get("aux_dim", 0),
            chunks=chunks,
            features=Features(tokens=tokens, **arrays),
            documents=documents,
            extras=extras,
            lexical=lexical,
            row_languages=rows["languages"],
            row_kinds=rows["kinds"],
            row_documents=by_row,
            row_files={name: RowFile(arrays[name]) for name in VECTORS},
            terms=terms,
            term_vectors=term_vectors,
        )
        for name, ann_index in ann.items():
            ivf = faiss.extract_index_ivf(ann_index)
            ivf.nprobe = ANN_PROBES
            lists = faiss.downcast_InvertedLists(ivf.invlists)
            if hasattr(lists, "prefetch_nthread"):  # memory-mapped lists: no threads started to touch them first
                lists.prefetch_nthread = 0  # (they cost 2.5 ms a search, the search itself 0.9)
            store.ann[name] = ann_index
        return store


def _term_table_for(
    store: IndexStore, embed: Callable[[list[str]], np.ndarray] | None
) -> tuple[list[str] | None, np.ndarray | None]:
    """The Korean term table in line with ``store``'s vocabulary: only new terms are embedded (a large
    corpus's whole vocabulary took seconds on its first English question); without ``embed`` a table
    that no longer matches is dropped, and the terms are embedded on first use."""
    terms = korean_terms(store.lexical.vocabulary()) if store.aux_dim else None
    if terms == store.terms:
        return store.terms, store.term_vectors
    if terms is None or embed is None:
        return None, None
    return terms, term_vectors(terms, embed, store.aux_dim, store.terms, store.term_vectors)


def _term_table(version: Path, aux_dim: int) -> tuple[list[str] | None, np.ndarray | None]:
    """The saved Korean terms and their second-encoder vectors, or (None, None) where none were saved."""
    if not (version / "terms.json").exists():
        return None, None
    terms = json.loads((version / "terms.json").read_text(encoding="utf-8"))
    vectors = np.load(version / "term_vectors.npy", mmap_mode="r")
    if not isinstance(terms, list) or vectors.ndim != 2 or vectors.shape != (len(terms), aux_dim):
        raise ValueError("terms.json does not match term_vectors.npy")
    return terms, vectors


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


def current_version(index_dir: Path) -> Path | None:
    """The version folder ``current`` points at (None without an index)."""
    return _resolve(Path(index_dir))


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
            sums[path.name] = {"size": path.stat().st_size, "sha256": sha256_file(path)}
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


_CHUNK_TEXT = ("chunk_id", "doc_id", "text", "section", "lang", "kind", "caption", "source_note", "context")


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


def _chunk(data: object) -> Chunk:
    return Chunk.from_dict(_checked_chunk(data))


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
