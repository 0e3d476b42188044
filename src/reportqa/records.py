"""The records that flow between pipeline stages: Document → Chunk → Passage → Answer."""

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

    def header(self) -> str:
        """Context prepended for embedding and BM25 (never shown as part of the quote)."""
        return " > ".join(part for part in (self.section, self.caption) if part)

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
    cites: tuple = field(default=(), compare=False)  # citations.Citation records

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

    def to_dict(self) -> dict:
        """The batch/JSON line of DESIGN §4."""
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "passages": [p.to_dict() for p in self.passages],
        }
