"""Dates written any way meet as one month token."""

import numpy as np
import pytest

from reportqa.dates import month_tokens, spell_dates
from reportqa.lexical import LexicalIndex, tokenize


@pytest.mark.parametrize(
    "text",
    [
        "21.09.29\t미국과 EU는 무역기술위원회(TTC) 출범",
        "2021.09.29",
        "2021. 9. 29.",
        "2021년 9월 29일",
        "21년 9월",
        "‘21.9월",
        "'21.9",
        "(21.09) 출범",
        "2021.09",
        "2021-09-29",
        "In September 2021",
        "Sept. 29, 2021",
        "on 29 September 2021",
        "2021. 9월",
    ],
)
def test_every_way_of_writing_a_month_gives_the_same_token(text):
    assert month_tokens(text) == ["2021-09"]


@pytest.mark.parametrize(
    "text",
    ["24.7%", "1.287GWh", "v2.3.1", "1.2.3", "(12.5) mm", "2.7배", "10년간 3월", "21.13.01", "(00년)", "3개월"],
)
def test_decimals_versions_and_durations_are_not_dates(text):
    assert month_tokens(text) == []


def test_two_digit_years_are_this_century_or_the_last():
    assert month_tokens("99년 12월, 49년 1월") == ["1999-12", "2049-01"]


def test_an_english_question_finds_the_korean_table_row_by_its_date():
    """The row shares only its date with the question: before months were tokens, "September 2021"
    matched nothing of "21.09.29" and the prose that says 2021 ranked first."""
    chunks = [
        "21.09.29\t무역기술위원회(TTC) 출범",
        "2021년 미국은 동맹국과 협력을 강화했다",
        "2021년 12월 국무원은 디지털경제계획을 발표",
    ]
    index = LexicalIndex([tokenize(c) for c in chunks])
    scores = index.scores(tokenize("What was launched in September 2021?"))
    assert int(np.argmax(scores)) == 0
    assert "2021-09" in tokenize("2021년 9월 출범한 것은?")


def test_compact_dates_are_spelled_out_in_the_passages_language():
    assert spell_dates("21.09.29\tTTC 출범, (23.03) 발표, ‘23.3 공개", "ko") == (
        "2021년 9월 29일\tTTC 출범, (2023년 3월) 발표, 2023년 3월 공개"
    )
    assert spell_dates("released 2023.03.16", "en") == "released March 16, 2023"
    written_out = "2021년 9월 29일, September 2021, 2021-09-29, 24.7%, 1.287GWh, v2.3.1"
    assert spell_dates(written_out, "ko") == written_out
