"""What a passage cites: footnotes, reference-list entries, and the cited documents in the corpus.

The report backs its claims with footnotes — superscript lines (``¹² Gunasekar, S., … (2023).
Textbooks Are All You Need …``) and plain-digit lines (``9 경향신문(23.2.1.) …``) that must be told
apart from numbered section headings (``1 AI 기술 진화의 경로 다양성``) — and with a reference
list. A footnote is resolved to a corpus document when the document's title appears in it, and a
resolved citation gets the passage of the cited document that best supports the citing sentence.
"""

from __future__ import annotations

import re

import numpy as np

from .outline import FOOTNOTE_SUP, ITEM, NUMBERED, REFERENCES, SUP_TO_DIGIT, Outline
from .records import Citation, Reference, Support

_SUPERSCRIPT_RUN = re.compile(r"^([¹²³⁴⁵⁶⁷⁸⁹⁰]+)[)⁾]?\s*")
_YEAR = re.compile(r"\((\d{4})[a-z]?[^)]*\)")
_ARXIV = re.compile(r"arXiv[:\s]*(\d{4}\.\d{4,5})", re.IGNORECASE)
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s,;]+)")
_URL = re.compile(r"https?://[^\s<>)\]]+")
_WORDS = re.compile(r"[0-9a-z가-힣]+")
MIN_TITLE_CHARS = 12
SUPPORT_MIN_SIMILARITY = 0.80


def parse_footnotes(text: str) -> dict[str, Reference]:
    """Footnote number → footnote, for superscript and plain-digit footnote lines."""
    outline = Outline()
    notes: dict[str, Reference] = {}
    last = 0
    for raw in text.splitlines():
        line = raw.strip()
        if not line or outline.heading(line):
            continue
        if FOOTNOTE_SUP.match(line):
            marks = _SUPERSCRIPT_RUN.match(line)
            number = int(marks.group(1).translate(SUP_TO_DIGIT))
            body = line[marks.end() :]
        elif (m := NUMBERED.match(line)) and not ITEM.match(line) and m.group(2) is None:
            number, body = int(m.group(1)), m.group(3)
            if number != last + 1:
                continue
        else:
            continue
        notes[str(number)] = describe(str(number), body.strip())
        last = number
    return notes


