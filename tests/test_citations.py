import http.server
import threading

import numpy as np
import pytest

from conftest import PHI1_PDF, REPORT, copy_corpus
from reportqa import ReportQA, Settings
from reportqa.citations import describe, numbers_agree, parse_footnotes, parse_references, resolve
from reportqa.errors import ReportQAError

REPORT_TEXT = REPORT.read_text(encoding="utf-8")
needs_pdf = pytest.mark.skipif(not PHI1_PDF.exists(), reason="shared phi-1 PDF not present")


def test_all_seventeen_footnotes_are_parsed_with_their_text():
    notes = parse_footnotes(REPORT_TEXT)
    assert list(notes) == [str(n) for n in range(1, 18)]
    assert notes["1"].text.startswith("최근 OpenLLM Leaderboard")
    assert notes["3"].text.startswith("Business Post(2023.3.10.)")
    assert notes["9"].text.startswith("경향신문(23.2.1.)")
    assert notes["12"].title == "Textbooks Are All You Need" and notes["12"].arxiv == "2306.11644"
    assert notes["12"].label == "Gunasekar et al. 2023"
    assert notes["14"].text.startswith("中共中央國務院")
    assert notes["17"].text.startswith("21년 6월 미국 하원이")


def test_section_headings_are_not_footnotes():
    texts = [note.text for note in parse_footnotes(REPORT_TEXT).values()]
    for heading in (
        "AI 기술 진화의 경로 다양성",
        "AI 혁신의 초기 투자규모와 자본의 회임주기",
        "미국의 對중국 기술수출 통제와 견제",
        "중국의 기술추격과 전략적 대응",
    ):
        assert heading not in texts


def test_reference_list_entries():
    refs = parse_references(REPORT_TEXT)
    assert len(refs) == 23
    brown = refs[2]
    assert (brown.label, brown.year, brown.title) == (
        "Brown et al. 2020",
        "2020",
        "Language models are few-shot learners",
    )
    assert refs[19].url == "http://www.ainet.link/10156"


def test_resolution_needs_the_title_in_the_citation():
    note = describe("12", "Gunasekar, S., ... & Li, Y. (2023). Textbooks Are All You Need. arXiv:2306.11644.")
    assert resolve(note, {"d1": "Textbooks Are All You Need", "d2": "Other Paper Title Here"}, "report") == "d1"
    assert resolve(note, {"d2": "Other Paper Title Here"}, "report") is None
    assert resolve(note, {"report": "Textbooks Are All You Need"}, "report") is None  # never itself


def test_numbers_agree_or_differ():
    assert numbers_agree("HumanEval에서 50.6%를 기록", "phi-1 attains 50.6% on HumanEval") == "agree"
    assert numbers_agree("HumanEval에서 50.6%를 기록", "phi-1 attains 45% on HumanEval") == "differ"
    assert numbers_agree("성적을 획득", "phi-1 attains 50.6%") is None


@pytest.mark.slow
@needs_pdf
def test_footnote_12_resolves_with_support_once_the_pdf_is_added_and_unresolves_when_removed(tmp_path, encoder):
    corpus = tmp_path / "corpus"
    copy_corpus(corpus)
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=corpus, encoder=encoder)
    qa.build()
    question = "phi-1 모델의 HumanEval 성능은?"

    def footnote_12(answer):
        return [c for p in answer.passages for c in p.cites if c.marker == "12"]

    before = footnote_12(qa.ask(question))
    assert before and all(c.doc is None and c.support is None for c in before)
    assert [t for _, r, t in qa.sources() if r.marker == "12"] == [None]

    qa.add([PHI1_PDF])
    record = qa.ask(question).to_dict()
    cites = [
        c
        for p in record["passages"]
        if p["doc"] == "spri-2023-ai-competition.txt"
        for c in p["cites"]
        if c["marker"] == "12"
    ]
    assert cites and cites[0]["doc"] == PHI1_PDF.name
    assert "50.6%" in cites[0]["support"]["text"] and cites[0]["agreement"] == "agree"
    assert [t for _, r, t in qa.sources() if r.marker in ("12", "R5")] == [PHI1_PDF.name, PHI1_PDF.name]

    qa.remove([PHI1_PDF.name])
    assert all(c.doc is None for c in footnote_12(qa.ask(question)))


