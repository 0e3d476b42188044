"""The web chat's HTML: conversation turns, passage cards, the evidence viewer and the sources table.

Everything here is built from escaped text (``html.escape`` on every piece of document text,
question, title and file name); nothing from a document is ever inserted as markup. The buttons
inside cards pass only an escaped data attribute to the page's hidden inputs.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from .evidence import Evidence
from .records import Answer, Chunk, DocumentEntry, Passage, Reference
from .render import answer_markdown, attribute, citation_html, citation_state
from .render import escaped as e

CSS = """
#rq-chat {min-height: 18rem}
.rq-turn-user {margin: 0.8rem 0 0.3rem auto; max-width: 85%; width: fit-content; padding: 0.5rem 0.8rem;
  border-radius: 12px; background: var(--color-accent-soft); font-weight: 600}
.rq-turn-bot {margin: 0.3rem 0 1rem; padding: 0.6rem 0.8rem; border-radius: 12px;
  border: 1px solid var(--border-color-primary)}
.rq-answer {font-size: 1.05rem; line-height: 1.6; margin: 0.2rem 0 0.6rem}
.rq-searched {font-size: 0.8rem; color: var(--body-text-color-subdued)}
.rq-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.5rem 0.7rem; margin: 0.4rem 0}
.rq-cite {font-size: 0.85rem; color: var(--body-text-color-subdued)}
.rq-text {white-space: pre-wrap; font-size: 0.92rem; margin-top: 0.3rem}
.rq-text mark, mark.rq-hl {background: #fde68a; color: inherit}
.rq-abstain {font-style: italic}
.rq-error {color: #b91c1c}
.rq-cites {font-size: 0.85rem; margin-top: 0.4rem; color: var(--body-text-color-subdued)}
.rq-actions button, .rq-open, .rq-remove {font-size: 0.8rem; margin: 0.3rem 0.4rem 0 0; padding: 0.1rem 0.5rem;
  border: 1px solid var(--border-color-primary); border-radius: 6px; cursor: pointer}
.rq-page {position: relative; width: 100%}
.rq-page img {width: 100%; display: block}
.rq-box {position: absolute; background: rgba(250, 204, 21, 0.35); outline: 1px solid rgba(202, 138, 4, 0.8)}
.rq-context {white-space: pre-wrap; font-size: 0.9rem; color: var(--body-text-color-subdued)}
.rq-claim {display: grid; grid-template-columns: 1fr 1fr; gap: 0.6rem; font-size: 0.85rem; margin-top: 0.5rem}
.rq-hidden {display: none !important}
table.rq-sources {width: 100%; font-size: 0.85rem; margin: 0}
.rq-sources-wrap {max-width: 100%; overflow-x: auto}
table.rq-sources th, table.rq-sources td {padding: 0.25rem 0.3rem; white-space: nowrap}
table.rq-sources th {font-size: 0.8rem}
table.rq-sources th:first-child {white-space: normal}
table.rq-sources td:first-child {white-space: normal; overflow-wrap: anywhere; min-width: 5rem}
table.rq-sources td:nth-child(4) {font-size: 0.8rem}
table.rq-sources .rq-remove {margin: 0; padding: 0.1rem 0.35rem}
"""

# a card's button hands its data attribute to a hidden input and clicks the hidden button beside it
_TRIGGER = (
    "const t=document.querySelector('#{target}-key textarea');t.value=this.dataset.key;"
    "t.dispatchEvent(new Event('input',{{bubbles:true}}));"
    "setTimeout(()=>document.querySelector('#{target}-go').click(),30);"
)
OPEN_JS = _TRIGGER.format(target="rq-open")
REMOVE_JS = "if(confirm('Remove '+this.dataset.key+' from the index?')){" + _TRIGGER.format(target="rq-remove") + "}"
COPY_JS = "navigator.clipboard.writeText(this.dataset.md);this.textContent='Copied';"
EMPTY_CHAT = "<div class='rq-searched'>Ask in Korean or English; each [n] points at a cited passage.</div>"


@dataclass
class Turn:
    """One exchange of the conversation: the question and its answer, or the one-line error it met."""

    question: str
    answer: Answer | None = None
    error: str = ""


def readable(text: str, spans: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """PDF text as people read it — layout line breaks joined, end-of-line hyphens undone — with
    ``spans`` moved onto it, so that a highlight still marks the same characters."""
    out: list[str] = []
    where: list[int] = []  # for each character of text, its position in the output
    i = 0
    while i < len(text):
        where.append(len(out))
        ch = text[i]
        if (
            ch == "-"
            and i + 2 < len(text)
            and text[i + 1] == "\n"
            and text[i - 1 : i].isalpha()
            and text[i + 2].islower()
        ):
            where.append(len(out))
            i += 2  # "archi-\ntecture" → "architecture"
            continue
        if ch == "\n":
            blank = text[i + 1 : i + 2] == "\n"
            out.append("\n" if blank or (out and out[-1] == "\n") else " ")
        else:
            out.append(ch)
        i += 1
    where.append(len(out))
    return "".join(out), [(where[a], where[b]) for a, b in spans]


def highlighted(text: str, quotes: list[str], paged: bool = False) -> str:
    """Escaped ``text`` with every quoted sentence wrapped in ``<mark>`` (PDF text made readable)."""
    spans = sorted({(text.find(q), text.find(q) + len(q)) for q in quotes if q and q in text})
    if paged:
        text, spans = readable(text, spans)
    out, cursor = [], 0
    for start, end in spans:
        if start < cursor:
            continue
        out += [e(text[cursor:start]), "<mark>", e(text[start:end]), "</mark>"]
        cursor = end
    out.append(e(text[cursor:]))
    return "".join(out)


def passage_card(passage: Passage, quotes: list[str], turn: int) -> str:
    page = f" · p. {passage.chunk.page}" if passage.chunk.page is not None else ""
    cites = "".join(citation_html(c) for c in passage.cites)
    return (
        f"<div class='rq-card' id='rq-t{turn}-p{passage.rank}'>"
        f"<div class='rq-cite'><b>[{passage.rank}]</b> {e(passage.title)} · {e(passage.chunk.section or '—')}"
        f"{page} · score {passage.score:.2f}</div>"
        f"<div class='rq-text'>{highlighted(passage.chunk.text, quotes, passage.chunk.page is not None)}</div>"
        f"{cites}<button class='rq-open' data-key='{attribute(passage.chunk.chunk_id)}' "
        f'onclick="{OPEN_JS}">Open in document</button>'
        "</div>"
    )


def answer_html(answer: Answer, turn: int) -> str:
    """The assistant's side of a turn: the answer with [n] links, copy button and collapsible cards."""
    searched = f"<div class='rq-searched'>searched as: {e(answer.query)}</div>" if answer.query else ""
    if answer.abstained:
        cards = "".join(passage_card(p, [], turn) for p in answer.passages)
        nearest = f"<details><summary>Nearest passages ({len(answer.passages)})</summary>{cards}</details>"
        return f"{searched}<div class='rq-answer rq-abstain'>{e(answer.text)}</div>{nearest if answer.passages else ''}"
    quoted = " ".join(
        f"“{e(' '.join(q.text.split()))}” <a href='#rq-t{turn}-p{q.passage_rank}'>[{q.passage_rank}]</a>"
        for q in answer.quotes
    )
    by_rank: dict[int, list[str]] = {}
    for q in answer.quotes:
        by_rank.setdefault(q.passage_rank, []).append(q.text)
    cards = "".join(passage_card(p, by_rank.get(p.rank, []), turn) for p in answer.passages)
    markdown = attribute(answer_markdown(answer))
    copy = f"<span class='rq-actions'><button data-md='{markdown}' onclick=\"{COPY_JS}\">Copy</button></span>"
    return (
        f"{searched}<div class='rq-answer'>{quoted}</div>{copy}"
        f"<details open><summary>Passages ({len(answer.passages)})</summary>{cards}</details>"
    )


def chat_html(turns: list[Turn]) -> str:
    """The conversation, oldest turn first."""
    if not turns:
        return EMPTY_CHAT
    parts = []
    for n, turn in enumerate(turns, 1):
        parts.append(f"<div class='rq-turn-user'>{e(turn.question)}</div>")
        body = answer_html(turn.answer, n) if turn.answer else f"<div class='rq-error'>{e(turn.error)}</div>"
        parts.append(f"<div class='rq-turn-bot' id='rq-turn-{n}'>{body}</div>")
    return "".join(parts)


def evidence_html(evidence: Evidence) -> str:
    """The viewer: the page image with the passage boxed (PDF) or the passage in its section (text),
    then each footnote beside the cited source's supporting passage."""
    chunk = evidence.chunk
    page = f" · p. {chunk.page}" if chunk.page is not None else ""
    head = f"<div class='rq-cite'><b>{e(evidence.title)}</b> · {e(chunk.section or '—')}{page}</div>"
    body = ""
    if evidence.page_image is not None:
        image = evidence.page_image
        boxes = "".join(
            f"<div class='rq-box' style='left:{b.left * 100:.2f}%;top:{b.top * 100:.2f}%;"
            f"width:{(b.right - b.left) * 100:.2f}%;height:{(b.bottom - b.top) * 100:.2f}%'></div>"
            for b in image.boxes
        )
        data = base64.b64encode(image.png).decode()
        body = (
            f"<div class='rq-page'><img alt='page {image.page}' src='data:image/png;base64,{data}' "
            f"width='{image.width}' height='{image.height}'>{boxes}</div>"
        )
    if evidence.note:
        body += f"<div class='rq-error'>{e(evidence.note)}</div>"
    if evidence.page_image is None:
        paged = chunk.page is not None
        body += "".join(f"<div class='rq-context'>{_context(c, paged)}</div>" for c in evidence.before)
        marked, _ = readable(chunk.text, []) if paged else (chunk.text, [])
        body += f"<div class='rq-text'><mark class='rq-hl'>{e(marked)}</mark></div>"
        body += "".join(f"<div class='rq-context'>{_context(c, paged)}</div>" for c in evidence.after)
    claims = "".join(_claim(chunk, c) for c in evidence.cites)
    return f"<div class='rq-evidence'>{head}{body}{claims}</div>"


def _context(chunk: Chunk, paged: bool) -> str:
    return e(readable(chunk.text, [])[0] if paged else chunk.text)


def _claim(chunk: Chunk, citation) -> str:
    """A footnote's claim (the passage's sentence that carries its marker) beside what the source says."""
    claim = citation.claim or chunk.text
    state = citation_state(citation)
    if state == "supported":
        page = f", p. {citation.support.page}" if citation.support.page is not None else ""
        agreement = f" · numbers {e(citation.agreement)}" if citation.agreement else ""
        source = f"<b>{e(citation.doc_title)}{page}</b>{agreement}<br>{e(citation.support.text)}"
    elif state == "no support":
        source = f"<b>{e(citation.doc_title or citation.doc)}</b><br>no supporting passage found"
    else:
        source = "not in the corpus"
    return (
        f"<div class='rq-cites'>[{e(citation.marker)}] {e(citation.reference.label)}</div>"
        f"<div class='rq-claim'><div><b>claim</b><br>{e(claim)}</div><div><b>source</b> {source}</div></div>"
    )


def sources_html(documents: list[DocumentEntry], cited: list[tuple[str, Reference, str | None]]) -> str:
    """The documents in the index, each with a remove button, and the cited works found in the corpus."""
    if not documents:
        return "<p>No documents indexed yet.</p>"
    rows = "".join(
        f"<tr><td>{e(d.title)}<br><small>{e(d.path)} · {e(d.lang)}</small></td><td>{d.pages}</td>"
        f"<td>{len(d.chunk_ids)}</td><td>{'<br>'.join(e(part) for part in d.added.split('T', 1))}</td>"
        f"<td><button class='rq-remove' data-key='{attribute(d.path)}' "
        f'onclick="{REMOVE_JS}">Remove</button></td></tr>'
        for d in documents
    )
    in_corpus = [(r, t) for _, r, t in cited if t]
    found = "".join(f"<li>[{e(r.marker)}] {e(r.label)} → {e(t)}</li>" for r, t in in_corpus)
    summary = (
        f"<details><summary>Cited works in the corpus: {len(in_corpus)} of {len(cited)}</summary>"
        f"<ul>{found}</ul></details>"
        if cited
        else ""
    )
    return (
        "<div class='rq-sources-wrap'><table class='rq-sources'><tr><th>document</th><th>pages</th>"
        f"<th>chunks</th><th>added</th><th></th></tr>{rows}</table></div>{summary}"
    )
