"""Structure-aware chunking: verbatim slices that follow the document's own structure.

Reports like the SPRi one are built from chapters (``I`` … ``V``), numbered sections, ``■``
paragraphs with ``-``/``*`` bullets, ``[표 n]`` tables, ``[그림 n]`` figures with ``출처:`` source
lines, and footnotes. A chunk never crosses a section or page, keeps a table's rows together when
they fit, and is an exact slice of the page text, so every quote is verbatim. Paragraphs too long
for one chunk are split by langchain-text-splitters with Korean-aware separators.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass, field, replace

from .config import Settings
from .outline import (
    ARXIV_STAMP,
    FIGURE,
    FOOTNOTE_SUP,
    HANGUL,
    ITEM,
    MID_SENTENCE,
    NUMBERED,
    PARAGRAPH,
    RUN_IN_HEADING,
    SENTENCE_END,
    SOURCE,
    SUP_MARK,
    SUP_TO_DIGIT,
    TABLE,
    Outline,
)
from .records import Chunk, Document

SEPARATORS = [r"\n\n", r"(?<=[다음함]\.)\s+", SENTENCE_END, r"\n", "⇒", ", ", " ", ""]  # regular expressions
# raised whenever a change moves chunks or their section paths, so that an index chunked by older
# rules is re-chunked by the next build (2: no "#" headings in PDFs, appendices after the references;
# 3: long paragraphs cut at sentence ends before line breaks, an abstract is a section, wrapped
# lines that start with a number are not footnotes, numbered headings up to 100 characters; 4: a
# page's number and arXiv's margin stamp left out, a line is wrapped only where it is full width;
# 5: list items and chunks under a title line carry them as context)
# 6: the chunks of a reference list are of kind "reference"
# 7: chunks that are mostly lines of program code are of kind "code"
# 8: a PDF chunk inside a paragraph with a run-in heading carries it as context
# 9: a PDF page's first text, when it goes on with a sentence the page break cut, carries its start
# 10: (BM25's tokens) an English word that ends a sentence is one token, without its period
# 11: (BM25's tokens) the words and numbers of URLs and e-mail addresses; NFC text
# 12: (BM25's tokens) a date's month as one token, YYYY-MM, however it is written; e5 reads compact dates
# (21.09.29) spelled out
# 13: a numbered line after a line cut mid-sentence by "∼", a hyphen or a parenthesis, or after a caption
# cut by the page width, continues it ("… equivalent to ∼" / "8 epochs on …"): no footnote; so does a
# caption's next line, unless a capital opens it; "Figure 2.1 showed …" is no caption; a long
# paragraph's short last piece joins the piece before it; a paper's run-in heading ("Finetuning. …")
# after a finished sentence opens a unit
RULES_VERSION = 13
# a section that lists the works cited: its entries name many things and answer few questions
BIBLIOGRAPHY = re.compile(r"^[\W\d.]*(?:references|bibliography|works cited|literature cited|참고\s*문헌)\W*$", re.I)
# a line of a program listing as a PDF gives it (indentation lost): a statement, a docstring quote, an
# assignment, a call, or a line that ends inside brackets
CODE_LINE = re.compile(
    r"^\s*(?:def |for |if |elif |else:|while |return\b|import |from \S+ import|class |print\(|#|\"\"\"|\.\.\.$)"
    r"|[=\[\](){}:]\s*$|^\s*\w+(?:\.\w+)*\s*=\s*\S|\w\(.*\)"
)
CODE_SHARE = 0.6  # of a chunk's lines, for it to be a code listing


@dataclass
class _Unit:
    """A run of source lines that belong together (a bullet with its continuation lines, a table…)."""

    kind: str
    start: int
    end: int
    section: str
    caption: str = ""
    rows: list[tuple[int, int]] = field(default_factory=list)


def chunk_document(doc: Document, settings: Settings | None = None) -> list[Chunk]:
    """Split ``doc`` into verbatim chunks with section paths and page numbers."""
    settings = settings or Settings()
    outline = Outline(markdown=not doc.paged)
    chunks: list[Chunk] = []
    for index, page_text in enumerate(doc.pages):
        page = index + 1 if doc.paged else None
        units = _parse_units(page_text, outline, page)
        position = {id(unit): i for i, unit in enumerate(units)}
        section_starts = _section_starts(units)
        above = None if doc.paged else _LinesAbove(page_text)
        page_started = len(chunks)
        for start, end, unit in _pack(units, page_text, settings):
            # a PDF's lines are its layout, not its structure: titles and parents are found in text only,
            # and in a PDF only a paragraph's run-in heading ("Pretraining. phi-1-base was trained …")
            # or, for the page's first text, the sentence the page break cut
            at = position[id(unit)]
            if above is not None:
                context = _context(unit, section_starts[at], start, above)
            else:
                context = _run_in_heading(unit, section_starts[at], start, page_text) or _cut_by_page_break(
                    chunks, page_started, page_text[start:end], unit
                )
            chunks.append(replace(_make_chunk(doc, page_text, page, start, end, unit), context=context))
    return chunks


def _cut_by_page_break(chunks: list[Chunk], page_started: int, text: str, unit: _Unit) -> str:
    """The start of the sentence a page break cut, for the page's first prose when it goes on with it
    ("student model's coding capabilities, and (2) it obviates the need for tests" after "… using GPT-4
    as a grader, we can …" on the page before, a table between them): the unfinished last sentence of
    the text before the page (``chunks[:page_started]``). Only where nothing on the page before ended
    a sentence. The chunks are looked at in place: this runs for every chunk of a PDF."""
    if unit.kind != "text" or not text[:1].islower():
        return ""
    on_page = (chunks[i] for i in range(page_started, len(chunks)))
    if any(c.kind == "text" and LINE_DONE.search(c.text) for c in on_page):  # a sentence began on this page
        return ""
    before = (chunks[i] for i in range(page_started - 1, -1, -1))
    previous = next((c for c in before if c.kind == "text"), None)
    if previous is None or previous.section != unit.section or SENTENCE_DONE.search(previous.text.rstrip()):
        return ""
    words = re.split(SENTENCE_END, previous.text)[-1].split()
    while len(" ".join(words)) > CUT_SENTENCE_CHARS:
        words = words[1:]  # its last words, which the page goes on from
    return " ".join(words)


def _context(unit: _Unit, section_start: int, start: int, above: _LinesAbove) -> str:
    """What a chunk hangs from when it begins inside a list: the nearest title line above it in its
    section (a short line of its own, such as "AI 국제표준화회의(ISO/IEC JTC1/SC42)") and, for a chunk
    that begins with a list item, the nearest line above that is not one: the first line of the
    paragraph the item belongs to ("■ 2017년 출범한 …"). Footnote and source lines belong to no list.
    Only what is encoded carries it; the chunk's text stays verbatim.
    """
    if unit.kind != "text":
        return ""
    first = _NON_SPACE.search(above.text, start, unit.end)
    in_list = first is not None and _ITEM_HERE.match(above.text, first.start(), unit.end) is not None
    title, parent = above.nearest(section_start, start)
    parent = parent[:PARENT_CHARS] if in_list else ""
    return " > ".join(dict.fromkeys(part for part in (title, parent) if part))


_NON_SPACE = re.compile(r"\S")
_ITEM_HERE = re.compile(ITEM.pattern.removeprefix("^"))  # ITEM where a match begins, not at the text's start


class _LinesAbove:
    """A page's lines as ``_context`` reads them upward from a chunk, with the nearest title line and
    the nearest line that is not a list item at or above each line, found in one pass: reading the
    text above every chunk anew made chunking quadratic in a page's length, and a text file is one
    page (a 2 MB file without headings took 22 s to chunk)."""

    def __init__(self, text: str):
        self.text = text
        self.starts: list[int] = []
        self.ends: list[int] = []  # where the next line begins
        self.title_at: list[int] = []  # index of the nearest title line at or above each line, or -1
        self.parent_at: list[int] = []  # index of the nearest line at or above that may be a list's parent
        title = parent = -1
        position = 0
        for k, raw in enumerate(text.splitlines(keepends=True)):
            self.starts.append(position)
            position += len(raw)
            self.ends.append(position)
            may_parent, is_title = _standing(raw.strip())
            parent = k if may_parent else parent
            title = k if is_title else title
            self.parent_at.append(parent)
            self.title_at.append(title)

    def nearest(self, section_start: int, start: int) -> tuple[str, str]:
        """(the nearest title line, the nearest line that may be a list's parent) of the text from
        ``section_start`` (a line's start) up to ``start``, stripped; "" where there is none. The
        parent is never above the title: a title line is not a list item."""
        first = bisect.bisect_left(self.starts, section_start)
        last = bisect.bisect_right(self.ends, start) - 1  # the last whole line before ``start``
        cut = self.text[max(section_start, self.ends[last] if last >= 0 else 0) : start].strip()
        may_parent, is_title = _standing(cut)  # the part of the chunk's own line above it
        if is_title:
            return cut, cut
        parent = cut if may_parent else ""
        if last < first:
            return "", parent
        title_at, parent_at = self.title_at[last], self.parent_at[last]
        if not parent and parent_at >= first:
            parent = self._line(parent_at)
        return (self._line(title_at) if title_at >= first else ""), parent

    def _line(self, k: int) -> str:
        return self.text[self.starts[k] : self.ends[k]].strip()


def _standing(line: str) -> tuple[bool, bool]:
    """(may be a list's parent, is a title) of a stripped line."""
    if not line or FOOTNOTE_SUP.match(line) or NUMBERED.match(line) or SOURCE.match(line):
        return False, False
    return not ITEM.match(line), _is_title(line)


def _section_starts(units: list[_Unit]) -> list[int]:
    """Where the run of units of each unit's section that ends with it starts."""
    starts: list[int] = []
    for i, unit in enumerate(units):
        starts.append(starts[-1] if i and units[i - 1].section == unit.section else unit.start)
    return starts


def _run_in_heading(unit: _Unit, section_start: int, start: int, text: str) -> str:
    """The run-in heading of the paragraph a PDF chunk begins inside, when it is not in the chunk: the
    nearest line above in its section and page that opens with one ("Pretraining." for the chunk
    that goes on with that paragraph's batch size and learning rate), after a line that ends a sentence."""
    if unit.kind != "text":
        return ""
    lines = [line.strip() for _, _, line in _lines(text[section_start:start])]
    lines = [line for line in lines if line]
    for i in range(len(lines) - 1, 0, -1):
        heading = RUN_IN_HEADING.match(lines[i])
        if heading and heading.end() < len(lines[i]) and SENTENCE_DONE.search(lines[i - 1]):
            return heading.group(1)
    return ""


def _is_title(line: str) -> bool:
    """A short line of its own that names what follows: no bullet, not a sentence."""
    if len(line) > TITLE_CHARS or "\t" in line:
        return False
    if any(p.match(line) for p in (ITEM, PARAGRAPH, FOOTNOTE_SUP, NUMBERED, SOURCE, TABLE, FIGURE)):
        return False
    return not re.search(r"[.!?다음함]$", line)


SENTENCE_DONE = re.compile(r"[.!?:)]$")
LINE_DONE = re.compile(r"[.!?]$", re.M)
PARENT_CHARS = 160  # of a list's parent line: its subject, not its whole paragraph
CUT_SENTENCE_CHARS = 240  # of a sentence a page break cut, in whole words
TITLE_CHARS = 60


def _lines(text: str):
    pos = 0
    for raw in text.splitlines(keepends=True):
        line = raw.rstrip("\r\n")
        yield pos, pos + len(line), line
        pos += len(raw)


def _page_furniture(lines: list[tuple[int, str]], page: int | None) -> set[int]:
    """Start offsets of the (start, stripped text) ``lines`` that belong to the page, not the text:
    its number alone on the first or last line, and arXiv's margin stamp."""
    furniture = {start for start, line in lines if ARXIV_STAMP.match(line)}
    lines = [(start, line) for start, line in lines if start not in furniture]
    if page is not None:
        furniture |= {start for start, line in lines[:1] + lines[-1:] if line == str(page)}
    return furniture


def _parse_units(text: str, outline: Outline, page: int | None = None) -> list[_Unit]:
    units: list[_Unit] = []
    filled = [(start, line.strip()) for start, _, line in _lines(text) if line.strip()]
    furniture = _page_furniture(filled, page)
    current: _Unit | None = None
    blank_before = False
    previous = ""  # the line before (page furniture aside)
    lengths = sorted(len(line) for _, line in filled)
    full_width = 0.8 * lengths[len(lengths) // 2] if lengths else 0.0  # a line the page's width cut
    for start, end, line in _lines(text):
        stripped = line.strip()
        if not stripped or start in furniture:
            blank_before = blank_before or not stripped
            continue
        after_blank, blank_before = blank_before, False
        # "8 A100s, using …" after a full-width "… trained for 4 days on" is a wrapped line: neither a
        # numbered section nor a footnote such as "9 경향신문 …", which never start mid-sentence (a
        # short line such as a list item's last may end without a full stop before a heading)
        in_text = current is not None and current.kind == "text" and not after_blank
        cut_by_width = len(previous) >= full_width and bool(MID_SENTENCE.search(previous))
        wrapped = in_text and cut_by_width and bool(NUMBERED.match(stripped))
        # a paper's paragraph that opens with a run-in heading ("Finetuning. phi-1 is obtained …") after
        # one that ended a sentence starts a unit of its own: a long one is cut there, not mid-paragraph
        run_in = page is not None and bool(RUN_IN_HEADING.match(stripped)) and bool(SENTENCE_DONE.search(previous))
        previous = stripped
        in_caption = current is not None and current.kind in ("table", "figure") and not current.rows
        # "… (we ignore libraries imported less than" / "10 times). The plot code is …": the caption goes
        # on; a capital after it opens the text below a caption that ends without a full stop
        if in_caption and cut_by_width and not after_blank and not stripped[:1].isupper():
            current.end = end
            continue
        if not wrapped and outline.heading(stripped):
            current = None
            continue
        section = outline.path()
        if TABLE.match(stripped) or FIGURE.match(stripped):
            kind = "table" if TABLE.match(stripped) else "figure"
            current = _Unit(kind, start, end, section, caption=stripped)
            units.append(current)
            continue
        if SOURCE.match(stripped) and current is not None and current.kind in ("table", "figure"):
            current.end = end
            current = None
            continue
        if current is not None and current.kind == "table" and "\t" in line:
            current.rows.append((start, end))
            current.end = end
            continue
        if FOOTNOTE_SUP.match(stripped) or (NUMBERED.match(stripped) and not ITEM.match(stripped) and not wrapped):
            current = _Unit("footnote", start, end, section)
            units.append(current)
            continue
        starts_new = PARAGRAPH.match(line) or ITEM.match(line) or run_in
        continues = current is not None and (current.kind == "text" or (current.kind == "footnote" and not after_blank))
        if continues and not starts_new:
            current.end = end  # a continuation line, e.g. a sentence broken by a page break
            continue
        current = _Unit("text", start, end, section)
        units.append(current)
    return units


def _pack(units: list[_Unit], text: str, settings: Settings):
    """Greedy packing of units into spans of about ``chunk_size`` characters within one section."""
    group: list[_Unit] = []

    def flush():
        if group:
            yield group[0].start, group[-1].end, group[0]
            group.clear()

    for unit in units:
        length = unit.end - unit.start
        if unit.kind == "table" and unit.rows and length > settings.chunk_max:  # a long caption alone is prose
            yield from flush()
            yield from _split_table(unit, settings)
            continue
        if length > settings.chunk_max:
            yield from flush()
            for start, end in _split_long(text, unit.start, unit.end, settings):
                yield start, end, unit
            continue
        if group:
            span = unit.end - group[0].start
            same_place = unit.section == group[0].section and _flow(unit) == _flow(group[0])
            if not same_place or span > settings.chunk_size:
                yield from flush()
        group.append(unit)
        if unit.kind == "table":
            yield from flush()
    yield from flush()


def _flow(unit: _Unit) -> str:
    """Units of one flow may share a chunk: body text with figure captions, footnotes together."""
    return {"figure": "text"}.get(unit.kind, unit.kind)


def _split_table(unit: _Unit, settings: Settings):
    """Rows of an oversized table in groups; the caption travels in each chunk's header."""
    first_row = unit.rows[0][0] if unit.rows else unit.end
    spans = [(unit.start, first_row - 1)] if first_row - 1 > unit.start else []
    spans += unit.rows
    if unit.rows and unit.end > unit.rows[-1][1]:
        spans.append((unit.rows[-1][1] + 1, unit.end))
    group_start = group_end = None
    for start, end in spans:
        if group_start is not None and end - group_start > settings.chunk_size:
            yield group_start, group_end, unit
            group_start = None
        if group_start is None:
            group_start = start
        group_end = end
    if group_start is not None:
        yield group_start, group_end, unit


def _split_long(text: str, start: int, end: int, settings: Settings):
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        separators=SEPARATORS,
        is_separator_regex=True,
        keep_separator="end",
        add_start_index=True,
        strip_whitespace=True,
    )
    spans = []
    for piece in splitter.create_documents([text[start:end]]):
        offset = start + piece.metadata["start_index"]
        spans.append((offset, offset + len(piece.page_content)))
    # a paragraph's last sentence alone ("We train for total of 6,000 steps and pick the best
    # checkpoint.") says too little to be found: it joins the piece before it where both fit a chunk
    if len(spans) > 1 and spans[-1][1] - spans[-1][0] < settings.chunk_size // 3:
        if spans[-1][1] - spans[-2][0] <= settings.chunk_max:
            spans[-2:] = [(spans[-2][0], spans[-1][1])]
    yield from spans


def _make_chunk(doc: Document, page_text: str, page: int | None, start: int, end: int, unit: _Unit) -> Chunk:
    raw = page_text[start:end]
    start += len(raw) - len(raw.lstrip())
    end -= len(raw) - len(raw.rstrip())
    body = page_text[start:end]
    marks = tuple(dict.fromkeys(m.translate(SUP_TO_DIGIT) for m in SUP_MARK.findall(body)))
    key = f"{doc.doc_id}:{page}:{start}:{end}".encode()
    return Chunk(
        chunk_id=hashlib.sha256(key).hexdigest()[:16],
        doc_id=doc.doc_id,
        text=body,
        section=unit.section,
        page=page,
        start=start,
        end=end,
        lang=doc.lang,
        kind=_chunk_kind(unit, body),
        caption=unit.caption if unit.kind in ("table", "figure") else "",
        footnotes=marks,
        source_note=next((line.strip() for line in body.splitlines() if SOURCE.match(line.strip())), ""),
    )


def _chunk_kind(unit: _Unit, body: str) -> str:
    """A unit's kind, or "reference" for text in a reference list, "code" for a program listing."""
    if unit.kind in ("text", "footnote") and _in_bibliography(unit.section):
        return "reference"
    return "code" if unit.kind == "text" and looks_like_code(body) else unit.kind


def looks_like_code(text: str) -> bool:
    """Whether most lines of ``text`` are program code (``CODE_SHARE``): a listing names many identifiers
    and answers few questions, and a paper's generated-code figures repeat the model's name on each."""
    lines = [line for line in text.splitlines() if line.strip()]
    code = sum(1 for line in lines if CODE_LINE.search(line) and not HANGUL.search(line))
    return bool(lines) and code / len(lines) >= CODE_SHARE


def _in_bibliography(section: str) -> bool:
    """Whether a section path ("References", "■ 참고문헌", "7 Bibliography › …") lies in a reference list."""
    return any(BIBLIOGRAPHY.match(part.strip()) for part in section.split("›"))