class _Server(http.server.BaseHTTPRequestHandler):
    routes: dict = {}
    asked: list = []  # the paths requested, in order

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.asked.append(self.path)
        body, content_type = self.routes.get(self.path, (b"not found", "text/plain"))
        self.send_response(200 if self.path in self.routes else 404)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client refused the body after reading the headers, as it should

    def log_message(self, *args):
        pass


@pytest.fixture
def arxiv_mirror():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@needs_pdf
def test_fetch_refuses_oversized_and_wrong_type_responses_without_touching_the_corpus(
    tmp_path, arxiv_mirror, hash_encoder
):
    server, base = arxiv_mirror
    corpus = tmp_path / "corpus"
    copy_corpus(corpus)
    qa = ReportQA(
        index_dir=tmp_path / "index",
        corpus_dir=corpus,
        encoder=hash_encoder,
        settings=Settings(second_encoder="none", max_file_mb=1.0),
    )
    qa.build()
    before = sorted(p.name for p in corpus.iterdir())

    _Server.routes = {"/pdf/2306.11644": (PHI1_PDF.read_bytes(), "application/pdf")}  # 1.4 MB > 1 MB
    results, report = qa.fetch_sources(only=["12"], arxiv_base=base)
    assert "over the 1 MB limit" in results[0].error and report is None

    _Server.routes = {"/pdf/2306.11644": (b'{"not": "a paper"}', "application/json")}
    results, _ = qa.fetch_sources(only=["12"], arxiv_base=base)
    assert "refused content type 'application/json'" in results[0].error
    assert sorted(p.name for p in corpus.iterdir()) == before

    results, _ = qa.fetch_sources(only=["12"], arxiv_base="http://127.0.0.1:9")  # nothing listens there
    assert "no network?" in results[0].error


def test_fetch_into_a_corpus_path_that_is_a_file_is_refused_before_downloading(tmp_path, arxiv_mirror, hash_encoder):
    server, base = arxiv_mirror
    corpus = tmp_path / "corpus"
    copy_corpus(corpus)
    settings = Settings(second_encoder="none")
    ReportQA(index_dir=tmp_path / "index", corpus_dir=corpus, encoder=hash_encoder, settings=settings).build()
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("a file, not the corpus")
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=not_a_folder, encoder=hash_encoder, settings=settings)
    _Server.routes = {"/pdf/2306.11644": (b"%PDF-1.4 never asked for", "application/pdf")}
    _Server.asked.clear()
    with pytest.raises(ReportQAError, match="the corpus folder .*notes.txt is not a folder"):
        qa.fetch_sources(only=["12"], arxiv_base=base)
    assert _Server.asked == [] and not_a_folder.read_text() == "a file, not the corpus"


@pytest.mark.slow
@needs_pdf
def test_fetch_from_a_local_mirror_adds_and_indexes_the_pdf(tmp_path, arxiv_mirror, encoder):
    import json

    from reportqa.cli import main

    server, base = arxiv_mirror
    _Server.routes = {"/pdf/2306.11644": (PHI1_PDF.read_bytes(), "application/pdf")}
    corpus = tmp_path / "corpus"
    copy_corpus(corpus)
    dirs = ["--corpus", str(corpus), "--index", str(tmp_path / "index")]
    assert main(["build", "-q", *dirs]) == 0
    assert main(["sources", "--fetch", "--only", "12", "--arxiv-base", base, "-q", *dirs]) == 0
    meta = json.loads((corpus / "arxiv-2306.11644.pdf.meta.json").read_text(encoding="utf-8"))
    assert meta["source_url"] == f"{base}/pdf/2306.11644" and len(meta["sha256"]) == 64
    assert meta["title"] == "Textbooks Are All You Need"
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=corpus, encoder=encoder)
    assert [t for _, r, t in qa.sources() if r.marker == "12"] == ["arxiv-2306.11644.pdf"]
    assert np.any(["770 GPU hours" in c.text for c in qa.store.chunks])
