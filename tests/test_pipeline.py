import json
import time
import unicodedata

import numpy as np
import pytest

from conftest import HashEncoder
from reportqa import ReportQA, Settings
from reportqa.answerer import clean_question
from reportqa.chunking import RULES_VERSION
from reportqa.corpus import safe_name
from reportqa.errors import IndexLockedError, QuestionError, ReportQAError
from reportqa.indexer import Indexer
from reportqa.runners import passage_texts

# the hash encoder's scores are not calibrated for abstention; these tests are about indexing
SETTINGS = Settings(second_encoder="none", abstain_below=-1e9)


def test_build_then_ask_cites_the_right_document(tmp_path, small_corpus, hash_encoder):
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    report = qa.build()
    assert sorted(report.added) == ["alpha.txt", "bravo.md"] and not report.skipped
    answer = qa.ask("How many GPUs does the cluster have in its nodes?", top_k=3)
    assert answer.passages[0].doc_path == "bravo.md"
    assert answer.passages[0].chunk.section == "Bravo notes › Hardware"
    assert "[1]" in answer.text
    for quote in answer.quotes:
        assert quote.text in answer.passages[quote.passage_rank - 1].chunk.text


def test_a_question_in_neither_language_is_refused_with_the_nearest_passages(tmp_path, small_corpus, hash_encoder):
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    qa.build()
    answers = qa.batch(["クラスタには GPU が何台ありますか?", "How many GPUs does the cluster have?"], top_k=2)
    assert answers[0].abstained and not answers[0].quotes and answers[0].passages
    assert "Korean or English" in answers[0].text and "한국어나 영어" in answers[0].text
    assert not answers[1].abstained and "64 GPUs" in answers[1].quotes[0].text


def test_unchanged_rebuild_embeds_nothing(tmp_path, small_corpus, hash_encoder):
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    qa.build()
    calls = hash_encoder.passage_calls
    report = ReportQA(
        index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS
    ).build()
    assert report.unchanged == ["alpha.txt", "bravo.md"] and not report.added
    assert hash_encoder.passage_calls == calls


def test_a_document_read_late_is_still_indexed_in_corpus_order(tmp_path, small_corpus, hash_encoder, monkeypatch):
    """The build embeds whichever document is read first, but rows follow the corpus order."""
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    expected = qa.build()
    rows = [(c.doc_id, c.chunk_id, c.text) for c in qa.store.chunks]
    embedded: list[str] = []
    read, encode = Indexer.read_document, hash_encoder.encode_passages

    def slow_first_read(self, name, *rest):
        if name == "alpha.txt":
            time.sleep(0.5)  # a long PDF listed first
        return read(self, name, *rest)

    def recording_encode(texts, *args, **kwargs):
        embedded.extend(texts)
        return encode(texts, *args, **kwargs)

    monkeypatch.setattr(Indexer, "read_document", slow_first_read)
    monkeypatch.setattr(hash_encoder, "encode_passages", recording_encode)
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    report = qa.build(force=True)
    assert "Bravo" in embedded[0]  # the second file went to the encoder first
    assert report.added == expected.added == ["alpha.txt", "bravo.md"]
    assert [(c.doc_id, c.chunk_id, c.text) for c in qa.store.chunks] == rows


def test_an_index_chunked_by_older_rules_answers_and_the_next_build_rechunks_it(tmp_path, small_corpus, hash_encoder):
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    qa.build()
    manifest = tmp_path / "index" / "current" / "manifest.json"
    old = json.loads(manifest.read_text())
    assert old["chunking_rules"] == RULES_VERSION
    manifest.write_text(json.dumps({**old, "chunking_rules": RULES_VERSION - 1}))
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    assert qa.ask("How many GPUs does the cluster have in its nodes?").passages[0].doc_path == "bravo.md"
    report = qa.build()
    assert report.added == ["alpha.txt", "bravo.md"] and not report.removed
    assert json.loads(manifest.read_text())["chunking_rules"] == RULES_VERSION
    assert qa.build().unchanged == ["alpha.txt", "bravo.md"]


def test_changed_and_removed_documents(tmp_path, small_corpus, hash_encoder):
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    qa.build()
    (small_corpus / "bravo.md").write_text("# Bravo\n\nNow the cluster has 128 GPUs.\n")
    (small_corpus / "alpha.txt").unlink()
    report = qa.build()
    assert report.added == ["bravo.md"] and report.removed == ["alpha.txt", "bravo.md"]
    assert {d.path for d in qa.documents()} == {"bravo.md"}
    assert all("128 GPUs" in c.text or "Bravo" in c.section for c in qa.store.chunks)


