"""Bad documents are skipped with a one-line reason while the rest is indexed; bad questions get a clear message."""

import http.server
import io
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import PHI1_PDF
from reportqa import ReportQA, Settings
from reportqa.errors import QuestionError, ReportQAError

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
        "bom-only.txt": b"\xef\xbb\xbf",
        "invisible.md": "\u200b\u200c\u2060\ufeff\u202e\n\u00ad".encode(),
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
    assert reasons["bom-only.txt"] == "bom-only.txt: no visible text"
    assert reasons["invisible.md"] == "invisible.md: no visible text"
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


@pytest.mark.parametrize("missing", ["no-such-folder", "a-file.txt", "an-empty-folder"])
def test_a_build_from_a_missing_corpus_folder_is_refused_and_keeps_the_index(
    tmp_path, small_corpus, hash_encoder, missing
):
    """A mistyped ``--corpus`` must not empty the index as if every document had been deleted."""
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    qa.build()
    before = [d.path for d in qa.documents()]
    (tmp_path / "a-file.txt").write_text("not a folder")
    (tmp_path / "an-empty-folder").mkdir()
    (tmp_path / "an-empty-folder" / "notes.docx").write_text("not a corpus file")
    elsewhere = ReportQA(
        index_dir=tmp_path / "index", corpus_dir=tmp_path / missing, encoder=hash_encoder, settings=SETTINGS
    )
    refusal = "does not exist|is not a folder|holds no .txt, .md or .pdf file, and the index 2 document"
    with pytest.raises(ReportQAError, match=f"corpus folder .* ({refusal})"):
        elsewhere.build()
    if missing == "a-file.txt":  # add creates a missing corpus folder, but never writes over a file
        with pytest.raises(ReportQAError, match="is not a folder"):
            elsewhere.add([small_corpus / "alpha.txt"])
        assert (tmp_path / "a-file.txt").read_text() == "not a folder"
    reopened = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    assert before and [d.path for d in reopened.documents()] == before


def test_an_index_whose_last_document_was_removed_opens_and_refuses(tmp_path, small_corpus, hash_encoder):
    """Removing every document leaves an empty index, not one that fails to load."""
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    qa.build()
    report = qa.remove([d.path for d in qa.documents()])
    assert report.removed and report.chunks == 0
    reopened = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=hash_encoder, settings=SETTINGS)
    assert reopened.documents() == []
    answer = reopened.ask("How many GPUs does the cluster have?")
    assert answer.abstained and not answer.passages


# --- hostile files: one bad file, page or sidecar costs itself, never the build -------------------


def _qa(tmp_path, corpus, encoder, **settings):
    return ReportQA(
        index_dir=tmp_path / "index",
        corpus_dir=corpus,
        encoder=encoder,
        settings=Settings(second_encoder="none", abstain_below=-1e9, **settings),
    )


def test_pdfs_with_a_broken_page_keep_their_good_pages(tmp_path, small_corpus, hash_encoder):
    from hostile import bomb_pdf, huge_length_pdf, unknown_filter_pdf

    (small_corpus / "unknown-filter.pdf").write_bytes(unknown_filter_pdf())
    (small_corpus / "stream-length-2gb.pdf").write_bytes(huge_length_pdf())
    (small_corpus / "bomb.pdf").write_bytes(bomb_pdf(200_000_000))  # inflates past pypdf's 75 MB limit
    qa = _qa(tmp_path, small_corpus, hash_encoder)
    report = qa.build()
    assert report.skipped == []
    assert sorted(report.added) == ["alpha.txt", "bomb.pdf", "bravo.md", "stream-length-2gb.pdf", "unknown-filter.pdf"]
    notes = dict(report.warnings)
    assert "page 2 unreadable (NotImplementedError" in notes["unknown-filter.pdf"]
    assert "page 2 unreadable (LimitReachedError" in notes["stream-length-2gb.pdf"]
    assert "page 2 unreadable (LimitReachedError" in notes["bomb.pdf"]
    pages = {(c.doc_id[:8], c.page) for c in qa.store.chunks if "Semiconductor subsidies" in c.text}
    assert len(pages) == 3 and {page for _, page in pages} == {1}


