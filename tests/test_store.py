import json
import os

import numpy as np
import pytest

from reportqa.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from reportqa.records import Chunk, DocumentEntry
from reportqa.store import Features, IndexStore, SearchIndex, file_checksums, read_manifest, verify


def _unit(rng, rows, dim):
    v = rng.normal(size=(rows, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _features(n, dim, aux_dim=4, seed=0):
    rng = np.random.default_rng(seed)
    sentences = np.array([(i, 0, 4) for i in range(n)] + [(i, 5, 6) for i in range(n)], dtype=np.int32)
    sentences = sentences[np.argsort(sentences[:, 0], kind="stable")]
    return Features(
        _unit(rng, n, dim),
        [["text", str(i)] for i in range(n)],
        sentences,
        _unit(rng, 2 * n, dim),
        _unit(rng, n, aux_dim),
        _unit(rng, 2 * n, aux_dim),
    )


def _store(n=3, dim=8, doc="d1", seed=0):
    store = IndexStore(model="m", dim=dim, chunker={"chunk_size": 1}, aux_model="aux", aux_dim=4)
    features = _features(n, dim, seed=seed)
    chunks = [Chunk(f"{doc}-c{i}", doc, f"text {i}", "S", None, 0, 6, "en") for i in range(n)]
    entry = DocumentEntry(doc, f"{doc}.txt", "Title", "en", 1, False, [], "2026-01-01", {"short": "T"})
    store.add_document(entry, chunks, features)
    return store, features.vectors


def test_save_load_round_trip(tmp_path):
    store, vectors = _store()
    store.save(tmp_path)
    loaded = IndexStore.load(tmp_path, model="m", chunker={"chunk_size": 1})
    assert list(loaded.chunks) == store.chunks and loaded.chunks[-1] == store.chunks[-1]
    assert np.allclose(loaded.vectors, vectors)
    assert loaded.documents["d1"].short_title == "T"
    assert list(loaded.features.tokens) == store.features.tokens
    assert np.array_equal(loaded.features.sentences, store.features.sentences)
    assert np.allclose(loaded.features.aux_sentence_vectors, store.features.aux_sentence_vectors)
    assert [(a, b) for a, b, _ in loaded.sentences_of(2)] == [(0, 4), (5, 6)]
    scores, rows = SearchIndex(loaded).search(vectors[1:2], 1)
    assert rows[0][0] == 1 and scores[0][0] == pytest.approx(1.0, abs=1e-5)
    manifest = read_manifest(tmp_path)
    assert manifest["model"] == "m" and manifest["dim"] == 8 and manifest["documents"]["d1"]["chunks"] == 3


def test_each_rows_kind_is_saved_and_read_without_parsing_a_chunk(tmp_path):
    from dataclasses import replace

    store, _ = _store()
    store.chunks[1] = replace(store.chunks[1], kind="reference")
    store.save(tmp_path)
    loaded = IndexStore.load(tmp_path, model="m", chunker={"chunk_size": 1})
    assert loaded.row_kinds is not None  # read from its file on open
    assert loaded.kinds().tolist() == ["text", "reference", "text"]


def test_the_korean_term_table_is_saved_with_the_index_and_checked_on_open(tmp_path):
    store, _ = _store()
    store.features.tokens = [["반도체", "text"], ["중국", "0"], ["text"]]
    store.save(tmp_path / "without")  # no encoder given: no table (the terms are embedded on first use)
    assert IndexStore.load(tmp_path / "without").terms is None
    embedded = []

    def embed(words):
        embedded.append(list(words))
        return np.stack([np.full(4, len(w), dtype=np.float32) for w in words])

    store.save(tmp_path / "with", embed_terms=embed)
    loaded = IndexStore.load(tmp_path / "with")
    assert loaded.terms == ["반도체", "중국"] and loaded.term_vectors.tolist() == [[3.0] * 4, [2.0] * 4]
    loaded.remove_document("d1")
    loaded.add_document(*_document_like(store, "d1", [["중국", "미국"], ["반도체"], ["text"]]))
    loaded.save(tmp_path / "with", embed_terms=embed)
    assert embedded == [["반도체", "중국"], ["미국"]]  # only the new term is embedded
    assert IndexStore.load(tmp_path / "with").terms == ["미국", "반도체", "중국"]
    version = tmp_path / "with" / "current"
    (version / "terms.json").write_text(
        '["반도체", "중국", "미국", "일본"]', encoding="utf-8"
    )  # four terms, three vectors
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["files"]["terms.json"]["size"] = (version / "terms.json").stat().st_size
    (version / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match="terms.json does not match"):
        IndexStore.load(tmp_path / "with")


def _document_like(store, doc, tokens):
    """A document with ``store``'s chunks of ``doc`` and their vectors but other tokens."""
    features = _features(len(tokens), store.dim)
    features.tokens = tokens
    chunks = [Chunk(f"{doc}-c{i}", doc, f"text {i}", "S", None, 0, 6, "en") for i in range(len(tokens))]
    entry = DocumentEntry(doc, f"{doc}.txt", "Title", "en", 1, False, [], "2026-01-01", {"short": "T"})
    return entry, chunks, features


def test_save_swaps_versions_atomically(tmp_path):
    store, _ = _store()
    first = store.save(tmp_path)
    second = store.save(tmp_path)
    assert not first.exists() and second.exists()
    assert os.readlink(tmp_path / "current") == second.name
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".build-")] == []