def test_bad_file_is_skipped_and_the_rest_indexed(tmp_path, small_corpus, hash_encoder):
    (small_corpus / "broken.pdf").write_bytes(b"not a pdf at all" * 10)
    (small_corpus / "empty.txt").write_bytes(b"")
    report = ReportQA(
        index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS
    ).build()
    assert sorted(report.added) == ["alpha.txt", "bravo.md"]
    assert sorted(name for name, _ in report.skipped) == ["broken.pdf", "empty.txt"]


def test_add_copies_and_refuses_to_overwrite_a_different_file(tmp_path, small_corpus, hash_encoder):
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    qa.build()
    new = tmp_path / "new notes.md"
    new.write_text("# Delta\n\nDelta launched in 2024.\n")
    assert qa.add([new]).added == ["new notes.md"]
    clash = tmp_path / "alpha.txt"
    clash.write_text("different alpha")
    report = qa.add([clash])
    assert "--replace" in report.skipped[0][1]
    assert "알파" in (small_corpus / "alpha.txt").read_text(encoding="utf-8")
    assert qa.add([clash], replace=True).added == ["alpha.txt"]
    other = tmp_path / "notes.docx"
    other.write_bytes(b"PK")
    assert qa.add([other]).skipped == [("notes.docx", "notes.docx: only .txt, .md, .pdf files can be added")]
    assert not (small_corpus / "notes.docx").exists()
    [(_, reason)] = qa.add([tmp_path]).skipped
    assert reason == f"{tmp_path}: a folder; add the files in it (e.g. {tmp_path / '*.pdf'})"


def test_an_added_file_that_cannot_be_indexed_does_not_stay_in_the_corpus(tmp_path, small_corpus, hash_encoder):
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    qa.build()
    broken, good = tmp_path / "broken.pdf", tmp_path / "delta.md"
    broken.write_bytes(b"not a pdf at all" * 10)
    good.write_text("# Delta\n\nDelta launched in 2024.\n")
    report = qa.add([broken, good])
    assert report.added == ["delta.md"]
    [(name, reason)] = report.skipped
    assert name == "broken.pdf" and reason.startswith("broken.pdf: unreadable PDF") and reason.endswith("; not added")
    assert sorted(p.name for p in small_corpus.iterdir()) == ["alpha.txt", "bravo.md", "delta.md"]
    assert broken.exists()  # the user's own file is left alone
    assert not qa.build().skipped


def test_an_added_copy_of_an_indexed_document_is_not_added_whatever_its_name(tmp_path, small_corpus, hash_encoder):
    """The copy is the duplicate even where its name sorts before the indexed file's."""
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    qa.build()
    copy = tmp_path / "-a-copy.md"
    copy.write_bytes((small_corpus / "bravo.md").read_bytes())
    report = qa.add([copy])
    assert report.skipped == [("-a-copy.md", "-a-copy.md: same content as bravo.md, indexed once; not added")]
    assert not report.added and report.unchanged == ["alpha.txt", "bravo.md"]
    assert sorted(p.name for p in small_corpus.iterdir()) == ["alpha.txt", "bravo.md"]
    assert sorted(entry.path for entry in qa.store.documents.values()) == ["alpha.txt", "bravo.md"]


def test_replacing_a_document_with_an_unreadable_file_keeps_the_document(tmp_path, small_corpus, hash_encoder):
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    qa.build()
    before = (small_corpus / "alpha.txt").read_bytes()
    chunks = [(c.doc_id, c.text) for c in qa.store.chunks]
    empty = tmp_path / "alpha.txt"
    empty.write_bytes(b"")
    report = qa.add([empty], replace=True)
    assert report.skipped == [("alpha.txt", "alpha.txt: file is empty; the previous file was kept")]
    assert not report.added and not report.removed and report.unchanged == ["alpha.txt", "bravo.md"]
    assert (small_corpus / "alpha.txt").read_bytes() == before
    assert sorted(p.name for p in small_corpus.iterdir()) == ["alpha.txt", "bravo.md"]
    assert sorted((c.doc_id, c.text) for c in qa.store.chunks) == sorted(chunks)
    reopened = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    assert reopened.build().unchanged == ["alpha.txt", "bravo.md"]


