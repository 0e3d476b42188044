import unicodedata

import pytest

from conftest import PHI1_PDF, REPORT
from reportqa.documents import corpus_files, detect_lang, korean_or_english, load_document, sha256_bytes
from reportqa.errors import DocumentError


def test_report_loads_with_title_from_metadata():
    doc = load_document(REPORT)
    assert doc.title.startswith("인공지능의 혁신 특성과 글로벌 경쟁구조")
    assert doc.lang == "ko"
    assert doc.doc_id == sha256_bytes(REPORT.read_bytes())
    assert not doc.paged and len(doc.pages) == 1
    assert "1.287GWh" in doc.text


def test_markdown_loads_as_text(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# Title here\n\nSome English body text.\n", encoding="utf-8")
    doc = load_document(path)
    assert doc.lang == "en"
    assert doc.title == "Title here"
    assert "English body" in doc.pages[0]


@pytest.mark.skipif(not PHI1_PDF.exists(), reason="shared phi-1 PDF not present")
def test_pdf_pages_are_kept_one_based():
    doc = load_document(PHI1_PDF)
    assert doc.paged
    assert len(doc.pages) == 26
    assert doc.lang == "en"
    assert "Textbooks Are All You Need" in doc.pages[0]
    assert any("50.6%" in page for page in doc.pages)


def test_cp949_text_is_decoded(tmp_path):
    path = tmp_path / "legacy.txt"
    path.write_bytes("미국의 반도체 수출 규제와 중국의 대응".encode("cp949"))
    assert load_document(path).pages[0] == "미국의 반도체 수출 규제와 중국의 대응"


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("empty.txt", b"", "empty"),
        ("blank.md", b"  \n\n ", "empty"),
        ("binary.txt", bytes(range(256)) * 4, "binary"),
        ("random.pdf", b"\x00\x13garbage" * 100, "PDF"),
        ("notes.docx", b"PK\x03\x04", "unsupported"),
    ],
)
def test_bad_files_raise_one_line_reasons(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DocumentError) as err:
        load_document(path)
    message = str(err.value)
    assert name in message and reason.lower() in message.lower() and "\n" not in message


def test_korean_written_decomposed_is_read_composed_and_tokenized_as_words(tmp_path):
    """macOS and some PDF producers write 중 as ᄌ+ᅮ+ᆼ; Kiwi then kept particles on words ("중국의")."""
    from reportqa.answerer import clean_question
    from reportqa.lexical import tokenize

    text = "# 반도체 정책\n\n중국의 AI 반도체 보조금 규모는 크다.\n"
    path = tmp_path / "nfd.md"
    path.write_text(unicodedata.normalize("NFD", text), encoding="utf-8")
    doc = load_document(path)
    assert doc.pages == (text,)
    assert {"중국", "보조금", "규모"} <= set(tokenize(doc.pages[0]))
    assert clean_question(unicodedata.normalize("NFD", "중국의 보조금 규모는?")) == "중국의 보조금 규모는?"


def test_size_limit(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("가" * 2000, encoding="utf-8")
    with pytest.raises(DocumentError, match="limit"):
        load_document(path, max_bytes=1000)


def test_corpus_files_skip_sidecars_and_hidden(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "a.txt.meta.json").write_text("{}")
    (tmp_path / ".hidden.txt").write_text("x")
    (tmp_path / "b.pdf").write_bytes(b"%PDF")
    (tmp_path / "c.png").write_bytes(b"x")
    assert [p.name for p in corpus_files(tmp_path)] == ["a.txt", "b.pdf"]


def test_detect_lang():
    assert detect_lang("미국의 R&D 지출은 2020년에 얼마였나?") == "ko"
    assert detect_lang("How much did the United States spend on R&D?") == "en"


def test_korean_or_english_reads_the_letters_not_the_digits_or_symbols():
    assert korean_or_english("美 국가표준전략에서 中 AI는?")  # a few Chinese characters in Korean
    assert korean_or_english("phi-1은 HumanEval에서 몇 점?") and korean_or_english("2023?")
    assert not korean_or_english("ما هو الذكاء الاصطناعي؟")
    assert not korean_or_english("phi-1のパラメータ数は?")  # three Latin letters among twelve
    assert not korean_or_english("Что такое ИИ?") and not korean_or_english("什么是人工智能？")
