"""How an answer and a passage's citation read, on a terminal and in the web page: one decision, two formats.

``citation_state`` is the one place that tells a citation's cases apart; ``citation_text`` and
``citation_html`` only lay them out. All HTML is built from escaped text.
"""

from __future__ import annotations

import html
import re
import textwrap
from typing import Literal

from .citations import support_snippet
from .records import Answer, Citation

State = Literal["not in corpus", "no support", "supported"]


def citation_state(citation: Citation) -> State:
    """Whether the cited work is in the corpus, and if so whether a passage of it supports the claim."""
    if citation.doc is None:
        return "not in corpus"
    if citation.support is None:
        return "no support"
    return "supported"


def _page(citation: Citation) -> str:
    return f", p. {citation.support.page}" if citation.support and citation.support.page is not None else ""


def citation_text(citation: Citation) -> str:
    """One line for terminals: "cites [12] Gunasekar et al. 2023 → in corpus, p. 1: …50.6% on HumanEval…"."""
    head = f"cites [{citation.marker}] {citation.reference.label}"
    state = citation_state(citation)
    if state == "not in corpus":
        return f"{head} (not in the corpus)"
    if state == "no support":
        return f"{head} → in corpus ({citation.doc}); no supporting passage found"
    agreement = f" [numbers {citation.agreement}]" if citation.agreement else ""
    return f"{head} → in corpus{_page(citation)}: {support_snippet(citation)}{agreement}"


def citation_html(citation: Citation) -> str:
    """The same as escaped HTML; the support passage folded under its summary."""
    head = f"cites [{escaped(citation.marker)}] {escaped(citation.reference.label)}"
    state = citation_state(citation)
    if state == "not in corpus":
        return f"<div class='rq-cites'>{head} — not in the corpus</div>"
    if state == "no support":
        where = escaped(citation.doc)
        return f"<div class='rq-cites'>{head} — in the corpus ({where}); no supporting passage found</div>"
    agreement = f" · numbers {escaped(citation.agreement)}" if citation.agreement else ""
    return (
        f"<details class='rq-cites'><summary>{head} — in the corpus: {escaped(citation.doc_title)}{_page(citation)}"
        f"{agreement}</summary><div class='rq-text'>{escaped(citation.support.text)}</div></details>"
    )


def answer_text(answer: Answer) -> str:
    """What ``reportqa ask`` prints: the answer, then each passage with its citation and what it cites."""
    nearest = "\nNearest passages:" if answer.passages else ""
    lines = [answer.text if not answer.abstained else f"(not found) {answer.text}{nearest}", ""]
    for p in answer.passages:
        lines.append(f"[{p.rank}] {p.citation}  (score {p.score:.3f})")
        body = " ".join(p.chunk.text.split())
        lines.append(textwrap.indent(textwrap.shorten(body, 400, placeholder=" …"), "    "))
        lines += [f"      {citation_text(citation)}" for citation in p.cites]
    return "\n".join(lines)


def answer_markdown(answer: Answer, heading: str = "##") -> str:
    """An answer people can paste into a memo: the question, the answer with ``[n]`` markers, and
    numbered references (document, section, page, the quoted text)."""
    lines = [f"{heading} {answer.question}", ""]
    if answer.query:
        lines += [f"*searched as: {answer.query}*", ""]
    if answer.abstained:
        lines += [f"*{answer.text}*", "", "Nearest passages:" if answer.passages else ""]
    else:
        lines += [answer.text, ""]
    quoted: dict[int, list[str]] = {}
    for quote in answer.quotes:
        quoted.setdefault(quote.passage_rank, []).append(quote.text)
    cited = [p for p in answer.passages if p.rank in quoted] if quoted else answer.passages
    if cited and not answer.abstained:
        lines.append("References:")
        lines.append("")
    for passage in cited:
        in_text_order = sorted(quoted.get(passage.rank, []), key=passage.chunk.text.find)  # whichever answered first
        text = " … ".join(" ".join(quote.split()) for quote in in_text_order) or textwrap.shorten(
            " ".join(passage.chunk.text.split()), 300, placeholder=" …"
        )
        lines.append(f"[{passage.rank}] {passage.citation} — “{text}”")
    return "\n".join(lines).rstrip() + "\n"


def conversation_markdown(answers: list[Answer], title: str = "ReportQA conversation") -> str:
    """A whole conversation as Markdown, questions in the order they were asked."""
    blocks = [f"# {title}", ""] + [answer_markdown(answer) for answer in answers]
    return "\n".join(blocks)


# Bidirectional embedding, override and isolate controls (LRE … RLO, LRI … PDI). Shown as they are, one
# in a document's text or title reverses what follows it on the line: the citation's "p. 3 · score"
# after a title, the "[1]" after a quote.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def escaped(text: object) -> str:
    """``text`` to show in the page: safe inside HTML elements and quoted attributes, and without bidi
    controls, so that no text can turn the words after it around on screen."""
    return html.escape(_BIDI_CONTROLS.sub("", str(text)), quote=True)


def attribute(text: object) -> str:
    """``text`` safe inside a quoted attribute, kept exactly (a key the page sends back must match)."""
    return html.escape(str(text), quote=True)
