"""Plain-text and Markdown forms of an answer."""

import re

from reportqa.chat_html import passage_card, sources_html
from reportqa.records import Answer, Chunk, DocumentEntry, Passage, Quote
from reportqa.render import answer_markdown


def _passage(rank: int, text: str) -> Passage:
    chunk = Chunk(f"c{rank}", "d", text, "S", 3, 0, len(text), "ko")
    return Passage(chunk, rank, 1.0, "Report", "report.txt", row=rank - 1)


def test_a_reference_quotes_its_sentences_in_the_texts_order():
    """The answer puts the sentence that answers first; the reference reads as the text does."""
    text = "푸시캣 돌스는 월드 투어에 나섰다. 유럽 공연에서는\n레이디 가가가 오프닝을 맡았다."
    answering, introducing = "유럽 공연에서는\n레이디 가가가 오프닝을 맡았다.", "푸시캣 돌스는 월드 투어에 나섰다."
    quotes = [Quote(answering, 1), Quote(introducing, 1)]
    answer = Answer(
        "누가 오프닝을 맡았나?", "… [1] … [1]", [_passage(1, text), _passage(2, "다른 구절.")], quotes=quotes
    )
    markdown = answer_markdown(answer)
    reference = next(line for line in markdown.splitlines() if line.startswith("[1]"))
    assert reference.endswith("“푸시캣 돌스는 월드 투어에 나섰다. … 유럽 공연에서는 레이디 가가가 오프닝을 맡았다.”")
    assert "[2]" not in markdown.split("References:")[1]  # only quoted passages are references


def test_bidi_controls_in_document_text_cannot_reverse_the_citation_after_them():
    """A title or quote holding RIGHT-TO-LEFT OVERRIDE would show "p. 3 · score" reversed after it; the
    page drops the controls from what it shows and keeps them in the keys it sends back."""
    rlo_path = "report\u202etxt.md"
    text = "보조금은 \u202e2조 원\u2066이다."
    passage = Passage(Chunk("c1", "d", text, "S\u202b", 3, 0, len(text), "ko"), 1, 1.0, "Re\u202eport", rlo_path, row=0)
    card = passage_card(passage, [text], turn=1)
    assert not re.search("[\u202a-\u202e\u2066-\u2069]", card.split("data-key")[0])
    assert "Report · S · p. 3 · score 1.00" in card and "<mark>보조금은 2조 원이다.</mark>" in card
    entry = DocumentEntry("d", rlo_path, "T\u202eitle", "ko", 1, False, ["c1"], "2026-01-01T00:00:00")
    table = sources_html([entry], [])
    assert f"data-key='{rlo_path}'" in table  # Remove still names the file exactly
    assert "<td>Title<br><small>reporttxt.md · ko</small>" in table