def test_an_add_whose_build_fails_leaves_the_corpus_as_it_was(tmp_path, small_corpus, hash_encoder, monkeypatch):
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    qa.build()
    before = {p.name: p.read_bytes() for p in small_corpus.iterdir()}
    new, changed = tmp_path / "delta.md", tmp_path / "bravo.md"
    new.write_text("# Delta\n\nDelta launched in 2024.\n")
    changed.write_text("# Bravo\n\nNow the cluster has 128 GPUs.\n")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(hash_encoder, "encode_passages", interrupted)
    with pytest.raises(KeyboardInterrupt):
        qa.add([new, changed], replace=True)
    assert {p.name: p.read_bytes() for p in small_corpus.iterdir()} == before


@pytest.mark.parametrize("bad", ["", "   ", "?!…", "\x00\x01"])
def test_empty_questions_are_refused(bad):
    with pytest.raises(QuestionError):
        clean_question(bad)


def test_the_number_of_passages_is_bounded(tmp_path, small_corpus, hash_encoder):
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    qa.build()
    assert len(qa.ask("GPUs", top_k=np.int64(2)).passages) == 2
    assert len(qa.ask("GPUs", top_k=100).passages) == len(qa.store.chunks)
    for bad in (0, -1, 101, 2.5, True):
        with pytest.raises(QuestionError, match="top_k must be a whole number from 1 to 100"):
            qa.ask("GPUs", top_k=bad)


def test_questions_are_cleaned_and_bounded():
    assert clean_question("  what\x07 is\n this? ") == "what is this?"
    assert len(clean_question("가" * 10_000)) == 2000


def test_safe_name_stays_in_the_corpus():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("..hidden.txt") == "hidden.txt"
    assert safe_name("보고서 초안.pdf") == "보고서 초안.pdf"


def test_remove_by_name_drops_the_document(tmp_path, small_corpus, hash_encoder):
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    qa.build()
    report = qa.remove(["bravo.md"])
    assert report.removed == ["bravo.md"] and not (small_corpus / "bravo.md").exists()
    assert [d.path for d in qa.documents()] == ["alpha.txt"]
    with pytest.raises(ReportQAError, match="reportqa list"):
        qa.remove(["nothing.pdf"])


def test_korean_names_written_decomposed_are_added_composed_and_removed_as_typed(tmp_path, small_corpus, hash_encoder):
    """macOS writes 보고서 as ᄇ+ᅩ+ᄀ+ᅩ+ᄉ+ᅥ: the same on screen, a different name to compare."""
    decomposed = unicodedata.normalize("NFD", "보고서.md")
    assert safe_name(decomposed) == "보고서.md"
    (small_corpus / decomposed).write_text("# 보고서\n\n감마 계획은 2030년에 끝난다.\n", encoding="utf-8")
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    qa.build()
    assert decomposed in [d.path for d in qa.documents()]  # a corpus file keeps the name it has
    qa.remove(["보고서.md"])  # as typed: composed
    assert not (small_corpus / decomposed).exists()
    source = tmp_path / decomposed
    source.write_text("# 보고서\n\n델타 계획.\n", encoding="utf-8")
    qa.add([source])
    assert "보고서.md" in [d.path for d in qa.documents()]


def test_a_second_build_on_the_same_index_is_refused(tmp_path, small_corpus, hash_encoder):
    from reportqa.store import BuildLock

    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    with BuildLock(tmp_path / "index"):
        with pytest.raises(IndexLockedError, match="another build"):
            qa.build()
    assert qa.build().added  # the lock is gone with its holder


def test_leftovers_of_a_crashed_build_are_cleaned(tmp_path, small_corpus, hash_encoder):
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    qa.build()
    (tmp_path / "index" / ".build-crashed").mkdir()
    (tmp_path / "index" / "v-orphan").mkdir()
    (small_corpus / "new.md").write_text("# New\n\nA new note.\n")
    qa.build()
    names = sorted(p.name for p in (tmp_path / "index").iterdir())
    assert [n for n in names if n.startswith((".build-", "v-"))] == [n for n in names if n.startswith("v-")]
    assert len([n for n in names if n.startswith("v-")]) == 1


def test_any_encoder_can_be_the_second_encoder(tmp_path, small_corpus, hash_encoder):
    """A second encoder with only the ``Encoder`` protocol embeds the chunks and their sentences."""
    second = HashEncoder()
    qa = ReportQA(
        index_dir=tmp_path / "index",
        corpus_dir=small_corpus,
        encoder=hash_encoder,
        aux_encoder=second,
        settings=Settings(abstain_below=-1e9),
    )
    qa.build()
    features = qa.store.features
    texts, _, sentences = passage_texts(qa.store.chunks)
    assert qa.store.aux_dim == second.dim and len(sentences) > len(texts)
    assert np.allclose(features.aux_vectors, second.encode_passages(texts))
    assert np.allclose(features.aux_sentence_vectors, second.encode_passages(sentences))
    assert qa.ask("How many GPUs does the cluster have in its nodes?", top_k=3).passages[0].doc_path == "bravo.md"