def test_pdf_bomb_build_stays_under_a_gigabyte(tmp_path, small_corpus):
    """A 2-page PDF whose page 2 inflates to 1.1 GB, built in a fresh process: page 1 indexed, peak RSS < 1 GB.

    The peak is the process's own (``VmHWM``): ``ru_maxrss`` carries over the test runner's resident size
    at the fork, gigabytes once an earlier test has loaded the models."""
    from hostile import bomb_pdf

    (small_corpus / "bomb.pdf").write_bytes(bomb_pdf())
    script = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from conftest import HashEncoder
from reportqa import ReportQA, Settings
qa = ReportQA(index_dir={str(tmp_path / "index")!r}, corpus_dir={str(small_corpus)!r}, encoder=HashEncoder(),
              settings=Settings(second_encoder="none"))
report = qa.build()
print(sorted(report.added), dict(report.warnings)["bomb.pdf"])
print(next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    added, peak = done.stdout.strip().splitlines()
    assert "'bomb.pdf'" in added and "page 2 unreadable" in added
    assert int(peak) < 1e9


@pytest.mark.parametrize(
    "sidecar, ignored",
    [
        ('["a", "list"]', "not a JSON object"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"language": ["ko"], "title": "Kept title"}', "ignored field(s) language"),
        ('{"title": {"nested": 1}, "lang": "xx"}', "ignored field(s) title, lang"),
        ("{not json", "not valid JSON"),
    ],
)
def test_a_bad_sidecar_is_ignored_with_its_reason_and_questions_still_work(
    tmp_path, small_corpus, hash_encoder, sidecar, ignored
):
    (small_corpus / "bravo.md.meta.json").write_text(sidecar, encoding="utf-8")
    qa = _qa(tmp_path, small_corpus, hash_encoder)
    report = qa.build()
    assert sorted(report.added) == ["alpha.txt", "bravo.md"]
    assert ignored in dict(report.warnings)["bravo.md"]
    entry = next(d for d in qa.documents() if d.path == "bravo.md")
    assert entry.lang == "en" and isinstance(entry.title, str)
    assert "Kept title" not in sidecar or entry.title == "Kept title"
    fresh = _qa(tmp_path, small_corpus, hash_encoder)  # a new process's view of the saved index
    assert "64 GPUs" in fresh.ask("How many GPUs does the cluster have?").passages[0].chunk.text


def test_a_file_name_too_long_for_its_sidecar_is_indexed(tmp_path, small_corpus, hash_encoder):
    name = "긴" * 80 + ".txt"  # 244 bytes: its .meta.json name would pass 255
    (small_corpus / name).write_text("The long-named file mentions 7 nanometre chips.", encoding="utf-8")
    report = _qa(tmp_path, small_corpus, hash_encoder).build()
    assert name in report.added and report.skipped == []


def test_an_added_file_with_a_very_long_name_gets_a_shorter_one(tmp_path, small_corpus, hash_encoder):
    source = tmp_path / ("b" * 250 + ".md")
    source.write_text("# Long\n\nA long name.\n", encoding="utf-8")
    report = _qa(tmp_path, small_corpus, hash_encoder).add([source])
    [added] = [name for name in report.added if name.startswith("bbbb")]
    assert len(added.encode()) <= 200 and added.endswith(".md")


def test_utf16_and_almost_utf8_text_is_decoded(tmp_path, small_corpus, hash_encoder):
    (small_corpus / "utf16.txt").write_bytes("미국 반도체 지원법의 보조금은 527억 달러이다.".encode("utf-16"))
    cut = ("중국은 상장 반도체 기업에 2조 3,000억 원의 보조금을 지급했다. " * 20 + "끝").encode()[:-1]
    (small_corpus / "cut.txt").write_bytes(cut)
    qa = _qa(tmp_path, small_corpus, hash_encoder)
    report = qa.build()
    assert {"utf16.txt", "cut.txt"} <= set(report.added)
    assert dict(report.warnings)["cut.txt"] == "cut.txt: 2 byte(s) that are not UTF-8 replaced by U+FFFD"
    texts = " ".join(c.text for c in qa.store.chunks)
    assert "527억 달러" in texts and "2조 3,000억 원" in texts


def test_symlinks_in_the_corpus_are_not_followed(tmp_path, small_corpus, hash_encoder):
    secret = tmp_path / "outside" / "passwd"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    (small_corpus / "passwd.txt").symlink_to(secret)
    (small_corpus / "status.txt").symlink_to("/proc/self/status")
    qa = _qa(tmp_path, small_corpus, hash_encoder)
    report = qa.build()
    reasons = dict(report.skipped)
    assert "symbolic link" in reasons["passwd.txt"] and "symbolic link" in reasons["status.txt"]
    assert sorted(report.added) == ["alpha.txt", "bravo.md"]
    assert not any("root:x" in c.text for c in qa.store.chunks)


def test_a_control_character_in_a_name_stays_on_its_line(tmp_path, small_corpus, hash_encoder, capsys):
    from reportqa.cli import _report

    (small_corpus / "empty\nskipped: INJECTED-LINE.txt").write_bytes(b"")
    (small_corpus / "bell\x07.txt").write_bytes(b"\x00\x01" * 10)
    report = _qa(tmp_path, small_corpus, hash_encoder).build()
    assert _report(report, quiet=True) == 3
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all(line.startswith("skipped: ") for line in lines)
    assert "empty\\nskipped: INJECTED-LINE.txt: file is empty" in lines[1]
    assert "bell\\x07.txt" in lines[0]


def test_a_document_over_the_chunk_ceiling_is_skipped_fast(tmp_path, small_corpus, hash_encoder):
    (small_corpus / "one-line.txt").write_text("가나다라마바사아자차" * 100 * 2_000, encoding="utf-8")  # 2 MB, no space
    sections = "\n\n".join(f"## Part {i}\n\nShort section {i}." for i in range(100))  # a chunk each
    (small_corpus / "many.md").write_text(sections, encoding="utf-8")
    started = time.perf_counter()
    report = _qa(tmp_path, small_corpus, hash_encoder, max_chunks_per_document=30).build()
    reasons = dict(report.skipped)
    assert "2,000,000 characters is more than the 30-chunk ceiling" in reasons["one-line.txt"]
    assert "chunks is more than the 30-chunk ceiling" in reasons["many.md"]
    assert "REPORTQA_MAX_CHUNKS_PER_DOCUMENT" in reasons["many.md"]
    assert sorted(report.added) == ["alpha.txt", "bravo.md"]
    assert time.perf_counter() - started < 10


# --- downloads: an overall deadline, and nothing unindexable stays in the corpus -------------------


class _Mirror(http.server.BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):  # noqa: N802 (http.server's naming)
        body, content_type, drip = self.routes.get(self.path, (b"not found", "text/plain", 0))
        self.send_response(200 if self.path in self.routes else 404)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            for start in range(0, len(body), 1 if drip else len(body) or 1):
                self.wfile.write(body[start : start + (1 if drip else len(body))])
                self.wfile.flush()
                time.sleep(drip)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def mirror():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Mirror)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _report_qa(tmp_path, encoder, **settings):
    from conftest import copy_corpus

    corpus = copy_corpus(tmp_path / "corpus")
    qa = _qa(tmp_path, corpus, encoder, **settings)
    qa.build()
    return qa, corpus


