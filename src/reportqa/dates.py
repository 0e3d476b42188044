"""Calendar months as one token, whatever way a date is written.

The report dates its events five ways ("2021년 9월", "23년 3월", a table's "21.09.29", "2023.03.16",
"(23.03)"), its sources and English questions two more ("September 2021", "2021-09-29"). Cut into
words, these share at most a year: "in September 2021" cannot find the table row "21.09.29 …
무역기술위원회(TTC) 출범", and "2023년 3월" matches every "3" of the report. A date written with its
month adds a token ``YYYY-MM`` to BM25's words, the same in either language. Two-part dates
("23.3") are decimals unless marked as a year ("‘23.3", "(23.03)", a four-digit year).
"""

from __future__ import annotations

import re

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
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
        ],
        start=1,
    )
    for name in names
}
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


def _year(written: str) -> int:
    year = int(written)
    if len(written) == 2:
        year += 2000 if year < 50 else 1900
    return year


def month_tokens(text: str) -> list[str]:
    """``YYYY-MM`` for each date of ``text`` that names its month (a two-digit year is 1950–2049)."""
    out = []
    for match in _DATE.finditer(text):
        groups = match.groupdict()
        kind = next(k for k in "kdpbwie" if groups.get(f"{k}_year"))
        written_year, written_month = groups[f"{kind}_year"], groups[f"{kind}_month"]
        month = _MONTHS[written_month.lower().rstrip(".")] if kind == "e" else int(written_month)
        if not 1 <= month <= 12 or (kind == "d" and not 1 <= int(groups["d_day"]) <= 31):
            continue
        year = _year(written_year)
        out.append(f"{year:04d}-{month:02d}")
    return out
