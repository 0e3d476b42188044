import os

import numpy as np
import pytest

from reportqa.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from reportqa.records import Chunk
from reportqa.store import DocumentEntry, IndexStore, read_manifest


def _store(n=3, dim=8, doc="d1"):
    store = IndexStore(model="m", dim=dim, chunker={"chunk_size": 1})
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = [Chunk(f"{doc}-c{i}", doc, f"text {i}", "S", None, 0, 6, "en") for i in range(n)]
    entry = DocumentEntry(doc, f"{doc}.txt", "Title", "en", 1, False, [], "2026-01-01", {"short": "T"})
    store.add_document(entry, chunks, vectors)
    return store, vectors


def test_save_load_round_trip(tmp_path):
    store, vectors = _store()
    store.save(tmp_path)
    loaded = IndexStore.load(tmp_path, model="m", chunker={"chunk_size": 1})
    assert loaded.chunks == store.chunks
    assert np.allclose(loaded.vectors, vectors)
    assert loaded.documents["d1"].short_title == "T"
    scores, rows = loaded.search(vectors[1:2], 1)
    assert rows[0][0] == 1 and scores[0][0] == pytest.approx(1.0, abs=1e-5)
    manifest = read_manifest(tmp_path)
    assert manifest["model"] == "m" and manifest["dim"] == 8 and manifest["documents"]["d1"]["chunks"] == 3


def test_save_swaps_versions_atomically(tmp_path):
    store, _ = _store()
    first = store.save(tmp_path)
    second = store.save(tmp_path)
    assert not first.exists() and second.exists()
    assert os.readlink(tmp_path / "current") == second.name
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".build-")] == []


def test_remove_document_drops_its_rows(tmp_path):
    store, _ = _store()
    other, _ = _store(2, doc="d2")
    store.add_document(other.documents["d2"], other.chunks, other.vectors)
    store.remove_document("d1")
    assert [c.doc_id for c in store.chunks] == ["d2", "d2"]
    assert store.vectors.shape == (2, 8) and store.faiss_index().ntotal == 2


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(IndexMissingError, match="reportqa build"):
        IndexStore.load(tmp_path / "nothing")


def test_other_model_is_refused_with_the_fix(tmp_path):
    store, _ = _store()
    store.save(tmp_path)
    with pytest.raises(IndexMismatchError, match="--force"):
        IndexStore.load(tmp_path, model="another-model")
    with pytest.raises(IndexMismatchError, match="chunker"):
        IndexStore.load(tmp_path, model="m", chunker={"chunk_size": 2})


@pytest.mark.parametrize("damage", ["truncate_faiss", "drop_chunks"])
def test_damaged_index_is_detected(tmp_path, damage):
    store, _ = _store()
    version = store.save(tmp_path)
    if damage == "truncate_faiss":
        data = (version / "vectors.faiss").read_bytes()
        (version / "vectors.faiss").write_bytes(data[: len(data) // 2])
    else:
        (version / "chunks.jsonl").unlink()
    with pytest.raises(IndexCorruptError, match="build --force"):
        IndexStore.load(tmp_path)