def test_a_download_that_drips_is_given_up_at_its_deadline(tmp_path, hash_encoder, mirror):
    qa, corpus = _report_qa(tmp_path, hash_encoder, fetch_deadline_s=1.5)
    before = sorted(p.name for p in corpus.iterdir())
    _Mirror.routes = {"/pdf/2306.11644": (b"%PDF-1.4 " + b"x" * 100, "application/pdf", 0.2)}  # one byte per 0.2 s
    started = time.perf_counter()
    results, report = qa.fetch_sources(only=["12"], arxiv_base=mirror)
    assert time.perf_counter() - started < 5
    assert "not finished within 1.5 s" in results[0].error and report is None
    assert sorted(p.name for p in corpus.iterdir()) == before


def test_a_downloaded_file_that_cannot_be_indexed_leaves_the_corpus(tmp_path, hash_encoder, mirror):
    qa, corpus = _report_qa(tmp_path, hash_encoder)
    before = sorted(p.name for p in corpus.iterdir())
    _Mirror.routes = {"/pdf/2306.11644": (b"%PDF-1.4 not really a PDF", "application/pdf", 0)}
    results, report = qa.fetch_sources(only=["12"], arxiv_base=mirror)
    assert "unreadable PDF" in results[0].error and results[0].error.endswith("not kept")
    assert results[0].path is None and report.skipped == []
    assert sorted(p.name for p in corpus.iterdir()) == before


