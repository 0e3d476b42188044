"""The line grammar of the documents we read: chapters, numbered sections, headings, bullets, tables,
figures, source notes, footnote markers, references and appendices, and the ``Outline`` that tracks
where a parser is in a document's structure. Shared by chunking and citation parsing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ROMAN = r"(?:I|II|III|IV|V|VI|VII|VIII|IX|X)"
CHAPTER = re.compile(rf"^({ROMAN})\.?\s+[^\sa-z]")  # not "I am …"
NUMBERED = re.compile(r"^(\d{1,2})(?:\.(\d{1,2}))?\.?\s+(\S.*)$")
MD_HEADING = re.compile(r"^(#{1,6})\s+(\S.*)$")
# a caption's number ends with "." or ":" ("Figure 3.1: …", "Table 2. …"); a sentence may begin with
# one ("Figure 2.1 showed that …")
TABLE = re.compile(r"^\[표\s*\d+\]|^(?:Table|TABLE)\s+\d+(?:\.\d+)*[.:](?!\d)")
FIGURE = re.compile(r"^\[그림\s*\d+\]|^(?:Figure|FIGURE|Fig\.)\s+\d+(?:\.\d+)*[.:](?!\d)")
REFERENCES = re.compile(r"^(?:■\s*)?(?:참고문헌|References|REFERENCES|Bibliography)\s*$")
# "A Additional examples", "Appendix B: Limitations", "A.1 …", after the references
APPENDIX = re.compile(r"^(?:Appendix\s+)?([A-H])(?:\.(\d{1,2}))?[.:]?\s+[A-Z]")
INITIAL = re.compile(r"(?<![A-Za-z])[A-Z]\.(?=\s|$)")  # "A. Vaswani, N. Shazeer": a reference line, not "A. Proofs"
UNNUMBERED = re.compile(r"^(?:Acknowledge?ments?|Appendix|Appendices)\s*$")
# a paper's or report's summary before its first numbered section or chapter
FRONT_MATTER = re.compile(r"^(?:Abstract|ABSTRACT|Summary|Executive [Ss]ummary|요\s?약|초\s?록|국문\s?요약)\s*:?$")
SOURCE = re.compile(r"^(?:출처|자료)\s*:")
ARXIV_STAMP = re.compile(r"^arXiv:\d{4}\.\d{4,5}(?:v\d+)?\s+\[[\w.-]+\]\s+\d{1,2}\s+[A-Z][a-z]{2}\s+\d{4}$")
# a line that stops mid-sentence: the next one continues it ("… equivalent to ∼" / "8 epochs …", a
# word hyphenated across lines, an opened parenthesis)
MID_SENTENCE = re.compile(r"[a-z,∼~≈(–-]$")
SUPERSCRIPT = "¹²³⁴⁵⁶⁷⁸⁹⁰"
FOOTNOTE_SUP = re.compile(rf"^[{SUPERSCRIPT}]+\)?\s*\S")
PARAGRAPH = re.compile(r"^\s*(?:■|□|●|○|◦|▪|⇒)")
# a paragraph's run-in heading as papers set them ("Pretraining. phi-1-base was trained …"): up to four
# words and a full stop at the start of a line
RUN_IN_HEADING = re.compile(r"^([A-Z][A-Za-z-]*(?: [A-Za-z-]+){0,3})\.(?=\s|$)")
ITEM = re.compile(r"^\s*(?:[-*•·]|\d+[.)]|[가-하][.)])\s")
SUP_MARK = re.compile(rf"[{SUPERSCRIPT}]+")
SUP_TO_DIGIT = str.maketrans(SUPERSCRIPT, "1234567890")
# a sentence's end, where an over-long paragraph is best cut
HANGUL = re.compile(r"[\uac00-\ud7a3]")  # a Hangul syllable
SENTENCE_END = r"(?<=[.?!])\s+(?=[A-Z0-9가-힣\"“'‘(\[])"
MAX_HEADING_CHARS = 70
MAX_NUMBERED_HEADING_CHARS = 100


@dataclass
class Outline:
    """Where the parser is in the document's structure; carried across pages."""

    markdown: bool = True  # "# Title" lines are headings; not in a PDF's text, where they are code comments
    chapter: str = ""
    section: str = ""
    section_no: int = 0
    appendix: str = ""  # the current appendix letter; appendices may only follow the references
    after_references: bool = False
    in_code: bool = False  # inside a fenced code block of a Markdown document
    md: list[str] = field(default_factory=list)

    def path(self) -> str:
        parts = [self.chapter, self.section] if not self.md else self.md
        return " › ".join(p for p in parts if p)

    def heading(self, line: str) -> bool:
        """Update the outline if ``line`` is a heading; return whether it was one."""
        fence = line.startswith(("```", "~~~"))
        if self.markdown and fence:
            self.in_code = not self.in_code
        if self.in_code or fence:
            return False
        if self.markdown and (m := MD_HEADING.match(line)):
            level = len(m.group(1))
            self.md = [*self.md[: level - 1], m.group(2).strip()]
            return True
        numbered = NUMBERED.match(line)  # these must continue the numbering too, so may run longer
        if len(line) > (MAX_NUMBERED_HEADING_CHARS if numbered else MAX_HEADING_CHARS):
            return False
        if line.rstrip().endswith((".", "다", "음", ",")):
            return False
        if self.after_references and (m := APPENDIX.match(line)) and len(INITIAL.findall(line)) < 2:
            letter, sub = m.group(1), m.group(2)
            if sub is None and letter == (chr(ord(self.appendix) + 1) if self.appendix else "A"):
                self.chapter, self.section, self.appendix = line.strip(), "", letter
                return True
            if sub is not None and letter == self.appendix:
                self.section = line.strip()
                return True
        if not (self.chapter or self.section or self.md) and FRONT_MATTER.match(line):
            self.section = line.strip().rstrip(":").rstrip()  # section 1 or a chapter follows it, not a subsection
            return True
        references = bool(REFERENCES.match(line))
        if references or CHAPTER.match(line) or UNNUMBERED.match(line):
            self.chapter, self.section, self.section_no = line.strip(), "", 0
            self.after_references = self.after_references or references
            return True
        if not (m := numbered):
            return False
        number, sub, title = int(m.group(1)), m.group(2), m.group(3)
        if sub is not None:
            if number == self.section_no and re.match(r"[A-Z가-힣]", title):
                self.section = f"{self.section.split(' › ')[0]} › {line.strip()}"
                return True
            return False
        # a plain-digit line is a section only when it continues the numbering; otherwise it is
        # a footnote such as "9 경향신문(23.2.1.) …"
        if number == self.section_no + 1 and not re.match(r"^\d", title):
            self.section, self.section_no = line.strip(), number
            return True
        return False
