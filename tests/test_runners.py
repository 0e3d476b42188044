"""The serial runner is the readable reference: the overlapped one must write the very same index."""

import json
import shutil

import pytest

from conftest import PHI1_PDF, copy_corpus
from reportqa import ReportQA, Settings
from reportqa.runners import passage_texts


def _index_files(index_dir) -> dict[str, bytes]:
    """Every file of the current version, timestamps and the checksum record left out."""
    version = (index_dir / "current").resolve()
    files = {}
    for path in sorted(version.iterdir()):
        data = path.read_bytes()
        if path.name == "documents.json":
            data = json.dumps([{k: v for k, v in e.items() if k != "added"} for e in json.loads(data)]).encode()
        elif path.name == "manifest.json":
            data = json.dumps({k: v for k, v in json.loads(data).items() if k not in ("saved", "files")}).encode()
        files[path.name] = data
    return files


def test_serial_and_overlapped_runners_write_the_same_bytes_with_the_hash_encoder(tmp_path, small_corpus, hash_encoder):
    built = {}
    for runner in ("serial", "overlapped"):
        settings = Settings(second_encoder="none", build_runner=runner)
        ReportQA(index_dir=tmp_path / runner, corpus_dir=small_corpus, encoder=hash_encoder, settings=settings).build()
        built[runner] = _index_files(tmp_path / runner)
    assert built["serial"] == built["overlapped"]


@pytest.mark.slow
@pytest.mark.skipif(not PHI1_PDF.exists(), reason="shared phi-1 PDF not present")
def test_serial_and_overlapped_runners_write_bit_identical_indexes(tmp_path, encoder):
    """The report and the phi-1 PDF through the default int8 e5, USE and Kiwi (in its worker process)."""
    corpus = copy_corpus(tmp_path / "corpus")
    shutil.copy(PHI1_PDF, corpus / PHI1_PDF.name)
    built = {}
    for runner in ("serial", "overlapped"):
        qa = ReportQA(
            index_dir=tmp_path / runner, corpus_dir=corpus, encoder=encoder, settings=Settings(build_runner=runner)
        )
        report = qa.build()
        assert sorted(report.added) == sorted(["spri-2023-ai-competition.txt", PHI1_PDF.name])
        built[runner] = _index_files(tmp_path / runner)
    assert set(built["serial"]) >= {
        "vectors.npy",
        "bm25-data.npy",
        "sentence_vectors.npy",
        "aux_vectors.npy",
        "tokens.jsonl",
    }
    assert built["serial"] == built["overlapped"]


def test_passage_texts_put_the_section_header_before_the_chunk(small_corpus):
    from reportqa.chunking import chunk_document
    from reportqa.documents import load_document

    chunks = chunk_document(load_document(small_corpus / "alpha.txt"))
    texts, sentences, sentence_texts = passage_texts(chunks)
    assert all(text.endswith(chunk.text) for text, chunk in zip(texts, chunks))
    assert [chunks[row].text[a:b] for row, a, b in sentences] == sentence_texts


def test_e5_reads_compact_dates_spelled_out_and_the_chunk_keeps_them(hash_encoder):
    """A table row "21.09.29 …" is embedded as "2021년 9월 29일 …"; the quoted text stays as written."""
    from reportqa.chunking import chunk_document
    from reportqa.records import Document
    from reportqa.runners import dense_vectors

    text = "[표 1] 기술규제 동향\n\n일자\t내용\n21.09.29\t미국과 EU는 무역기술위원회(TTC) 출범\n"
    chunks = chunk_document(Document(doc_id="d", path="d.txt", title="d", lang="ko", pages=(text,)))
    texts, sentences, sentence_texts = passages = passage_texts(chunks)
    vectors, sentence_vectors = dense_vectors(hash_encoder, chunks, passages, Settings())
    spelled = [t.replace("21.09.29", "2021년 9월 29일") for t in texts]
    assert any("21.09.29" in c.text for c in chunks) and spelled != texts
    assert (vectors == hash_encoder.encode_passages(spelled)).all()
    spelled_sentences = [t.replace("21.09.29", "2021년 9월 29일") for t in sentence_texts]
    assert (sentence_vectors == hash_encoder.encode_passages(spelled_sentences)).all()