def test_warm_loads_everything_a_question_needs(tmp_path, small_corpus, hash_encoder):
    from reportqa.lexical import tokenizer_loaded

    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    qa.build()
    fresh = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    fresh.warm()
    assert fresh.models.encoder_loaded and tokenizer_loaded()
    assert fresh.ask("How many GPUs does the cluster have?").passages


@pytest.mark.slow
def test_the_korean_terms_are_embedded_at_build_once_and_an_english_question_finds_them(
    tmp_path, small_corpus, hash_encoder, monkeypatch
):
    from reportqa.lexical import korean_terms

    settings = Settings(abstain_below=-1e9)  # with the second encoder, which embeds the terms
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=settings)
    qa.build()
    store = qa.version().store
    assert store.terms == korean_terms(t for tokens in store.features.tokens for t in tokens) and "알파" in store.terms
    before = dict(zip(store.terms, np.array(store.term_vectors)))

    aux = qa.aux_encoder
    embedded = []
    real = aux.encode_passages
    monkeypatch.setattr(
        aux, "encode_passages", lambda texts, *a, **k: embedded.append(list(texts)) or real(texts, *a, **k)
    )
    (small_corpus / "charlie.txt").write_text("감마 위성은 2024년에 발사되었다.\n", encoding="utf-8")
    qa.build()
    store = qa.version().store
    new_terms = sorted(set(store.terms) - set(before))
    assert new_terms and new_terms in embedded  # the new document's terms, and only those, were embedded
    assert not any("알파" in call for call in embedded)
    after = dict(zip(store.terms, np.array(store.term_vectors)))
    assert all(np.array_equal(after[t], before[t]) for t in before)

    embedded.clear()
    reopened = ReportQA(
        index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=settings, aux_encoder=aux
    )
    reopened.ask("When was the alpha project started?")
    assert embedded == []  # the English question's term table came from the index


def test_an_english_question_is_answered_without_kiwi_and_warm_loads_it(tmp_path, small_corpus, hash_encoder):
    """A fresh process: plain English needs no Korean tokenizer (1.3 s of a cold start); ``warm``
    loads it, so that a server's first Korean question does not wait for it."""
    import subprocess
    import sys
    from pathlib import Path

    ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS).build()
    code = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from conftest import HashEncoder
from reportqa import ReportQA, Settings
from reportqa.lexical import tokenizer_loaded
settings = Settings(second_encoder="none", abstain_below=-1e9)
where = dict(index_dir={str(tmp_path / "index")!r}, corpus_dir={str(small_corpus)!r})
qa = ReportQA(**where, encoder=HashEncoder(), settings=settings)
assert qa.ask("How many GPUs does the cluster have?").passages
assert not tokenizer_loaded()
fresh = ReportQA(**where, encoder=HashEncoder(), settings=settings)
fresh.warm()
assert tokenizer_loaded()
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)


def _indexed_by_chunk(qa: ReportQA) -> dict:
    """Each chunk's record, e5 and USE vector bytes and BM25 tokens, by chunk id (rows follow the order
    documents were indexed in, which an add and a build need not share)."""
    store = qa.store
    rows = np.arange(len(store.chunks))
    e5, use = store.take("vectors", rows), store.take("aux_vectors", rows)
    return {
        c.chunk_id: (c, e5[i].tobytes(), use[i].tobytes(), list(store.features.tokens[i]))
        for i, c in enumerate(store.chunks)
    }


def test_an_added_document_is_indexed_bit_for_bit_as_a_build_of_the_whole_corpus_indexes_it(
    tmp_path, small_corpus, encoder
):
    whole = ReportQA(index_dir=tmp_path / "whole", corpus_dir=small_corpus, encoder=encoder)
    whole.build()
    first = tmp_path / "first"
    first.mkdir()
    (first / "alpha.txt").write_bytes((small_corpus / "alpha.txt").read_bytes())
    stepwise = ReportQA(index_dir=tmp_path / "stepwise", corpus_dir=first, encoder=encoder)
    stepwise.build()
    stepwise.add([small_corpus / "bravo.md"])
    assert stepwise.store.aux_dim and _indexed_by_chunk(stepwise) == _indexed_by_chunk(whole)
