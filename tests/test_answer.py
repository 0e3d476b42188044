import numpy as np

from reportqa.answer import render, select_quotes, split_sentences
from reportqa.records import Chunk, Passage

TEXT = (
    "■ 첫 문장은 여기까지다. 두 번째 문장은 1.5% 성장을 말한다.\n"
    "- 항목 하나는 줄이 바뀌며\n\n이어지는 문장이다.\n* 별표 항목도 문장이다"
)


def test_split_sentences_spans_are_verbatim_and_marker_free():
    spans = [TEXT[a:b] for a, b in split_sentences(TEXT)]
    assert spans == [
        "첫 문장은 여기까지다.",
        "두 번째 문장은 1.5% 성장을 말한다.",
        "항목 하나는 줄이 바뀌며\n\n이어지는 문장이다.",
        "별표 항목도 문장이다",
    ]


def _passage(rank, text):
    chunk = Chunk(f"c{rank}", "d", text, "S", None, 0, len(text), "ko")
    return Passage(chunk, rank, 0.5, "T", "d.txt", row=rank - 1)


def test_select_quotes_picks_the_closest_sentence_and_cites_its_passage():
    passages = [_passage(1, "사과는 빨갛다. 바나나는 노랗다."), _passage(2, "포도는 보라색이다. 하늘은 파랗다.")]
    eye = np.eye(4, dtype=np.float32)
    indexed = {
        row: [(a, b, eye[2 * row + k]) for k, (a, b) in enumerate(split_sentences(p.chunk.text))]
        for row, p in enumerate(passages)
    }
    question = np.array([0, 0, 0, 1], dtype=np.float32)
    quotes = select_quotes(question, passages, indexed.__getitem__)
    assert [(q.text, q.passage_rank) for q in quotes] == [("하늘은 파랗다.", 2)]
    assert render(quotes) == "하늘은 파랗다. [2]"
