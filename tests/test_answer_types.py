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
        ("닉슨이 부통령으로 선출된 나이는?", "number", "나이"),
        ("How old was Nixon when he was elected vice president?", "number", "old"),
        ("와우시민아파트의 공사기간은?", "number", "기간"),
        ("드라이빙 아카데미에서 가장 고가인 프로그램 비용은?", "number", None),
        ("차범근이 만기 전역한 해는?", "date", None),
        ("국왕 가족이 파리로 끌려오게 된 날은?", "date", None),
        ("김영삼이 가택연금을 당하게 된 때는?", "date", None),
        ("일본군이 독가스를 살포하기 시작한 년도는?", "date", None),
        # a measure's word inside another word, or asked as "which one", is not a number question
        ("phi-1은 어느 모델의 토크나이저를 그대로 썼나?", "", None),
        ("작은 모델은 LLM의 어떤 비용을 줄일 수 있나?", "", None),
        ("해마는 어디에 위치해 있는가?", "", None),
        ("투어를 할 때 오프닝을 맡은 사람은?", "", None),
        ("강정호를 해결사 역할로 장담한 선수는?", "", None),
        ("이 팀의 한 시즌 경기 횟수는?", "number", None),
    ],
)
def test_question_types(question, kind, unit):
    asked = asked_type(question)
    assert asked.kind == kind
    if unit:
        assert unit in asked.units


def test_a_korean_counter_is_a_unit_only_after_a_number_word():
    assert asked_type("BMW-Ring Taxi 서비스에 동반 탑승할 수 있는 최대 인원 수는?").units == ("인원",)  # not 원
    assert asked_type("재개발 사업으로 철거된 주택은 몇 채인가?").units == ()  # not 개
    assert asked_type("시위 과정에서 몇 명이 연행되었나?").units == ("명",)
    assert asked_type("설명회에 참석한 기업은 몇 곳인가?").units == ("곳",)  # not 명
    assert type_match(asked_type("최대 인원 수는?"), "가격은 216유로로 최대 3인까지 동반 탑승 가능하다.") == 1.0


def test_an_english_unit_is_a_word_of_its_own():
    assert asked_type("How many languages does the model cover?").units == ()  # not "age"
    assert asked_type("How many times bigger is it?").units == ("times",)
    assert type_match(asked_type("닉슨이 부통령으로 선출된 나이는?"), "불과 39세의 나이로 당선되었다.") == 1.0


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
