"""The Gradio chat: a question box, the quoted answer and the cited passages, all HTML-escaped."""

from __future__ import annotations

import html
import sys

from .errors import ReportQAError
from .pipeline import ReportQA


def render_answer(qa: ReportQA, question: str) -> str:
    """HTML for one answer; every piece of document text and the question is escaped."""
    try:
        answer = qa.ask(question)
    except ReportQAError as e:
        return f"<p class='error'>{html.escape(str(e))}</p>"
    parts = [f"<p><b>Q.</b> {html.escape(answer.question)}</p>"]
    if answer.abstained:
        parts.append(f"<p><i>{html.escape(answer.text)}</i></p>")
    else:
        quotes = " ".join(
            f"“{html.escape(q.text)}” <a href='#p{q.passage_rank}'>[{q.passage_rank}]</a>" for q in answer.quotes
        )
        parts.append(f"<p>{quotes}</p>")
    for p in answer.passages:
        parts.append(
            f"<div id='p{p.rank}' class='passage'><b>[{p.rank}] {html.escape(p.citation)}</b> "
            f"<small>score {p.score:.3f}</small>"
            f"<pre style='white-space:pre-wrap'>{html.escape(p.chunk.text)}</pre></div>"
        )
    return "\n".join(parts)


def build_app(qa: ReportQA):
    import gradio as gr

    with gr.Blocks(title="ReportQA") as app:
        gr.Markdown("# ReportQA\nAsk in Korean or English; answers quote the report and cite their passages.")
        question = gr.Textbox(label="Question", placeholder="챗GPT 학습에 사용된 전력량은?")
        output = gr.HTML()
        question.submit(lambda q: render_answer(qa, q), inputs=question, outputs=output)
    return app


def serve(qa: ReportQA, host: str = "127.0.0.1", port: int = 7860) -> None:
    if not qa.has_index():
        print("no index yet: building it from the corpus …", file=sys.stderr)
        report = qa.build(progress=True)
        print(
            f"indexed {len(report.added)} documents, {report.chunks} chunks in {report.seconds:.0f}s", file=sys.stderr
        )
    build_app(qa).launch(server_name=host, server_port=port)
