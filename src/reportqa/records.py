"""The records that flow between pipeline stages: Document → Chunk → Passage → Answer, and the index's
document entries, build reports and citations."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Document:
    """A loaded source file. ``pages`` holds one string per page (one page for plain text)."""

    doc_id: str
    path: str
    title: str
    lang: str
    pages: tuple[str, ...]
    paged: bool = False
    meta: dict = field(default_factory=dict, compare=False)
    notes: tuple[str, ...] = field(default=(), compare=False)  # what was read only in part, one line each

    @property
    def text(self) -> str:
        return "\n".join(self.pages)


@dataclass(frozen=True)
class Chunk:
    """A verbatim slice of one page of a document, with where it came from.

    ``start``/``end`` index into ``Document.pages[page_index]``; ``text`` is exactly that slice,
    so any quote taken from it is a quote from the source.
    """

    chunk_id: str
    doc_id: str
    text: str
    section: str
    page: int | None
    start: int
    end: int
    lang: str
    kind: str = "text"
    caption: str = ""
    footnotes: tuple[str, ...] = ()
    source_note: str = ""
    context: str = ""  # the title and parent line a list item hangs from, when they are not in the chunk

    def header(self) -> str:
        """Context prepended for embedding and BM25 (never shown as part of the quote)."""
        return " > ".join(part for part in (self.section, self.caption, self.context) if part)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["footnotes"] = list(self.footnotes)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Chunk:
        return cls(**{**data, "footnotes": tuple(data.get("footnotes", ()))})


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its rank, score and human citation label."""

    chunk: Chunk
    rank: int
    score: float
    title: str
    doc_path: str
    short_title: str = ""
    row: int = field(default=-1, compare=False)
    cites: tuple[Citation, ...] = field(default=(), compare=False)

    @property
    def citation(self) -> str:
        parts = [self.short_title or self.title]
        if self.chunk.section:
            parts.append(self.chunk.section)
        if self.chunk.page is not None:
            parts.append(f"p. {self.chunk.page}")
        return ", ".join(parts)

    def to_dict(self) -> dict:
        return {
            "rank": self.rank,
            "text": self.chunk.text,
            "doc": self.doc_path,
            "title": self.title,
            "section": self.chunk.section,
            "page": self.chunk.page,
            "score": round(float(self.score), 4),
            "citation": self.citation,
            "cites": [c.to_dict() for c in self.cites],
        }


@dataclass(frozen=True)
class Quote:
    """One answering sentence, verbatim from passage ``passage_rank`` (1-based)."""

    text: str
    passage_rank: int


@dataclass
class Answer:
    """The result of one question: quoted sentences with ``[n]`` markers, or an abstention."""

    question: str
    text: str
    passages: list[Passage]
    abstained: bool = False
    quotes: list[Quote] = field(default_factory=list)
    id: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    query: str | None = None  # what was retrieved, when a follow-up was read with its conversation

    def to_dict(self) -> dict:
        """The batch/JSON line of DESIGN §4."""
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "passages": [p.to_dict() for p in self.passages],
        }


@dataclass
class DocumentEntry:
    """What the index knows about one document."""

    doc_id: str
    path: str
    title: str
    lang: str
    pages: int
    paged: bool
    chunk_ids: list[str]
    added: str
    meta: dict = field(default_factory=dict)

    @property
    def short_title(self) -> str:
        return self.meta.get("short") or self.title


@dataclass
class BuildReport:
    """What a build did; ``skipped`` holds (file name, reason) for files that were not indexed."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # indexed, but part of it was left out
    chunks: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


@dataclass(frozen=True)
class Reference:
    """One cited work: a footnote (``marker`` "12") or a reference-list entry (``marker`` "R3")."""

    marker: str
    text: str
    authors: str = ""
    year: str = ""
    title: str = ""
    arxiv: str = ""
    doi: str = ""
    url: str = ""

    @property
    def label(self) -> str:
        """A short human label: "Gunasekar et al. 2023" or the start of the text."""
        if self.authors and self.year:
            first = self.authors.split(",")[0].strip()
            more = " et al." if self.authors.count(",") > 1 or "&" in self.authors else ""
            return f"{first}{more} {self.year}"
        return self.text if len(self.text) <= 60 else self.text[:57] + "…"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Support:
    """The passage of the cited document that best supports the citing sentence."""

    text: str
    page: int | None
    score: float
    row: int

    def to_dict(self) -> dict:
        return {"text": self.text, "page": self.page, "score": round(self.score, 4)}


@dataclass(frozen=True)
class Citation:
    """One marker of a passage, what it cites, and where that is in the corpus."""

    marker: str
    reference: Reference
    doc: str | None
    doc_title: str | None
    support: Support | None

    agreement: str | None = None
    claim: str = ""  # the citing passage's sentence that carries the marker (for showing claim beside source)

    def to_dict(self) -> dict:
        return {
            "marker": self.marker,
            "text": self.reference.text,
            "reference": self.reference.label,
            "doc": self.doc,
            "support": self.support.to_dict() if self.support else None,
            "agreement": self.agreement,
        }