def test_remove_document_drops_its_rows(tmp_path):
    store, _ = _store()
    other, _ = _store(2, doc="d2", seed=1)
    store.add_document(other.documents["d2"], other.chunks, other.features)
    store.remove_document("d1")
    assert [c.doc_id for c in store.chunks] == ["d2", "d2"]
    assert store.vectors.shape == (2, 8) and SearchIndex(store).faiss_index().ntotal == 2
    # sentence rows are renumbered to the surviving chunks and keep their own vectors
    assert store.features.sentences[:, 0].tolist() == [0, 0, 1, 1]
    assert np.allclose(store.features.sentence_vectors, other.features.sentence_vectors)
    assert SearchIndex(store).lexical().size == 2


def test_adding_documents_lets_their_own_arrays_go():
    """A build holds one copy of the documents' vectors, not their pieces and the joined index too."""
    import gc
    import weakref

    store, _ = _store(1, doc="d0")
    pieces = [_features(n, 8, seed=n) for n in (2, 3)]
    expected = store.features.extend(*pieces)
    watched = [weakref.ref(getattr(f, name)) for f in pieces for name in ("vectors", "aux_sentence_vectors")]
    chunks = {n: [Chunk(f"d{n}-c{i}", f"d{n}", "t", "S", None, 0, 1, "en") for i in range(n)] for n in (2, 3)}
    added = [
        (DocumentEntry(f"d{n}", f"d{n}.txt", "T", "en", 1, False, [], "", {}), chunks[n], f)
        for n, f in zip((2, 3), pieces)
    ]
    del pieces
    store.add_documents(added)
    gc.collect()
    assert added == [] and all(ref() is None for ref in watched)
    assert np.array_equal(store.vectors, expected.vectors)
    assert np.array_equal(store.features.aux_sentence_vectors, expected.aux_sentence_vectors)
    assert store.features.tokens == expected.tokens


def test_documents_added_and_removed_together_keep_their_rows():
    store, _ = _store(1, doc="d0")
    parts = [_store(n, doc=f"d{n}", seed=n)[0] for n in (2, 3, 4)]
    store.add_documents([(p.documents[f"d{n}"], p.chunks, p.features) for n, p in zip((2, 3, 4), parts)])
    assert [c.doc_id for c in store.chunks] == ["d0"] + ["d2"] * 2 + ["d3"] * 3 + ["d4"] * 4
    assert store.features.sentences[:, 0].tolist() == [row for row in range(10) for _ in range(2)]
    store.remove_documents(["d0", "d3", "unknown"])
    assert [c.doc_id for c in store.chunks] == ["d2"] * 2 + ["d4"] * 4 and sorted(store.documents) == ["d2", "d4"]
    assert store.features.sentences[:, 0].tolist() == [row for row in range(6) for _ in range(2)]
    assert np.array_equal(store.vectors, np.vstack([parts[0].vectors, parts[2].vectors]))
    assert np.array_equal(store.features.aux_sentence_vectors[4:], parts[2].features.aux_sentence_vectors)


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(IndexMissingError, match="reportqa build"):
        IndexStore.load(tmp_path / "nothing")


