"""The Gradio chat: questions in, quoted answers with their cited passages out, and the sources panel.

All HTML is produced here from escaped text (``html.escape`` on every piece of document text,
question, title and file name); nothing from a document is ever inserted as markup. Gradio is
imported only inside ``build_app``/``serve``.
"""

from __future__ import annotations

import html
import logging
import shutil
import sys
import tempfile
import threading
from pathlib import Path

from .corpus import safe_name
from .documents import SUPPORTED_SUFFIXES, printable
from .errors import BuildCancelled, ReportQAError
from .pipeline import ReportQA
from .records import Answer, Passage
from .render import citation_html
from .resident import ResidentServer

logger = logging.getLogger(__name__)

EXAMPLES = [
    "챗GPT 학습에 사용된 전력량은?",
    "미국이 네덜란드에 요청한 수출 금지 대상 장비는?",
    "How much did the United States spend on R&D in 2020?",
    "Which AI process did the G7 leaders agree to launch within the year?",
]
CSS = """
.rq-answer {font-size: 1.05rem; line-height: 1.6; margin: 0.4rem 0 0.8rem}
.rq-question {font-weight: 600; margin-top: 1rem}
.rq-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.6rem 0.8rem; margin: 0.5rem 0}
.rq-cite {font-size: 0.85rem; color: var(--body-text-color-subdued)}
.rq-text {white-space: pre-wrap; font-size: 0.92rem; margin-top: 0.3rem}
.rq-text mark {background: #fde68a; color: inherit}
.rq-abstain {font-style: italic}
.rq-error {color: #b91c1c}
.rq-cites {font-size: 0.85rem; margin-top: 0.4rem; color: var(--body-text-color-subdued)}
table.rq-sources {width: 100%; font-size: 0.85rem}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _highlight(text: str, quotes: list[str]) -> str:
    """Escaped ``text`` with every quoted sentence wrapped in ``<mark>``."""
    spans = sorted({(text.find(q), text.find(q) + len(q)) for q in quotes if q and q in text})
    out, cursor = [], 0
    for start, end in spans:
        if start < cursor:
            continue
        out += [_e(text[cursor:start]), "<mark>", _e(text[start:end]), "</mark>"]
        cursor = end
    out.append(_e(text[cursor:]))
    return "".join(out)


def render_passage(passage: Passage, quotes: list[str]) -> str:
    page = f" · p. {passage.chunk.page}" if passage.chunk.page is not None else ""
    cites = "".join(citation_html(c) for c in passage.cites)
    return (
        f"<div class='rq-card' id='rq-p{passage.rank}'>"
        f"<div class='rq-cite'><b>[{passage.rank}]</b> {_e(passage.title)} · {_e(passage.chunk.section or '—')}"
        f"{page} · score {passage.score:.2f}</div>"
        f"<div class='rq-text'>{_highlight(passage.chunk.text, quotes)}</div>{cites}</div>"
    )


def render_answer(answer: Answer) -> str:
    """One question with its answer and passage cards, as escaped HTML."""
    parts = [f"<div class='rq-question'>Q. {_e(answer.question)}</div>"]
    if answer.abstained:
        parts.append(f"<div class='rq-answer rq-abstain'>{_e(answer.text)}</div>")
        if answer.passages:
            cards = "".join(render_passage(p, []) for p in answer.passages)
            parts.append(f"<details><summary>Nearest passages ({len(answer.passages)})</summary>{cards}</details>")
        return "".join(parts)
    quoted = " ".join(
        f"“{_e(' '.join(q.text.split()))}” <a href='#rq-p{q.passage_rank}'>[{q.passage_rank}]</a>"
        for q in answer.quotes
    )
    parts.append(f"<div class='rq-answer'>{quoted}</div>")
    by_rank: dict[int, list[str]] = {}
    for q in answer.quotes:
        by_rank.setdefault(q.passage_rank, []).append(q.text)
    parts.extend(render_passage(p, by_rank.get(p.rank, [])) for p in answer.passages)
    return "".join(parts)


def render_sources(qa: ReportQA) -> str:
    """The documents in the index as an escaped HTML table."""
    if not qa.has_index():
        return "<p>No index yet.</p>"
    rows = "".join(
        f"<tr><td>{_e(d.title)}<br><small>{_e(d.path)}</small></td><td>{d.pages}</td>"
        f"<td>{len(d.chunk_ids)}</td><td>{_e(d.lang)}</td><td>{_e(d.added.replace('T', ' '))}</td></tr>"
        for d in qa.documents()
    )
    cited = qa.sources()
    in_corpus = [(r, t) for _, r, t in cited if t]
    found = "".join(f"<li>[{_e(r.marker)}] {_e(r.label)} → {_e(t)}</li>" for r, t in in_corpus)
    summary = (
        f"<details><summary>Cited works in the corpus: {len(in_corpus)} of {len(cited)}</summary>"
        f"<ul>{found}</ul></details>"
        if cited
        else ""
    )
    return (
        "<table class='rq-sources'><tr><th>document</th><th>pages</th><th>chunks</th><th>lang</th>"
        f"<th>added</th></tr>{rows}</table>{summary}"
    )


class WebSession:
    """What the web page does, without Gradio: ask, keep the conversation, take uploads.

    One instance serves every request: questions run concurrently on the current index, uploads
    are serialised and swap the new index in only when it is complete.
    """

    def __init__(self, qa: ReportQA, max_upload_mb: float | None = None):
        self.qa = qa
        self.max_upload_bytes = int((max_upload_mb or qa.settings.max_file_mb) * 1e6)
        self._upload_lock = threading.Lock()
        self._cancel = threading.Event()

    def ask(self, question: str, top_k: int = 5, history: str = "") -> str:
        """HTML of the new answer followed by the earlier ones."""
        try:
            self.qa.follow_index()  # a build by another process (``reportqa add``, a replica's upload)
            block = render_answer(self.qa.ask(question, top_k=int(top_k)))
        except ReportQAError as e:
            block = f"<div class='rq-error'>{_e(e)}</div>"
        except Exception as e:  # noqa: BLE001 (the page shows one line; the log keeps the traceback)
            logger.exception("question failed")
            block = f"<div class='rq-error'>the question failed: {_e(type(e).__name__)}: {_e(e)}</div>"
        return block + (history or "")

    def upload(self, paths: list[str] | None) -> tuple[str, str]:
        """Add uploaded files to the corpus and index them; returns (status HTML, sources HTML)."""
        accepted, messages = [], []
        for raw in paths or []:
            path = Path(raw)
            reason = self._rejection(path)
            if reason:
                messages.append(f"rejected {_e(path.name)}: {_e(reason)}")
            else:
                accepted.append(path)
        if accepted:
            with self._upload_lock, tempfile.TemporaryDirectory() as staging:
                self._cancel.clear()
                staged = []
                for path in accepted:
                    target = Path(staging) / safe_name(path.name)
                    shutil.copyfile(path, target)
                    staged.append(target)
                try:
                    report = self.qa.add(staged, progress=True, cancel=self._cancel)
                except BuildCancelled as e:
                    messages.append(_e(e))
                except ReportQAError as e:
                    messages.append(f"indexing failed: {_e(e)}")
                except Exception as e:  # noqa: BLE001 (the page shows one line; the log keeps the traceback)
                    logger.exception("upload failed")
                    messages.append(f"indexing failed: {_e(type(e).__name__)}: {_e(e)}")
                else:
                    messages += [f"indexed {_e(name)}" for name in report.added]
                    messages += [f"skipped {_e(printable(name))}: {_e(reason)}" for name, reason in report.skipped]
                    messages += [f"partly indexed: {_e(note)}" for _, note in report.warnings]
                    if not report.added and not report.skipped:
                        messages.append("already indexed, nothing changed")
        status = "<br>".join(messages) or "no file received"
        return f"<div class='rq-status'>{status}</div>", render_sources(self.qa)

    def cancel_upload(self) -> str:
        """Stop the upload being indexed before its next document; it is undone as a failed add is."""
        if not self._upload_lock.locked():
            return "<div class='rq-status'>nothing is being indexed</div>"
        self._cancel.set()
        return "<div class='rq-status'>cancelling: the upload stops before its next document …</div>"

    def _rejection(self, path: Path) -> str | None:
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            return f"only {', '.join(SUPPORTED_SUFFIXES)} files can be added"
        try:
            size = path.stat().st_size
        except OSError:
            return "the upload could not be read"
        if size > self.max_upload_bytes:
            return f"{size / 1e6:.1f} MB is over the {self.max_upload_bytes / 1e6:.0f} MB upload limit"
        if size == 0:
            return "the file is empty"
        return None


def build_app(qa: ReportQA, max_upload_mb: float | None = None):
    import gradio as gr

    max_upload_mb = max_upload_mb or qa.settings.max_file_mb
    session = WebSession(qa, max_upload_mb)
    with gr.Blocks(title="ReportQA") as app:
        gr.Markdown(
            "# ReportQA\nAsk in Korean or English. Answers quote the documents verbatim; "
            "each `[n]` points at the cited passage below it."
        )
        with gr.Row():
            with gr.Column(scale=3):
                question = gr.Textbox(
                    label="Question", placeholder=EXAMPLES[0], lines=1, max_lines=3, elem_id="rq-question"
                )
                with gr.Row():
                    ask = gr.Button("Ask", variant="primary")
                    top_k = gr.Slider(1, 10, value=qa.settings.top_k, step=1, label="passages (top-k)")
                gr.Examples(EXAMPLES, inputs=question)
                conversation = gr.HTML(elem_id="rq-conversation")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(render_sources(qa), elem_id="rq-sources")
                upload = gr.File(
                    label=f"Add .pdf / .txt / .md (≤ {max_upload_mb:g} MB)",
                    file_count="multiple",
                    file_types=list(SUPPORTED_SUFFIXES),
                    type="filepath",
                )
                cancel = gr.Button("Cancel indexing", size="sm", elem_id="rq-cancel")
                status = gr.HTML(elem_id="rq-status")
        ask_inputs = [question, top_k, conversation]
        question.submit(session.ask, inputs=ask_inputs, outputs=conversation, api_name="ask", concurrency_limit=8)
        ask.click(session.ask, inputs=ask_inputs, outputs=conversation, api_name=False, concurrency_limit=8)

        def on_upload(files, progress=gr.Progress(track_tqdm=True)):  # noqa: B008 (Gradio's progress idiom)
            return session.upload(files)

        upload.upload(on_upload, inputs=upload, outputs=[status, sources], api_name="upload", concurrency_limit=1)
        cancel.click(session.cancel_upload, outputs=status, api_name=False, concurrency_limit=1)
    return app


def serve(qa: ReportQA, host: str = "127.0.0.1", port: int = 7860) -> None:
    if not qa.has_index():
        print("no index yet: building it from the corpus …", file=sys.stderr)
        report = qa.build(progress=True)
        print(
            f"indexed {len(report.added)} documents, {report.chunks} chunks in {report.seconds:.0f}s", file=sys.stderr
        )
    print("loading the models and the index …", file=sys.stderr, flush=True)
    qa.warm()  # before the URL is printed, so that the first question is as fast as the later ones
    resident = ResidentServer(qa)
    resident.start()  # ``reportqa ask`` and ``batch`` on this index are answered here too
    try:
        build_app(qa).launch(
            server_name=host, server_port=port, css=CSS, max_file_size=f"{qa.settings.max_file_mb:g}mb"
        )
    finally:
        resident.stop()
