"""Plain-text and Markdown forms of an answer."""

from reportqa.records import Answer, Chunk, Passage, Quote
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