# --- the web page gives the same one-line reason as the CLI -----------------------------------------


def test_uploads_of_broken_pdfs_show_their_reason_on_the_page(tmp_path, small_corpus, hash_encoder):
    from hostile import bomb_pdf, unknown_filter_pdf
    from reportqa.web import WebSession

    qa = _qa(tmp_path, small_corpus, hash_encoder)
    qa.build()
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "bomb.pdf").write_bytes(bomb_pdf(200_000_000))
    (uploads / "filter.pdf").write_bytes(unknown_filter_pdf())
    (uploads / "random.pdf").write_bytes(bytes(range(256)) * 8)
    status, sources = WebSession(qa).upload([str(p) for p in sorted(uploads.iterdir())])
    assert "indexed bomb.pdf" in status and "indexed filter.pdf" in status
    assert "partly indexed: bomb.pdf: page 2 unreadable (LimitReachedError" in status
    assert "partly indexed: filter.pdf: page 2 unreadable (NotImplementedError" in status
    assert "skipped random.pdf: random.pdf: unreadable PDF" in status and "not added" in status
    assert "bomb.pdf" in sources and "random.pdf" not in sources


def test_an_upload_can_be_cancelled_and_leaves_corpus_and_index_as_they_were(tmp_path, small_corpus, hash_encoder):
    from conftest import HashEncoder
    from reportqa.web import WebSession

    started = threading.Event()

    class SlowEncoder(HashEncoder):
        def encode_passages(self, texts, batch_size=16, progress=False):
            started.set()
            time.sleep(0.3)
            return super().encode_passages(texts)

    qa = _qa(tmp_path, small_corpus, SlowEncoder())
    qa.build()
    before_corpus = sorted(p.name for p in small_corpus.iterdir())
    before_index = sorted(p.name for p in (tmp_path / "index").iterdir())
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    for i in range(6):
        (uploads / f"part-{i}.md").write_text(f"# Part {i}\n\nPart {i} covers topic {i}.\n", encoding="utf-8")
    session = WebSession(qa)
    assert "nothing is being indexed" in session.cancel_upload()
    started.clear()
    result = {}
    worker = threading.Thread(target=lambda: result.update(status=session.upload(sorted(map(str, uploads.iterdir())))))
    worker.start()
    assert started.wait(30)
    assert "cancelling" in session.cancel_upload()
    worker.join(60)
    status, sources = result["status"]
    assert "indexing cancelled" in status and "part-" not in sources
    assert sorted(p.name for p in small_corpus.iterdir()) == before_corpus
    assert sorted(p.name for p in (tmp_path / "index").iterdir()) == before_index
    assert [d.path for d in qa.documents()] == ["alpha.txt", "bravo.md"]
