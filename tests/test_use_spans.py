import numpy as np
import pytest

from conftest import REPORT
from reportqa.answer import split_sentences
from reportqa.encoder import UniversalSentenceEncoder
from reportqa.use_spans import collapse_whitespace


@pytest.fixture(scope="module")
def use(tmp_path_factory):
    return UniversalSentenceEncoder(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def passages():
    """Paragraphs of the report with a section line on top, as chunks are embedded, and their sentence spans."""
    paragraphs = [p for p in REPORT.read_text(encoding="utf-8").split("\n\n") if len(p) > 200][:40]
    texts = [f"보고서 본문\n{p}" for p in paragraphs]
    spans = [(row, 6 + a, 6 + b) for row, p in enumerate(paragraphs) for a, b in split_sentences(p)]
    return texts, spans


def test_collapse_whitespace_maps_each_kept_character():
    text = "  가나\t다\n\n라  mark "
    clean, position = collapse_whitespace(text)
    assert clean == " ".join(text.split()) == "가나 다 라 mark"
    assert all(clean[position[i]] == ch for i, ch in enumerate(text) if not ch.isspace())
    assert all(position[i] == -1 for i, ch in enumerate(text) if ch.isspace())


def test_passage_vectors_of_the_single_pass_are_the_packages_own(use, passages):
    texts, spans = passages
    vectors, _ = use.encode_passages_with_spans(texts, spans)
    assert vectors.shape == (len(texts), use.dim)
    assert np.allclose(vectors, use.encode_passages(texts), atol=1e-5)


def test_a_sentence_pooled_from_its_passage_is_close_to_the_sentence_alone(use, passages):
    texts, spans = passages
    assert len(spans) > 100
    _, pooled = use.encode_passages_with_spans(texts, spans)
    alone = use.encode_passages([texts[row][a:b] for row, a, b in spans])
    cosine = (pooled * alone).sum(axis=1)
    assert cosine.mean() > 0.95 and cosine.min() > 0.75
    assert np.allclose(np.linalg.norm(pooled, axis=1), 1.0, atol=1e-5)
    # each pooled sentence finds itself first among all the sentences embedded alone
    assert ((pooled @ alone.T).argmax(axis=1) == np.arange(len(spans))).mean() > 0.95


def test_the_single_pass_does_not_depend_on_how_many_threads_run_it(use, passages):
    texts, spans = passages
    one = use.encode_passages_with_spans(texts, spans)
    three = use.encode_passages_with_spans(texts, spans, workers=3)
    assert all(np.allclose(a, b, atol=1e-5) for a, b in zip(one, three))


def test_spans_of_texts_with_odd_whitespace_and_of_blank_ranges(use):
    texts = ["제목\n\n  첫 문장은   여기에  있다.\t둘째 문장.", "English   only. Second one here."]
    spans = [(0, 6, 22), (0, 23, 29), (1, 0, 15), (1, 3, 3), (1, 16, 32)]
    vectors, pooled = use.encode_passages_with_spans(texts, spans)
    assert vectors.shape == (2, use.dim) and pooled.shape == (5, use.dim)
    assert np.isfinite(pooled).all()
    alone = use.encode_passages(["첫 문장은 여기에 있다.", "둘째 문장.", "English only.", "Second one here."])
    assert ((pooled[[0, 1, 2, 4]] * alone).sum(axis=1) > 0.8).all()
