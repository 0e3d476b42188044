"""Calendar months as one token, whatever way a date is written.

The report dates its events five ways ("2021년 9월", "23년 3월", a table's "21.09.29", "2023.03.16",
"(23.03)"), its sources and English questions two more ("September 2021", "2021-09-29"). Cut into
words, these share at most a year: "in September 2021" cannot find the table row "21.09.29 …
무역기술위원회(TTC) 출범", and "2023년 3월" matches every "3" of the report. A date written with its
month adds a token ``YYYY-MM`` to BM25's words, the same in either language. Two-part dates
("23.3") are decimals unless marked as a year ("‘23.3", "(23.03)", a four-digit year).

e5 reads a compact date as numbers: "21.09.29" is about as near "September 2021" as "22.05.04" is. It
embeds such dates spelled out in the passage's language (``spell_dates``: "2021년 9월 29일"), which
brings an English question's month to the Korean row; the stored and quoted text is unchanged.
"""

from __future__ import annotations

import re

_SPELLINGS = [
    ("january", "jan"),
    ("february", "feb"),
    ("march", "mar"),
    ("april", "apr"),
    ("may",),
    ("june", "jun"),
    ("july", "jul"),
    ("august", "aug"),
    ("september", "sept", "sep"),
    ("october", "oct"),
    ("november", "nov"),
    ("december", "dec"),
]
_MONTHS = {name: number for number, names in enumerate(_SPELLINGS, start=1) for name in names}
_MONTH_NAME = "|".join(sorted(_MONTHS, key=len, reverse=True))
_QUOTE = "[‘'’`]"
_DATE = re.compile(
    # 2021년 9월, 23년 3월, ‘23년 3월, 2020. 12월
    rf"(?<![\d.,])(?P<k_year>(?:19|20)?\d\d)\s*(?:년|\.)\s*(?P<k_month>\d{{1,2}})\s*월"
    # 21.09.29, 2023.03.16, 2023. 3. 16.
    rf"|(?<![\d.,])(?P<d_year>(?:19|20)?\d\d)\.\s?(?P<d_month>\d{{1,2}})\.\s?(?P<d_day>\d{{1,2}})(?![\d,]|\.\d)"
    # 2023.03, ‘23.3, (23.03): two parts are a decimal unless the year is whole or marked
    rf"|{_QUOTE}(?P<p_year>\d\d)\.(?P<p_month>\d{{1,2}})(?![\d,]|\.\d)"
    rf"|(?<=\()(?P<b_year>\d\d)\.(?P<b_month>\d\d)(?=\))"
    rf"|(?<![\d.,])(?P<w_year>(?:19|20)\d\d)\.(?P<w_month>\d{{1,2}})(?![\d,%]|\.\d)"
    # 2021-09-29, 2021-09
    rf"|(?<![\d.-])(?P<i_year>(?:19|20)\d\d)-(?P<i_month>\d{{1,2}})(?:-\d{{1,2}})?(?![\d-])"
    # September 2021, Sep. 29, 2021, 29 September 2021
    rf"|\b(?P<e_month>{_MONTH_NAME})\.?\s+(?:\d{{1,2}}(?:st|nd|rd|th)?,?\s+)?(?P<e_year>(?:19|20)\d\d)(?!\d)",
    re.IGNORECASE,
)


_MONTH_NAMES = [names[0].capitalize() for names in _SPELLINGS]
_COMPACT = frozenset("dpbw")  # the kinds of date e5 reads as numbers


def _year(written: str) -> int:
    year = int(written)
    if len(written) == 2:
        year += 2000 if year < 50 else 1900
    return year


def _parsed(match: re.Match) -> tuple[str, int, int, int | None] | None:
    """(kind, year, month, day or None) of a match of ``_DATE``; None where it is no calendar date."""
    groups = match.groupdict()
    kind = next(k for k in "kdpbwie" if groups.get(f"{k}_year"))
    written_month = groups[f"{kind}_month"]
    # casefolded: the pattern ignores case the Unicode way, so "ſep" (a long s) matched "sep"
    month = _MONTHS.get(written_month.casefold().rstrip(".")) if kind == "e" else int(written_month)
    day = int(groups["d_day"]) if kind == "d" else None
    if month is None or not 1 <= month <= 12 or (day is not None and not 1 <= day <= 31):
        return None
    return kind, _year(groups[f"{kind}_year"]), month, day


def month_tokens(text: str) -> list[str]:
    """``YYYY-MM`` for each date of ``text`` that names its month (a two-digit year is 1950–2049)."""
    dates = (_parsed(match) for match in _DATE.finditer(text))
    return [f"{year:04d}-{month:02d}" for _, year, month, _ in filter(None, dates)]


def spell_dates(text: str, language: str) -> str:
    """``text`` with its compact dates ("21.09.29", "2023.03", "(23.03)") written out in ``language``
    ("2021년 9월 29일", "September 29, 2021"): what e5 embeds."""

    def spelled(match: re.Match) -> str:
        date = _parsed(match)
        if date is None or date[0] not in _COMPACT:
            return match.group()
        _, year, month, day = date
        if language == "ko":
            return f"{year}년 {month}월" + (f" {day}일" if day else "")
        return f"{_MONTH_NAMES[month - 1]} " + (f"{day}, " if day else "") + str(year)

    return _DATE.sub(spelled, text)
