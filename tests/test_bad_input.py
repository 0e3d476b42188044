"""Bad documents are skipped with a one-line reason while the rest is indexed; bad questions get a clear message."""

import io

import pytest

from conftest import PHI1_PDF
from reportqa import ReportQA, Settings
from reportqa.errors import QuestionError

SETTINGS = Settings(second_encoder="none", abstain_below=-1e9)
needs_pdf = pytest.mark.skipif(not PHI1_PDF.exists(), reason="shared phi-1 PDF not present")


def _pdf_bytes(pages: int = 2, password: str | None = None, owner: str | None = None) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(PHI1_PDF).pages[:pages]:
        writer.add_page(page)
    if password is not None:
        writer.encrypt(user_password=password, owner_password=owner or "owner-secret", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _blank_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@needs_pdf
def test_each_bad_file_is_skipped_with_its_reason_and_the_rest_indexed(tmp_path, small_corpus, hash_encoder):
    files = {
        "random.pdf": bytes(range(256)) * 40,
        "truncated.pdf": _pdf_bytes()[:3000],
        "locked.pdf": _pdf_bytes(password="secret"),
        "scanned.pdf": _blank_pdf(),
        "empty.txt": b"",
        "binary.txt": b"\x00\x01\x02\xff" * 500,
    }
    for name, data in files.items():
        (small_corpus / name).write_bytes(data)
    (small_corpus / "open-with-empty-password.pdf").write_bytes(_pdf_bytes(password=""))
    (small_corpus / "레거시 인코딩.txt").write_bytes("미국의 반도체 수출 규제 강화".encode("cp949"))

    report = ReportQA(
        index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS
    ).build()
    reasons = dict(report.skipped)
    assert sorted(reasons) == sorted(files)
    assert "unreadable PDF" in reasons["random.pdf"]
    assert "unreadable PDF" in reasons["truncated.pdf"] or "no extractable text" in reasons["truncated.pdf"]
    assert "encrypted PDF" in reasons["locked.pdf"]
    assert "no extractable text" in reasons["scanned.pdf"] and "OCR" in reasons["scanned.pdf"]
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert all("\n" not in reason for reason in reasons.values())
    assert sorted(report.added) == sorted(
        ["alpha.txt", "bravo.md", "open-with-empty-password.pdf", "레거시 인코딩.txt"]
    )


def test_a_file_over_the_size_limit_is_refused_without_reading_it(tmp_path, small_corpus, hash_encoder):
    big = small_corpus / "huge.txt"
    with open(big, "wb") as f:
        f.truncate(50_000_000)  # 50 MB, sparse on disk
    report = ReportQA(
        index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS
    ).build()
    assert dict(report.skipped)["huge.txt"] == "huge.txt: 50.0 MB is over the 30 MB limit (REPORTQA_MAX_FILE_MB)"
    assert sorted(report.added) == ["alpha.txt", "bravo.md"]


def test_awkward_file_names_are_added_safely(tmp_path, small_corpus, hash_encoder):
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    qa.build()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    names = ["with spaces.md", "한국어 보고서.md", "..sneaky.md"]
    for name in names:
        (outside / name).write_text(f"# {name}\n\nContent of {name}.\n", encoding="utf-8")
    report = qa.add([outside / n for n in names])
    assert sorted(report.added) == sorted(["with spaces.md", "한국어 보고서.md", "sneaky.md"])
    assert not (tmp_path / "sneaky.md").exists() and not (tmp_path / "..sneaky.md").exists()


@pytest.mark.parametrize("question", ["", "   \n\t", "?!?!…", "\x00\x07\x1b"])
def test_unusable_questions_are_refused_clearly(tmp_path, small_corpus, hash_encoder, question):
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    qa.build()
    with pytest.raises(QuestionError, match="empty"):
        qa.ask(question)


def test_long_and_control_character_questions_still_get_answers(tmp_path, small_corpus, hash_encoder):
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    qa.build()
    assert qa.ask("GPU " * 2500).passages  # 10,000 characters, cut to the first 2,000
    answer = qa.ask("How many\x00 GPUs\x1b does the cluster have?")
    assert answer.question == "How many GPUs does the cluster have?" and answer.passages
