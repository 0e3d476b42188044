"""The chat in a real browser (Debian chromium driven by Playwright): a follow-up conversation, the
evidence viewer, the Markdown export, upload with progress and removal from the sources panel."""

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from conftest import PHI1_PDF, ROOT
from test_web import CHROMIUM, CHROMIUM_ARGS, served_report

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is installed by .ci/run"),
]
CHINA_SUBSIDY = "2조 3,000억 원"


@pytest.fixture(scope="module")
def chat(tmp_path_factory, encoder):
    from playwright.sync_api import sync_playwright

    with served_report(tmp_path_factory, encoder, "chat") as (qa, url), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page = context.new_page()
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_selector("#rq-question textarea", timeout=60_000)
        yield qa, page
        browser.close()


def _ask(page, question: str) -> str:
    """Send a question with Enter and return the text of the new turn."""
    turns = page.locator("#rq-chat .rq-turn-bot").count()
    box = page.locator("#rq-question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#rq-chat .rq-turn-bot').length === n", arg=turns + 1, timeout=60_000
    )
    return page.locator(f"#rq-turn-{turns + 1}").inner_text()


def _new_conversation(page) -> None:
    page.click("#rq-new")
    page.wait_for_function("() => document.querySelectorAll('#rq-chat .rq-turn-bot').length === 0")


@pytest.mark.parametrize(
    "first, follow_up",
    [
        ("How big are the chip subsidies in the US CHIPS Act?", "What about China?"),
        ("미국 반도체법의 보조금 규모는?", "그럼 중국은?"),
    ],
)
def test_a_follow_up_question_is_read_with_the_conversation(chat, first, follow_up):
    qa, page = chat
    _new_conversation(page)
    assert "527억 불" in _ask(page, first)
    second = page.locator("#rq-turn-2")
    _ask(page, follow_up)
    cards = second.locator(".rq-card")
    assert any(CHINA_SUBSIDY in cards.nth(i).inner_text() for i in range(cards.count()))
    assert "searched as:" in second.inner_text()
    # turns read top to bottom: the first question above the second
    users = page.locator("#rq-chat .rq-turn-user")
    assert users.nth(0).inner_text() == first and users.nth(1).inner_text() == follow_up
    # the same question alone, in a new conversation, is not read as a follow-up
    _new_conversation(page)
    assert "searched as:" not in _ask(page, follow_up)


def test_export_downloads_the_conversation_as_markdown(chat, tmp_path):
    _, page = chat
    _new_conversation(page)
    _ask(page, "미국의 R&D 지출은 2020년에 얼마였나?")
    _ask(page, "챗GPT 학습에 사용된 전력량은?")
    with page.expect_download(timeout=30_000) as download:
        page.click("#rq-export")
    path = tmp_path / "conversation.md"
    download.value.save_as(path)
    text = path.read_text(encoding="utf-8")
    assert "## 미국의 R&D 지출은 2020년에 얼마였나?" in text and "## 챗GPT 학습에 사용된 전력량은?" in text
    assert "7,209억 불" in text and "1.287GWh" in text
    assert "References:" in text and "[1] " in text


@pytest.mark.skipif(not PHI1_PDF.exists(), reason="shared phi-1 PDF not present")
def test_upload_view_the_cited_page_and_remove_the_document(chat, tmp_path):
    qa, page = chat
    _new_conversation(page)
    page.locator("input[type=file]").first.set_input_files(str(PHI1_PDF))
    # progress is shown while the PDF is indexed (Gradio's progress bar, fed by the build's counters)
    page.wait_for_selector("#rq-status .progress-text, #rq-sources .progress-text, .progress-text", timeout=30_000)
    page.wait_for_function(
        "() => document.querySelector('#rq-sources').textContent.includes('Textbooks Are All You Need')",
        timeout=180_000,
    )
    assert "indexed gunasekar2023" in page.locator("#rq-status").inner_text()

    turn = _ask(page, "What did phi-1 score on HumanEval?")
    assert "50.6%" in turn
    started = time.perf_counter()
    page.locator("#rq-turn-1 .rq-open").first.click()
    image = page.wait_for_selector("#rq-viewer .rq-page img", timeout=60_000)
    opened = time.perf_counter() - started
    width = page.evaluate("img => img.naturalWidth", image)
    assert width >= 600
    assert page.evaluate("img => img.src.startsWith('data:image/png;base64,')", image)
    assert page.locator("#rq-viewer .rq-box").count() >= 1
    print(f"\nevidence viewer: page image {width} px wide shown {opened:.2f}s after the click")
    page.wait_for_timeout(500)
    shot = tmp_path / "chat.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("REPORTQA_UPDATE_SCREENSHOT"):
        shutil.copy(shot, ROOT / "docs" / "screenshot.png")

    # the export of a PDF answer gives page numbers with its references
    with page.expect_download(timeout=30_000) as download:
        page.click("#rq-export")
    exported = tmp_path / "phi1.md"
    download.value.save_as(exported)
    assert re.search(r"\[\d\] Textbooks Are All You Need, .*, p\. \d+ — “", exported.read_text(encoding="utf-8"))

    # a report passage opens as text in its section, highlighted
    _ask(page, "챗GPT 학습에 사용된 전력량은?")
    page.locator("#rq-turn-2 .rq-open").first.click()
    page.wait_for_function(
        "() => document.querySelector('#rq-viewer mark.rq-hl')?.textContent.includes('1.287GWh')", timeout=30_000
    )
    assert page.locator("#rq-viewer .rq-page").count() == 0

    # remove the PDF from the sources panel (the confirmation accepted): its passages leave the answers
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#rq-sources .rq-remove[data-key='gunasekar2023-textbooks-are-all-you-need.pdf']").click()
    page.wait_for_function(
        "() => !document.querySelector('#rq-sources').textContent.includes('Textbooks Are All You Need')",
        timeout=60_000,
    )
    assert "removed gunasekar2023" in page.locator("#rq-status").inner_text()
    assert not (Path(qa.settings.corpus_dir) / PHI1_PDF.name).exists()
    after = _ask(page, "What did phi-1 score on HumanEval?")
    assert "Textbooks Are All You Need ·" not in after  # no passage of the PDF (the report's footnote names it)
    assert "Gunasekar et al. 2023 — not in the corpus" in after


def test_the_sources_table_fits_a_laptop_panel_and_scrolls_inside_it_on_a_phone(chat):
    """The Remove buttons stay reachable: the table fits its panel at 1024 px and, narrower, scrolls
    inside it rather than being cut off by the page."""
    _, page = chat
    measure = """() => {
        const wrap = document.querySelector('#rq-sources .rq-sources-wrap');
        const table = wrap.querySelector('table').getBoundingClientRect();
        return {table: table.right, wrap: wrap.getBoundingClientRect().right, scroll: wrap.scrollWidth,
                client: wrap.clientWidth, page: document.documentElement.scrollWidth, view: window.innerWidth};
    }"""
    try:
        for width in (1024, 420):
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(300)
            box = page.evaluate(measure)
            assert box["page"] <= box["view"]  # the page itself never scrolls sideways
            if width == 1024:
                assert box["table"] <= box["wrap"] + 1
            else:
                assert box["scroll"] > box["client"]
            remove = page.locator("#rq-sources .rq-remove").first
            remove.scroll_into_view_if_needed()
            button = remove.bounding_box()
            assert button and 0 <= button["x"] and button["x"] + button["width"] <= width
    finally:
        page.set_viewport_size({"width": 1400, "height": 1000})