def test_other_model_is_refused_with_the_fix(tmp_path):
    store, _ = _store()
    store.save(tmp_path)
    with pytest.raises(IndexMismatchError, match="--force"):
        IndexStore.load(tmp_path, model="another-model")
    with pytest.raises(IndexMismatchError, match="second encoder"):
        IndexStore.load(tmp_path, model="m", aux_model="none")
    with pytest.raises(IndexMismatchError, match="chunker"):
        IndexStore.load(tmp_path, model="m", chunker={"chunk_size": 2})


@pytest.mark.parametrize("damage", ["truncate_vectors", "drop_chunks"])
def test_damaged_index_is_detected(tmp_path, damage):
    store, _ = _store()
    version = store.save(tmp_path)
    if damage == "truncate_vectors":
        data = (version / "vectors.npy").read_bytes()
        (version / "vectors.npy").write_bytes(data[: len(data) // 2])
    else:
        (version / "chunks.jsonl").unlink()
    with pytest.raises(IndexCorruptError, match="build --force"):
        IndexStore.load(tmp_path)


def _rewrite(version, name, data: bytes, keep_checksums: bool = True):
    """Damage one file; with ``keep_checksums`` the manifest is updated to match, as if the file had been
    written wrong before the save, so the parsing checks (not the size check) must catch it."""
    (version / name).write_bytes(data)
    if keep_checksums and name != "manifest.json":
        manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
        manifest["files"] = file_checksums(version)
        (version / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _npy_with_bad_header(version):
    data = (version / "sentences.npy").read_bytes()
    start = data.index(b"{")
    return data[:start] + b"{'descr': '<i4', 'fortran_order': False, 'shape': (3, 'x" + data[start + 55 :]


@pytest.mark.parametrize(
    "name, damage",
    [
        ("manifest.json", lambda v: b'["a", "list"]'),
        ("manifest.json", lambda v: b'{"format_version": 5, "dim": 8, "chunker": {}}'),
        ("manifest.json", lambda v: b"[" * 100_000),
        ("sentences.npy", _npy_with_bad_header),
        ("tokens.jsonl", lambda v: b'["text", "0"]\n42\n["text", "2"]\n'),
        ("chunks.jsonl", lambda v: (v / "chunks.jsonl").read_bytes().replace(b'"lang": "en"', b'"lang": ["en"]', 1)),
        ("chunks.jsonl", lambda v: (v / "chunks.jsonl").read_bytes().replace(b'"page": null', b'"page": "7"', 1)),
        ("documents.json", lambda v: b'{"d1": 1}'),
        ("extras.json", lambda v: b"[1, 2]"),
        ("aux_vectors.npy", lambda v: _npy_bytes(np.zeros((3, 4), np.float64))),
    ],
)
def test_each_kind_of_damaged_file_is_one_clear_error(tmp_path, name, damage):
    store, _ = _store()
    version = store.save(tmp_path)
    _rewrite(version, name, damage(version))
    with pytest.raises(IndexCorruptError, match="build --force"):
        IndexStore.load(tmp_path)


def _npy_bytes(array):
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_a_file_of_the_wrong_size_is_caught_on_open_and_a_flipped_byte_by_verify(tmp_path):
    store, _ = _store()
    version = store.save(tmp_path)
    assert verify(tmp_path) == (version, [])
    vectors_file = version / "vectors.npy"
    data = bytearray(vectors_file.read_bytes())
    data[-20] ^= 0xFF  # inside a vector: the index still opens
    vectors_file.write_bytes(bytes(data))
    IndexStore.load(tmp_path)
    _, problems = verify(tmp_path)
    assert len(problems) == 1 and problems[0].startswith("vectors.npy: ")
    vectors_file.write_bytes(bytes(data) + b"\0")
    with pytest.raises(IndexCorruptError, match=r"vectors.npy .* is damaged \(.* bytes, not .*\).*build --force"):
        IndexStore.load(tmp_path)


def test_verify_refuses_an_index_without_checksums(tmp_path):
    store, _ = _store()
    version = store.save(tmp_path)
    manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    del manifest["files"]
    (version / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    IndexStore.load(tmp_path)  # an older index still opens
    with pytest.raises(IndexCorruptError, match="no checksums"):
        verify(tmp_path)


def test_opening_parses_no_chunk_and_an_opened_index_outlives_its_version(tmp_path, monkeypatch):
    """Rows are read when asked for: a million-chunk index opens without parsing a million lines, and
    the files stay mapped, so a reader whose version a newer build deleted still reads its rows."""
    store, vectors = _store(5)
    store.save(tmp_path)
    parsed = []
    original = Chunk.from_dict
    monkeypatch.setattr(Chunk, "from_dict", classmethod(lambda cls, d: parsed.append(d) or original(d)))
    loaded = IndexStore.load(tmp_path)
    assert parsed == [] and isinstance(loaded.vectors, np.memmap)
    assert loaded.chunks[3].text == "text 3" and len(parsed) == 1
    assert loaded.languages().tolist() == ["en"] * 5 and loaded.rows_of_documents()["d1"].tolist() == [0, 1, 2, 3, 4]
    assert loaded.row_of("d1-c4") == 4 and loaded.row_of("nowhere") is None
    assert SearchIndex(loaded).lexical().scores(["3"]).argmax() == 3
    newer, _ = _store(2, doc="d2", seed=1)
    newer.save(tmp_path)  # deletes the version ``loaded`` came from
    assert loaded.chunks[4].text == "text 4" and list(loaded.features.tokens)[4] == ["text", "4"]
    assert np.array_equal(np.asarray(loaded.vectors), vectors)
    rows = np.array([4, 0, 1, 2, 3, 3])  # runs of consecutive rows are one read each, in the order given
    assert np.array_equal(loaded.take("vectors", rows), vectors[rows])
    assert np.array_equal(loaded.take("aux_sentence_vectors", [9]), store.features.aux_sentence_vectors[[9]])
    with pytest.raises(IndexError):
        loaded.take("vectors", [5])


def test_a_damaged_row_of_the_right_length_is_one_clear_error_when_read(tmp_path):
    store, _ = _store()
    version = store.save(tmp_path)
    data = (version / "chunks.jsonl").read_bytes()
    _rewrite(version, "chunks.jsonl", data.replace(b'"lang": "en"', b'"lang": 4242', 1))
    loaded = IndexStore.load(tmp_path)
    with pytest.raises(IndexCorruptError, match=r"chunks.jsonl .* line 1 .*build --force"):
        loaded.chunks[0]
    assert loaded.chunks[1].text == "text 1"


def test_an_index_opened_from_disk_can_be_edited_and_saved_again(tmp_path):
    store, _ = _store(3)
    store.save(tmp_path)
    loaded = IndexStore.load(tmp_path)
    other, _ = _store(2, doc="d2", seed=1)
    loaded.add_document(other.documents["d2"], other.chunks, other.features)
    loaded.remove_document("d1")
    loaded.save(tmp_path)
    again = IndexStore.load(tmp_path)
    assert [c.chunk_id for c in again.chunks] == ["d2-c0", "d2-c1"]
    assert np.array_equal(np.asarray(again.vectors), other.vectors)
    assert again.documents_by_row().tolist() == [0, 0] and list(again.features.tokens) == other.features.tokens


def test_an_index_in_an_older_format_is_refused_with_the_fix(tmp_path):
    store, _ = _store()
    version = store.save(tmp_path)
    manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    manifest["format_version"] = 5
    (version / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="index format 5 is not .*build --force"):
        IndexStore.load(tmp_path)
