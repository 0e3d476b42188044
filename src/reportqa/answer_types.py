"""What kind of answer a question asks for, and whether a sentence holds one.

"몇 개", "얼마", "how many", "what score" ask for a number, often with a unit (개, 명, 곳, 배, %,
원, 달러, tokens, hours, layers …); "언제", "when", "what year" ask for a date. A sentence that holds a
number with the asked unit answers such a question better than one that only talks about it:
"phi-1 attains pass@1 accuracy 50.6% on HumanEval" rather than "phi-1 again achieves a score
significantly higher than StarCoder, as it did on HumanEval".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# a measure named as the question's last word asks for its value ("…의 나이는?"); mid-question it may
# ask which one ("어떤 비용을 줄일 수 있나?"). "수는" is a count as a word of its own ("회사 수는", "횟수는"),
# not as the end of another ("선수는", "교수는")
_NUMBER_KO = re.compile(
    r"몇|얼마|규모|(?:^|[\s횟개갯])수는|수치|비중|비율|점수|정확도|배\s*(?:늘|증가)|퍼센트|금액|액수"
    r"|(?:나이|기간|비용|가격|요금|용량|인구)(?:은|는|이|가)?\s*\??\s*$"
)
_NUMBER_EN = re.compile(
    r"\bhow (?:many|much|large|big|long|fast|deep|wide)\b|\bwhat (?:score|share|percentage|fraction|size|number|"
    r"amount|rate|accuracy|value|age|price|cost)\b|\bby what factor\b|\bscore\b|\baccuracy\b"
    r"|\bhow old\b|\bthe (?:age|cost|price) of\b",
    re.I,
)
# "…한 해는?", "…한 날은?", "…한 때는?": the year, day or time a clause describes
_DATE_KO = re.compile(r"언제|몇\s*년|연도|년도|시기|날짜|일자|(?:^|\s)(?:해|날|때)(?:는|가|은|이)?\s*\??\s*$")
_DATE_EN = re.compile(r"\bwhen\b|\bwhat (?:year|date|month)\b|\bwhich year\b", re.I)
_UNITS = {
    "개": r"개",
    "명": r"명",
    "곳": r"곳",
    "배": r"배",
    "톤": r"톤",
    "시간": r"시간|hours?",
    "%": r"%|퍼센트|percent",
    "퍼센트": r"%|퍼센트|percent",
    "원": r"원",
    "달러": r"달러|불|\$",
    "불": r"달러|불|\$",
    "tokens": r"tokens?|토큰",
    "토큰": r"tokens?|토큰",
    "hours": r"hours?|시간",
    "layers": r"layers?|층",
    "층": r"layers?|층",
    "steps": r"steps?|스텝",
    "스텝": r"steps?|스텝",
    "parameters": r"parameters?|매개변수|파라미터|[BM]\b|억|조",
    "파라미터": r"parameters?|매개변수|파라미터|[BM]\b|억|조",
    "매개변수": r"parameters?|매개변수|파라미터|[BM]\b|억|조",
    "percent": r"%|퍼센트|percent",
    "score": r"%",
    "점수": r"%|점",
    "정확도": r"%",
    "accuracy": r"%",
    "times": r"배|times|×|x\b",
    "나이": r"세|살",
    "old": r"years? old|세|살",
    "age": r"years? old|aged?\b|세|살",
    "기간": r"년|개월|달|주|일|시간|years?|months?|weeks?|days?",
    "인원": r"명|인",
}
# a one-syllable Korean counter is a unit only where it counts something in the question ("몇 명",
# "3 곳"): as a letter of another word it is none ("인원" is not 원, "설명" not 명, "재개발" not 개)
_COUNTERS = frozenset("개명곳배톤원불층")
_NUMBER = re.compile(r"(?<![A-Za-z0-9-])\d")  # not a name's digit: phi-1, GPT-4, A100
_YEAR = re.compile(r"(?:19|20)\d\d|\d{2}\.\d{1,2}\.|\d+년|\d+월")


@dataclass(frozen=True)
class AskedType:
    """The kind of answer a question asks for: "number", "date" or "" (anything), and the units it names."""

    kind: str = ""
    units: tuple[str, ...] = ()


def asked_type(question: str) -> AskedType:
    """The kind of answer ``question`` asks for (Korean or English)."""
    if not question:
        return AskedType()
    opens_with_number = _NUMBER_EN.match(question.strip())  # "How old was he when …" asks for an age
    if not opens_with_number and (_DATE_KO.search(question) or _DATE_EN.search(question)):
        return AskedType("date")
    if opens_with_number or _NUMBER_KO.search(question) or _NUMBER_EN.search(question):
        lowered = question.lower()
        # an English unit as a word of its own: "age" is not in "language", "times" not in "sometimes"
        units = tuple(unit for unit in _UNITS if re.search(_asked_unit(unit), lowered))
        return AskedType("number", units)
    return AskedType()


def _asked_unit(unit: str) -> str:
    if unit in _COUNTERS:
        return rf"(?:몇|\d)\s*{unit}"
    return rf"(?<![a-z]){re.escape(unit)}"


def type_match(asked: AskedType, sentence: str) -> float:
    """1 when ``sentence`` holds the asked kind of answer with an asked unit, 0.5 without the unit, else 0."""
    if asked.kind == "date":
        return 1.0 if _YEAR.search(sentence) else 0.0
    if asked.kind != "number" or not _NUMBER.search(sentence):
        return 0.0
    if not asked.units:
        return 1.0
    for unit in asked.units:
        # the unit right after the number, or after one word between ("770 GPU hours")
        if re.search(rf"\d[\d.,]*\s*(?:[^\s\d]+\s+)?(?:{_UNITS[unit]})", sentence, re.I):
            return 1.0
    return 0.5
