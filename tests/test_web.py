"""The web chat through Gradio's client and in a real browser (Debian chromium driven by Playwright)."""

import contextlib
import socket
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import PHI1_PDF, copy_corpus
from reportqa import ReportQA
from reportqa.chat_html import Turn, answer_html, chat_html, sources_html
from reportqa.web import CSS, WebSession, build_app

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
XSS_DOC = """# 악성 코드 시험 문서

## 스크립트

이 문서는 펭귄 항해 규정을 설명한다. <script>window.__xss = 1</script> 펭귄 항해 규정은 세 가지이다.
<img src="x" onerror="window.__xss = 2"> 펭귄은 남쪽으로 항해한다.
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served_report(tmp_path_factory, encoder, name: str):
    """The web app on a free local port over a fresh index of the report: (ReportQA, URL)."""
    corpus = copy_corpus(tmp_path_factory.mktemp(f"{name}-corpus"))
    qa = ReportQA(index_dir=tmp_path_factory.mktemp(f"{name}-index"), corpus_dir=corpus, encoder=encoder)
    qa.build()
    app = build_app(qa)
    port = _free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, css=CSS)
    try:
        yield qa, f"http://127.0.0.1:{port}/"
    finally:
        app.close()


@pytest.fixture(scope="module")
def web(tmp_path_factory, encoder):
    with served_report(tmp_path_factory, encoder, "web") as served:
        yield served


def _add_hostile_document(qa, folder):
    path = folder / "xss-note.md"
    path.write_text(XSS_DOC, encoding="utf-8")
    qa.add([path])


def test_rendering_escapes_document_text(web, tmp_path):
    qa, _ = web
    _add_hostile_document(qa, tmp_path)
    html = chat_html([Turn("펭귄 <b>항해</b>", qa.ask("펭귄 항해 규정은 무엇인가?"))])
    assert "펭귄 &lt;b&gt;항해&lt;/b&gt;" in html
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in html


def test_client_korean_and_english_questions_cite_the_report(web):
    from gradio_client import Client

    _, url = web
    client = Client(url, verbose=False)
    korean = client.predict("챗GPT 학습에 사용된 전력량은?", 5, api_name="/ask")[0]
    assert "1.287GWh" in korean and "<mark>" in korean and "인공지능의 혁신 특성과 글로벌 경쟁구조" in korean
    english = client.predict(
        "What equipment did the US ask the Netherlands to stop exporting to China?", 5, api_name="/ask"
    )[0]
    assert "rq-card" in english and "인공지능의 혁신 특성과 글로벌 경쟁구조" in english


@pytest.mark.skipif(not PHI1_PDF.exists(), reason="shared phi-1 PDF not present")
def test_upload_makes_the_pdf_searchable_and_rejects_bad_files(web, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    qa, url = web
    client = Client(url, verbose=False)
    bad = tmp_path / "notes.exe"
    bad.write_bytes(b"MZ")
    with pytest.raises(AppError, match="Invalid file type"):
        client.predict([handle_file(str(bad))], api_name="/upload")
    status, sources = client.predict([handle_file(str(PHI1_PDF))], api_name="/upload")
    assert "indexed gunasekar2023" in status or "nothing changed" in status
    assert "Textbooks Are All You Need" in sources
    assert not (Path(qa.settings.corpus_dir) / "notes.exe").exists()
    answer = client.predict("How many GPU hours did it take to train phi-1?", 5, api_name="/ask")[0]
    assert "770 GPU hours" in answer


def test_twenty_concurrent_questions(web):
    from gradio_client import Client

    _, url = web
    questions = ["미국의 R&D 지출은 2020년에 얼마였나?", "Which AI process did the G7 agree to launch?"] * 10

    def ask(question):
        return Client(url, verbose=False).predict(question, 3, api_name="/ask")[0]

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(ask, questions))
    assert len(answers) == 20 and all("rq-card" in a for a in answers)


def test_uploads_of_the_wrong_type_or_size_are_rejected_and_nothing_is_touched(web, tmp_path):
    qa, _ = web
    before = sorted(p.name for p in Path(qa.settings.corpus_dir).iterdir())
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * 2_000_000)
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ")
    status, _ = WebSession(qa, max_upload_mb=1).upload([str(big), str(exe)])
    assert "rejected big.txt: 2.0 MB is over the 1 MB upload limit" in status
    assert "rejected tool.exe: only .txt, .md, .pdf files can be added" in status
    assert sorted(p.name for p in Path(qa.settings.corpus_dir).iterdir()) == before


def test_an_uploaded_pdf_that_cannot_be_read_is_reported_and_not_kept(web, tmp_path):
    qa, _ = web
    corpus = Path(qa.settings.corpus_dir)
    before = sorted(p.name for p in corpus.iterdir())
    broken = tmp_path / "broken <img src=x>.pdf"
    broken.write_bytes(b"%PDF-1.4 cut short")
    status, _ = WebSession(qa).upload([str(broken)])
    name = "broken &lt;img src=x&gt;.pdf"
    assert f"skipped {name}: {name}: unreadable PDF" in status
    assert "; not added" in status and "<img" not in status
    assert sorted(p.name for p in corpus.iterdir()) == before


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is installed by .ci/run")
def test_browser_question_answer_and_no_script_runs(web, tmp_path):
    from playwright.sync_api import sync_playwright

    qa, url = web
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url, wait_until="domcontentloaded")
        box = page.wait_for_selector("#rq-question textarea", timeout=60_000)

        timings = []
        questions = [
            "챗GPT 학습에 사용된 전력량은?",
            "미국이 네덜란드에 요청한 수출 금지 대상 장비는?",
            "Which AI process did the G7 leaders agree to launch?",
            "중국이 수입하는 반도체 규모는?",
            "What council did the US and the EU launch in 2021?",
            "틱톡 사용을 전면 금지한 미국의 주는?",
            "How many Chinese firms were on the Entity List by the end of 2022?",
            "바이두가 공개한 챗봇의 이름은?",
            "How much faster does the H100 train than the A100?",
            "How much did the United States spend on R&D in 2020?",
        ]
        for question in questions:
            box.fill(question)
            started = time.perf_counter()
            box.press("Enter")
            page.wait_for_function(
                "n => document.querySelectorAll('#rq-chat .rq-turn-bot').length === n",
                arg=len(timings) + 1,
                timeout=60_000,
            )
            timings.append(time.perf_counter() - started)
        last_card = page.locator("#rq-turn-10 .rq-card").first
        assert "7,209억 불" in last_card.inner_text()
        assert "1.287GWh" in page.locator("#rq-turn-1").inner_text()
        page.wait_for_timeout(800)  # let the fade-in of the new answer finish before the screenshot
        shot = tmp_path / "answer.png"
        page.screenshot(path=str(shot))
        print(f"\nEnter → rendered answer: median {statistics.median(timings):.3f}s over {len(timings)} questions")

        _add_hostile_document(qa, tmp_path)
        box.fill("펭귄 항해 규정은 무엇인가?")
        box.press("Enter")
        page.wait_for_function(
            "() => document.querySelector('#rq-chat').textContent.includes('window.__xss = 1')", timeout=60_000
        )
        assert page.evaluate("() => window.__xss === undefined")
        assert page.locator("#rq-chat img").count() == 0
        assert "<script>window.__xss = 1</script>" in page.locator("#rq-chat").inner_text()
        browser.close()


@pytest.mark.skipif(not PHI1_PDF.exists(), reason="shared phi-1 PDF not present")
def test_questions_are_answered_from_the_old_index_while_a_pdf_is_indexed(tmp_path, encoder):
    import threading

    corpus = tmp_path / "corpus"
    copy_corpus(corpus)
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=corpus, encoder=encoder)
    qa.build()
    adding = threading.Thread(target=qa.add, args=([PHI1_PDF],))
    adding.start()
    latencies = []
    while adding.is_alive():
        started = time.perf_counter()
        answer = qa.ask("챗GPT 학습에 사용된 전력량은?")
        latencies.append(time.perf_counter() - started)
        assert "1.287GWh" in answer.passages[0].chunk.text
        time.sleep(0.5)
    adding.join()
    assert len(latencies) >= 5 and max(latencies) < 10
    assert "770 GPU hours" in qa.ask("How many GPU hours did training phi-1 take?").passages[0].chunk.text


@pytest.mark.skipif(not PHI1_PDF.exists(), reason="shared phi-1 PDF not present")
def test_cited_work_and_its_support_are_shown_under_the_passage(web):
    qa, _ = web
    qa.add([PHI1_PDF])
    html = answer_html(qa.ask("phi-1 모델의 HumanEval 성능은?"), 1)
    assert "cites [12] Gunasekar et al. 2023 — in the corpus: Textbooks Are All You Need" in html
    assert "50.6%" in html and "<details class='rq-cites'>" in html
    assert "Cited works in the corpus: 2 of 40" in sources_html(qa.documents(), qa.sources())
