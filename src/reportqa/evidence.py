"""The evidence viewer: a cited passage shown where it stands in its document.

For a PDF, the cited page rendered as an image (PDFium, through pypdfium2) with the passage's lines
boxed: the passage is found on the page through PDFium's text and the position of each of its
characters. pypdf (which read the text at indexing) and PDFium lay out the same characters with
different spaces, line breaks and hyphens, so both are compared on their letters and digits only.
For a text document, the passage inside its section with the passages before and after it.
"""

from __future__ import annotations

import difflib
import io
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .documents import sha256_file
from .records import Chunk, Citation

RENDER_WIDTH_PX = 1000  # wide enough to read a two-column paper's footnotes
MIN_BLOCK = 4  # letters: shorter common runs between passage and page are chance
NEIGHBOURS = 1


@dataclass(frozen=True)
class Box:
    """A highlighted line, as fractions of the page's width and height from its top-left corner."""

    left: float
    top: float
    right: float
    bottom: float


@dataclass(frozen=True)
class PageImage:
    """A rendered PDF page and the boxes over the passage's characters on it."""

    png: bytes
    width: int
    height: int
    page: int
    boxes: tuple[Box, ...]
    found: float  # the share of the passage's letters found on the page
    seconds: float  # render and locate time


@dataclass(frozen=True)
class Evidence:
    """What the viewer shows for one passage: its page image (PDF) and its neighbours in the document."""

    chunk: Chunk
    title: str
    doc_path: str
    before: tuple[Chunk, ...] = ()
    after: tuple[Chunk, ...] = ()
    page_image: PageImage | None = None
    note: str = ""  # why there is no page image, when a PDF's page could not be shown
    cites: tuple[Citation, ...] = ()  # the passage's footnotes and, where they resolve, the source's support


def page_of(chunk: Chunk, doc_path: str, corpus_dir: Path, doc_id: str) -> tuple[PageImage | None, str]:
    """The passage's page image, or None and the reason it cannot be shown."""
    if chunk.page is None:
        return None, ""
    pdf = corpus_dir / doc_path
    try:
        if not file_matches(pdf, doc_id):
            return None, f"{doc_path} changed since it was indexed: run 'reportqa build' to see its pages"
        return render_page(pdf, chunk.page, chunk.text), ""
    except FileNotFoundError:
        return None, f"{doc_path} is no longer in the corpus"
    except Exception as e:  # noqa: BLE001 (a page PDFium cannot render is a note, not a failure of the answer)
        return None, f"page {chunk.page} of {doc_path} could not be rendered ({type(e).__name__})"


def neighbours(chunks: list[Chunk], index: int, n: int = NEIGHBOURS) -> tuple[tuple[Chunk, ...], tuple[Chunk, ...]]:
    """The passages just before and after ``chunks[index]`` in the same section of the same document."""
    chunk = chunks[index]

    def same(other: Chunk) -> bool:
        return other.doc_id == chunk.doc_id and other.section == chunk.section

    before = [c for c in chunks[max(0, index - n) : index] if same(c)]
    after = [c for c in chunks[index + 1 : index + 1 + n] if same(c)]
    return tuple(before), tuple(after)


def file_matches(path: Path, doc_id: str) -> bool:
    """Whether ``path`` still holds the bytes that were indexed (its id is their SHA-256)."""
    return sha256_file(path) == doc_id


def render_page(pdf: Path, page: int, passage: str, width_px: int = RENDER_WIDTH_PX) -> PageImage:
    """Page ``page`` (1-based) of ``pdf`` as a PNG with the lines of ``passage`` boxed."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    started = time.perf_counter()
    document = pdfium.PdfDocument(str(pdf))
    try:
        if not 1 <= page <= len(document):
            raise ValueError(f"{pdf.name} has no page {page}")
        sheet = document[page - 1]
        page_width, page_height = sheet.get_size()
        text_page = sheet.get_textpage()
        count = text_page.count_chars()
        page_text = "".join(chr(pdfium_c.FPDFText_GetUnicode(text_page.raw, i) or 0xFFFD) for i in range(count))
        spans, found = locate(page_text, passage)
        boxes = []
        for start, end in spans:
            for i in range(text_page.count_rects(start, end - start)):
                left, bottom, right, top = text_page.get_rect(i)
                boxes.append(
                    Box(left / page_width, 1 - top / page_height, right / page_width, 1 - bottom / page_height)
                )
        image = sheet.render(scale=width_px / page_width).to_pil()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=False)
        return PageImage(
            buffer.getvalue(), image.width, image.height, page, tuple(boxes), found, time.perf_counter() - started
        )
    finally:
        document.close()


def locate(page_text: str, passage: str) -> tuple[list[tuple[int, int]], float]:
    """Character ranges of ``page_text`` that hold ``passage``, and the share of its letters found.

    Both are reduced to lower-case letters and digits (NFKC: ligatures such as "ﬁ" become "fi"),
    each kept with its position; the passage is found whole if it can be, else as the runs it shares
    with the page in order.
    """
    page_letters, positions = _letters(page_text)
    passage_letters, _ = _letters(passage)
    if not passage_letters or not page_letters:
        return [], 0.0
    where = page_letters.find(passage_letters)
    if where >= 0:
        blocks = [(where, len(passage_letters))]
    else:
        matcher = difflib.SequenceMatcher(None, page_letters, passage_letters, autojunk=False)
        blocks = [(a, size) for a, _, size in matcher.get_matching_blocks() if size >= MIN_BLOCK]
    spans: list[tuple[int, int]] = []
    for start, size in blocks:
        first, last = positions[start], positions[start + size - 1] + 1
        if spans and first - spans[-1][1] <= 3:
            spans[-1] = (spans[-1][0], last)
        else:
            spans.append((first, last))
    return spans, sum(size for _, size in blocks) / len(passage_letters)


def _letters(text: str) -> tuple[str, list[int]]:
    out, positions = [], []
    for i, ch in enumerate(text):
        for folded in unicodedata.normalize("NFKC", ch):
            if folded.isalnum():
                out.append(folded.lower())
                positions.append(i)
    return "".join(out), positions