def parse_references(text: str) -> list[Reference]:
    """Entries of the reference list (after a ``참고문헌``/``References`` heading), one per line."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if REFERENCES.match(line.strip())), None)
    if start is None:
        return []
    entries = []
    for line in lines[start + 1 :]:
        body = line.strip().lstrip("-•* ").strip()
        if len(body) >= 8:
            entries.append(describe(f"R{len(entries) + 1}", body))
    return entries


def describe(marker: str, text: str) -> Reference:
    """Pull authors, year, title and identifiers out of an APA-like citation when they are there."""
    clean = text.replace("*", "")
    authors = year = title = ""
    if m := _YEAR.search(clean):
        year = m.group(1)
        head = clean[: m.start()].strip().rstrip(",")
        if re.search(r"[A-Za-z]\.,|&", head):
            authors = head
            rest = clean[m.end() :].lstrip(". ")
            title = re.split(r"(?<=[a-z0-9?])\.\s", rest, maxsplit=1)[0].strip().rstrip(".")
    arxiv = m.group(1) if (m := _ARXIV.search(clean)) else ""
    doi = m.group(1).rstrip(".") if (m := _DOI.search(clean)) else ""
    url = m.group(0).rstrip(".>") if (m := _URL.search(clean)) else ""
    return Reference(marker, text, authors, year, title, arxiv, doi, url)


def _words(text: str) -> str:
    return " ".join(_WORDS.findall(text.lower()))


def resolve(reference: Reference, documents: dict[str, str], citing_doc: str) -> str | None:
    """The id of the corpus document whose title the citation names (``documents``: id → title)."""
    cited = f" {_words(reference.text)} "
    for doc_id, title in documents.items():
        words = _words(title)
        if doc_id != citing_doc and len(words) >= MIN_TITLE_CHARS and f" {words} " in cited:
            return doc_id
    return None


NUMBER_BONUS = 0.03


def best_support(
    claim: np.ndarray,
    claim_numbers: set[str],
    sentence_vectors: np.ndarray,
    sentence_rows: np.ndarray,
    sentence_numbers,
    candidate_rows: np.ndarray,
) -> tuple[int, float] | None:
    """(chunk row, similarity) of the cited document's sentence that best supports the claim.

    Similarity ranks the sentences; among the 20 closest and every sentence that shares a figure
    with the claim (``50.6%``, ``1.3B``), each shared figure adds ``NUMBER_BONUS``: the same
    numbers in a Korean claim and an English source are the strongest cross-lingual evidence there
    is. The bonus stops at two figures, so a table that shares many figures by coincidence does not
    outrank a sentence that states the claim. ``sentence_numbers(i)`` gives sentence i's salient
    numbers. None when even the best sentence is not similar enough.
    """
    candidates = np.flatnonzero(np.isin(sentence_rows, candidate_rows))
    if not len(candidates):
        return None
    similarity = sentence_vectors[candidates] @ claim
    closest = candidates[np.argsort(-similarity)[:20]]
    with_numbers = [i for i in candidates if claim_numbers & sentence_numbers(int(i))]
    shortlist = np.unique(np.concatenate([closest, np.array(with_numbers, dtype=closest.dtype)]))
    scored = []
    for index in shortlist:
        cosine = float(sentence_vectors[index] @ claim)
        shared = len(claim_numbers & sentence_numbers(int(index)))
        scored.append((cosine + NUMBER_BONUS * min(shared, 2), cosine, int(index)))
    _, cosine, best = max(scored)
    if cosine < SUPPORT_MIN_SIMILARITY:
        return None
    return int(sentence_rows[best]), cosine


NUMBER = re.compile(r"\d+(?:[.,]\d+)?%?")


def salient_numbers(text: str) -> set[str]:
    """Percentages and decimals ("50.6%", "1.3"): figures specific enough to match across languages."""
    return {n for n in NUMBER.findall(text) if "%" in n or "." in n}


def numbers_agree(claim: str, support: str) -> str | None:
    """ "agree" when a percentage or decimal of the claim also appears in the support, "differ" when
    both state such numbers and none is shared, None when either states none."""
    a, b = salient_numbers(claim), salient_numbers(support)
    if not a or not b:
        return None
    return "agree" if a & b else "differ"


_DIGIT_TO_SUP = str.maketrans("1234567890", "¹²³⁴⁵⁶⁷⁸⁹⁰")


def document_citations(text: str) -> dict:
    """What the index stores per document: its footnotes and reference list, as plain data."""
    return {
        "footnotes": {k: v.to_dict() for k, v in parse_footnotes(text).items()},
        "references": [r.to_dict() for r in parse_references(text)],
    }


class CitationIndex:
    """Resolves a passage's footnote markers against the documents currently in the index.

    Built from the store on demand, so adding or removing a cited document re-resolves every
    citation at once (the store's extras hold each document's parsed footnotes).
    """

    def __init__(self, store):
        self.store = store
        self.titles = {d.doc_id: d.title for d in store.documents.values()}
        self.paths = {d.doc_id: d.path for d in store.documents.values()}
        self.notes = {
            doc_id: {marker: Reference(**ref) for marker, ref in data.get("footnotes", {}).items()}
            for doc_id, data in store.extras.get("citations", {}).items()
        }
        self.rows_by_doc = {doc_id: rows for doc_id, rows in store.rows_of_documents().items() if len(rows)}
        self._numbers: dict[int, set[str]] = {}

    def references(self, doc_id: str) -> list[tuple[Reference, str | None]]:
        """Every footnote and reference-list entry of a document with the corpus document it resolves to."""
        data = self.store.extras.get("citations", {}).get(doc_id, {})
        entries = [Reference(**r) for r in data.get("footnotes", {}).values()]
        entries += [Reference(**r) for r in data.get("references", [])]
        resolved = [(ref, resolve(ref, self.titles, doc_id)) for ref in entries]
        # a reference-list line cut short ("Gunasekar, S., … (2023).") still names its authors and year:
        # it is the work an identically labelled, resolved footnote points at
        by_label = {ref.label: target for ref, target in resolved if target and ref.authors}
        return [(ref, target or (by_label.get(ref.label) if ref.authors else None)) for ref, target in resolved]

    def cites(self, chunk, row: int) -> tuple[Citation, ...]:
        notes = self.notes.get(chunk.doc_id, {})
        out = []
        for marker in chunk.footnotes:
            reference = notes.get(marker)
            if reference is None:
                continue
            target = resolve(reference, self.titles, chunk.doc_id)
            support = agreement = None
            claim_text, claim = self._claim(chunk, row, marker)
            if target is not None:
                note = self._footnote_vector(chunk.doc_id, marker)
                if note is not None:  # the footnote often states what the sentence only alludes to
                    claim = (claim + note) / np.linalg.norm(claim + note)
                found = best_support(
                    claim,
                    salient_numbers(claim_text + " " + reference.text),
                    self.store.features.sentence_vectors,
                    self.store.features.sentences[:, 0],
                    self._sentence_numbers,
                    self.rows_by_doc.get(target, np.zeros(0)),
                )
                if found is not None:
                    support_row, score = found
                    cited = self.store.chunks[support_row]
                    support = Support(cited.text, cited.page, score, support_row)
                    agreement = numbers_agree(claim_text + " " + reference.text, cited.text)
            out.append(
                Citation(
                    marker,
                    reference,
                    self.paths.get(target) if target else None,
                    self.titles.get(target) if target else None,
                    support,
                    agreement,
                    claim_text,
                )
            )
        return tuple(out)

    def _sentence_numbers(self, index: int) -> set[str]:
        """Salient numbers of indexed sentence ``index``, read once per index (every citation scans them)."""
        if index not in self._numbers:
            row, start, end = self.store.features.sentences[index]
            self._numbers[index] = salient_numbers(self.store.chunks[row].text[start:end])
        return self._numbers[index]

    def _footnote_vector(self, doc_id: str, marker: str) -> np.ndarray | None:
        """The indexed vector of the footnote line itself, when the footnote was indexed as a chunk."""
        for row in self.rows_by_doc.get(doc_id, ()):
            chunk = self.store.chunks[row]
            if chunk.kind in ("footnote", "reference") and marker in chunk.footnotes:
                _, vector = self._claim(chunk, int(row), marker)
                return vector
        return None

    def _claim(self, chunk, row: int, marker: str) -> tuple[str, np.ndarray]:
        """The sentence carrying the marker (its text and indexed vector); the whole chunk if none does."""
        position = chunk.text.find(marker.translate(_DIGIT_TO_SUP))
        sentences = self.store.sentences_of(row)
        for start, end, vector in sentences:
            if start <= position <= end + 4:
                return chunk.text[start:end], vector
        return chunk.text, self.store.features.vectors[row]


def support_snippet(citation: Citation, width: int = 160) -> str:
    """The part of the support passage around the first figure it shares with the citation."""
    text = " ".join(citation.support.text.split()) if citation.support else ""
    shared = sorted(salient_numbers(citation.reference.text) & salient_numbers(text), key=text.find)
    center = text.find(shared[0]) if shared else 0
    start = max(0, center - width // 2)
    snippet = text[start : start + width]
    return ("…" if start else "") + snippet + ("…" if start + width < len(text) else "")
