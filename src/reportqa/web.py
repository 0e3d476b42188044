"""The Gradio chat: a conversation of questions and quoted answers, the evidence viewer and the sources panel.

The page's HTML comes from ``chat_html`` (escaped text only). ``WebSession`` is what the page does,
without Gradio, so that it is tested directly; Gradio is imported only inside ``build_app``/``serve``.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
import threading
from pathlib import Path

from .chat_html import CSS, Turn, chat_html, e, evidence_html, sources_html
from .corpus import safe_name
from .documents import SUPPORTED_SUFFIXES
from .errors import BuildCancelled, ReportQAError, printable
from .pipeline import ReportQA
from .render import conversation_markdown
from .resident import ResidentServer

logger = logging.getLogger(__name__)

__all__ = ["CSS", "WebSession", "build_app", "serve"]

EXAMPLES = [
    "미국 반도체법의 보조금 규모는?",
    "챗GPT 학습에 사용된 전력량은?",
    "How much did the United States spend on R&D in 2020?",
    "What did phi-1 score on HumanEval?",
]


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
        self._exports: Path | None = None  # one folder for the session's Markdown exports

    def ask(self, question: str, top_k: int, turns: list[Turn]) -> list[Turn]:
        """The conversation with one more turn; the earlier questions are the new one's history."""
        history = [t.question for t in turns if t.answer is not None]
        try:
            self.qa.follow_index()  # a build by another process (``reportqa add``, a replica's upload)
            turn = Turn(question, self.qa.ask(question, top_k=int(top_k), history=history))
        except ReportQAError as err:
            turn = Turn(question, error=str(err))
        except Exception as err:  # noqa: BLE001 (the page shows one line; the log keeps the traceback)
            logger.exception("question failed")
            turn = Turn(question, error=f"the question failed: {type(err).__name__}: {err}")
        return [*turns, turn]

    def export(self, turns: list[Turn]) -> str | None:
        """The conversation as a Markdown file (its path), or None before the first answer."""
        answers = [t.answer for t in turns if t.answer is not None]
        if not answers:
            return None
        if self._exports is None:
            self._exports = Path(tempfile.mkdtemp(prefix="reportqa-export-"))
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=self._exports, prefix="reportqa-conversation-", suffix=".md", delete=False
        ) as handle:
            handle.write(conversation_markdown(answers))
        return handle.name

    def open_evidence(self, chunk_id: str) -> str:
        """The evidence viewer's HTML for one passage."""
        try:
            return evidence_html(self.qa.evidence(chunk_id.strip()))
        except ReportQAError as err:
            return f"<div class='rq-error'>{e(err)}</div>"
        except Exception as err:  # noqa: BLE001
            logger.exception("evidence viewer failed")
            return f"<div class='rq-error'>the passage could not be shown: {e(type(err).__name__)}</div>"

    def sources(self) -> str:
        """The sources panel as it is now (another process may have changed the index)."""
        if not self.qa.has_index():
            return "<p>No index yet.</p>"
        self.qa.follow_index()
        return sources_html(self.qa.documents(), self.qa.sources())

    def remove(self, name: str) -> tuple[str, str]:
        """Remove one document from the corpus and the index, as ``reportqa remove`` does."""
        name = name.strip()
        if not name:
            return "<div class='rq-status'>no document chosen</div>", self.sources()
        with self._upload_lock:
            try:
                report = self.qa.remove([name])
            except ReportQAError as err:
                return f"<div class='rq-status rq-error'>{e(err)}</div>", self.sources()
        removed = ", ".join(report.removed) or "nothing"
        return f"<div class='rq-status'>removed {e(removed)}</div>", self.sources()

    def upload(self, paths: list[str] | None) -> tuple[str, str]:
        """Add uploaded files to the corpus and index them; returns (status HTML, sources HTML)."""
        accepted, messages = [], []
        for raw in paths or []:
            path = Path(raw)
            reason = self._rejection(path)
            if reason:
                messages.append(f"rejected {e(path.name)}: {e(reason)}")
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
                except BuildCancelled as err:
                    messages.append(e(err))
                except ReportQAError as err:
                    messages.append(f"indexing failed: {e(err)}")
                except Exception as err:  # noqa: BLE001 (the page shows one line; the log keeps the traceback)
                    logger.exception("upload failed")
                    messages.append(f"indexing failed: {e(type(err).__name__)}: {e(err)}")
                else:
                    messages += [f"indexed {e(name)}" for name in report.added]
                    messages += [f"skipped {e(printable(name))}: {e(reason)}" for name, reason in report.skipped]
                    messages += [f"partly indexed: {e(note)}" for _, note in report.warnings]
                    if not report.added and not report.skipped:
                        messages.append("already indexed, nothing changed")
        status = "<br>".join(messages) or "no file received"
        return f"<div class='rq-status'>{status}</div>", self.sources()

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
        gr.Markdown("# ReportQA\nAsk in Korean or English; follow-up questions are read with the conversation.")
        turns = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.HTML(chat_html([]), elem_id="rq-chat")
                with gr.Row(equal_height=True):
                    question = gr.Textbox(
                        show_label=False, placeholder=EXAMPLES[0], lines=1, max_lines=3, scale=6, elem_id="rq-question"
                    )
                    send = gr.Button("Send", variant="primary", scale=1, elem_id="rq-send")
                with gr.Row():
                    new = gr.Button("New conversation", size="sm", elem_id="rq-new")
                    export = gr.DownloadButton("Export conversation", size="sm", elem_id="rq-export")
                    top_k = gr.Slider(1, 10, value=qa.settings.top_k, step=1, label="passages (top-k)")
                gr.Examples(EXAMPLES, inputs=question)
            with gr.Column(scale=2):
                gr.Markdown("### Evidence")
                viewer = gr.HTML("<p>Open a passage to see it in its document.</p>", elem_id="rq-viewer")
                gr.Markdown("### Sources")
                sources = gr.HTML(elem_id="rq-sources")
                upload = gr.File(
                    label=f"Add .pdf / .txt / .md (≤ {max_upload_mb:g} MB)",
                    file_count="multiple",
                    file_types=list(SUPPORTED_SUFFIXES),
                    type="filepath",
                )
                cancel = gr.Button("Cancel indexing", size="sm", elem_id="rq-cancel")
                status = gr.HTML(elem_id="rq-status")
        open_key = gr.Textbox(elem_id="rq-open-key", elem_classes=["rq-hidden"], show_label=False)
        open_go = gr.Button("open", elem_id="rq-open-go", elem_classes=["rq-hidden"])
        remove_key = gr.Textbox(elem_id="rq-remove-key", elem_classes=["rq-hidden"], show_label=False)
        remove_go = gr.Button("remove", elem_id="rq-remove-go", elem_classes=["rq-hidden"])

        def on_ask(text, k, history):
            if not text or not text.strip():
                return chat_html(history), history, text, session.export(history)
            updated = session.ask(text, k, history)
            return chat_html(updated), updated, "", session.export(updated)

        ask_outputs = [chat, turns, question, export]
        question.submit(on_ask, [question, top_k, turns], ask_outputs, api_name="ask", concurrency_limit=8)
        send.click(on_ask, [question, top_k, turns], ask_outputs, api_name=False, concurrency_limit=8)
        new.click(lambda: (chat_html([]), [], None), outputs=[chat, turns, export], api_name=False)
        open_go.click(session.open_evidence, inputs=open_key, outputs=viewer, api_name=False, concurrency_limit=4)
        remove_go.click(session.remove, inputs=remove_key, outputs=[status, sources], api_name=False)

        def on_upload(files, progress=gr.Progress(track_tqdm=True)):  # noqa: B008 (Gradio's progress idiom)
            progress(0, desc=f"indexing {len(files or [])} file(s)")
            return session.upload(files)

        upload.upload(on_upload, inputs=upload, outputs=[status, sources], api_name="upload", concurrency_limit=1)
        cancel.click(session.cancel_upload, outputs=status, api_name=False, concurrency_limit=1)
        app.load(session.sources, outputs=sources, api_name=False)  # current for every page opened
    return app


def serve(qa: ReportQA, host: str = "127.0.0.1", port: int = 7860) -> None:
    outdated = qa.index_outdated()
    if not qa.has_index() or outdated:
        print(f"{outdated or 'no index yet'}: building it from the corpus …", file=sys.stderr)
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
