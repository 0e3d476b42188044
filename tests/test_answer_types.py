"""The kind of answer a question asks for, and which sentence holds one."""

import pytest

from reportqa.answer import select_quotes
from reportqa.answer_types import AskedType, asked_type, type_match
from reportqa.records import Chunk, Passage


@pytest.mark.parametrize(
    "question, kind, unit",
    [
        ("What did phi-1 score on HumanEval?", "number", "score"),
        ("How many GPU hours did it take to train phi-1?", "number", "hours"),
        ("2022년 말 기준 미국 제재 명단에 오른 중국 회사 수는?", "number", None),
        ("중국이 통제한 갈륨 관련 품목은 몇 개인가?", "number", "개"),
        ("일본은 언제 인도태평양경제프레임워크에 참여했나?", "date", None),
        ("When did the EU AI Act enter into force?", "date", None),
        ("Which US state banned TikTok?", "", None),
    ],
)
def test_question_types(question, kind, unit):
    asked = asked_type(question)
    assert asked.kind == kind
    if unit:
        assert unit in asked.units


def test_a_sentence_with_the_asked_unit_matches_best():
    asked = asked_type("How many GPU hours did it take to train phi-1?")
    assert type_match(asked, "phi-1-base was trained for 770 GPU hours") == 1.0
    assert type_match(asked, "trained on 8 A100s for 4 days") == 0.5
    assert type_match(asked, "training took a long time") == 0.0
    assert type_match(AskedType(), "770 GPU hours") == 0.0
    assert type_match(asked, "phi-1 is obtained by finetuning on GPT-4 data with A100s") == 0.0  # names' digits


def test_the_sentence_with_the_number_is_quoted_for_a_score_question():
    import numpy as np

    text = (
        "phi-1 again achieves a score significantly higher than StarCoder, as it did on HumanEval. "
        "Despite this small scale, phi-1 attains pass@1 accuracy 50.6% on HumanEval."
    )
    chunk = Chunk("c1", "d1", text, "Results", 1, 0, len(text), "en")
    passage = Passage(chunk, 1, 5.0, "phi-1", "phi1.pdf", row=0)
    first, second = text.split(". ")[0] + ".", text.split(". ")[1]
    vectors = {0: np.array([1.0, 0.0]), 1: np.array([0.98, 0.2])}  # the vaguer sentence is a little closer

    def sentences_of(row):
        return [(0, len(first), vectors[0]), (len(first) + 1, len(text), vectors[1])]

    quotes = select_quotes(np.array([1.0, 0.0]), [passage], sentences_of, max_quotes=1)
    assert quotes[0].text == first  # by similarity alone
    quotes = select_quotes(
        np.array([1.0, 0.0]), [passage], sentences_of, max_quotes=1, question="What did phi-1 score on HumanEval?"
    )
    assert quotes[0].text == second
