"""The CLI contracts of DESIGN §4, run in-process against the real encoder."""

import csv
import json
import logging
import subprocess
import sys

import pytest

from conftest import ROOT, copy_corpus
from reportqa import ReportQA
from reportqa.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cli_dirs(tmp_path_factory, encoder):
    corpus = copy_corpus(tmp_path_factory.mktemp("cli-corpus"))
    index = tmp_path_factory.mktemp("cli-index")
    assert main(["build", "--corpus", str(corpus), "--index", str(index), "-q"]) == 0
    return ["--corpus", str(corpus), "--index", str(index)]


def test_unchanged_build_reports_nothing_new(cli_dirs, capsys):
    assert main(["build", *cli_dirs]) == 0
    assert "indexed 0 new, 1 unchanged, 0 removed, 0 skipped" in capsys.readouterr().out


def test_ask_quotes_the_power_figure_with_report_and_section(cli_dirs, capsys):
    assert main(["ask", "챗GPT 학습에 사용된 전력량은?", *cli_dirs]) == 0
    out = capsys.readouterr().out
    answer, _, passages = out.partition("\n\n")
    assert "1.287GWh" in answer and "[1]" in answer
    assert "[1] SPRi 2023, III 미·중 AI 경쟁의 다층적 특성 › 3 AI 혁신의 초기 투자규모와 자본의 회임주기" in passages


def test_ask_json_is_one_batch_line(cli_dirs, capsys):
    assert (
        main(["ask", "Which AI process did the G7 leaders agree to launch?", "--json", "--top-k", "3", *cli_dirs]) == 0
    )
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "\\u" not in out
    record = json.loads(out)
    assert set(record) == {"id", "question", "answer", "abstained", "passages"}
    assert len(record["passages"]) == 3
    assert set(record["passages"][0]) == {
        "rank",
        "text",
        "doc",
        "title",
        "section",
        "page",
        "score",
        "citation",
        "cites",
    }
    assert record["passages"][0]["doc"] == "spri-2023-ai-competition.txt"


def test_batch_formats_keep_order_and_skip_bad_lines(cli_dirs, tmp_path, capsys):
    src = tmp_path / "q.jsonl"
    src.write_text(
        '{"id": "a", "question": "미국의 R&D 지출은?"}\n'
        "not json\n"
        '{"id": "b"}\n'
        '{"id": "c", "question": "What equipment did the US ask the Netherlands to stop exporting?"}\n',
        encoding="utf-8",
    )
    out = tmp_path / "r.jsonl"
    assert main(["batch", str(src), "--out", str(out), *cli_dirs]) == 3
    err = capsys.readouterr().err
    assert "line 2" in err and "line 3" in err
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in lines] == ["a", "c"]
    assert lines[1]["question"].startswith("What equipment") and len(lines[1]["passages"]) == 5
    assert all(p["text"] in (ROOT / "corpus" / p["doc"]).read_text(encoding="utf-8") for p in lines[1]["passages"])

    txt = tmp_path / "q.txt"
    txt.write_text("첫 질문: 틱톡 금지 권고는?\n\n두 번째: 히로시마 AI 프로세스\n", encoding="utf-8")
    out_csv = tmp_path / "r.csv"
    assert main(["batch", str(txt), "--out", str(out_csv), "--top-k", "2", *cli_dirs]) == 0
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["1", "1", "3", "3"] and [r["rank"] for r in rows] == ["1", "2", "1", "2"]

    csv_in = tmp_path / "q.csv"
    csv_in.write_text("id,question\nx1,중국 AI 서버 기업은?\nx2,\n", encoding="utf-8")
    assert main(["batch", str(csv_in), "--out", str(tmp_path / "r2.jsonl"), *cli_dirs]) == 3


def test_batch_rejects_unknown_input_type(cli_dirs, tmp_path, capsys):
    src = tmp_path / "q.xlsx"
    src.write_bytes(b"x")
    assert main(["batch", str(src), "--out", str(tmp_path / "o.jsonl"), *cli_dirs]) == 1
    assert capsys.readouterr().err.startswith("error: q.xlsx")


def test_eval_prints_per_language_rows(cli_dirs, capsys):
    from conftest import DEV

    assert main(["eval", str(DEV), *cli_dirs]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["en", "ko", "all"]
    assert all("hit@1=" in line and "MRR@10=" in line and "answer@1=" in line for line in out)


def test_eval_names_bad_lines_and_refuses_a_file_without_questions(cli_dirs, tmp_path, capsys):
    """Each line is judged alone, as batch lines are: ids may be missing or repeat, one evidence
    string stands alone, and a line that cannot be scored is named with its reason (exit 3)."""
    questions = tmp_path / "q.jsonl"
    lines = [
        '{"id": 1, "lang": "en", "question": "How much power did training ChatGPT use?", "evidence": ["1.287GWh"]}',
        '{"id": 1, "lang": "ko", "question": "챗GPT 학습에 사용된 전력량은?", "evidence": "1.287GWh"}',
        '{"question": "내일 서울 날씨는 어때?"}',
        "",
        "not json",
        '{"id": 4, "evidence": ["x"]}',
        '{"question": "evidence of the wrong kind", "evidence": [1, 2]}',
        "[1, 2]",
    ]
    questions.write_text("\n".join(lines), "utf-8")
    assert main(["eval", str(questions), *cli_dirs]) == 3  # answered, some lines skipped
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "skipped line 5: not valid JSON (Expecting value)",
        "skipped line 6: missing or empty 'question'",
        "skipped line 7: 'evidence' must be a list of strings",
        "skipped line 8: not a JSON object",
    ]
    rows = {line.split()[0]: line for line in captured.out.splitlines()}
    assert list(rows) == ["?", "en", "ko", "all"]
    assert "n=  0" in rows["?"] and "abstain_ok=1/1" in rows["?"]
    assert "n=  1" in rows["en"] and "n=  1 hit@1=1.000" in rows["ko"]  # the evidence, not its characters
    questions.write_text('{"id": 1}\n', "utf-8")
    assert main(["eval", str(questions), *cli_dirs]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == f"error: no questions to evaluate in {questions}"


def test_list_shows_the_report(cli_dirs, capsys):
    assert main(["list", *cli_dirs]) == 0
    out = capsys.readouterr().out
    assert "spri-2023-ai-competition.txt" in out and "인공지능의 혁신 특성과 글로벌 경쟁구조" in out


def test_errors_are_one_line(tmp_path, capsys):
    assert main(["ask", "anything", "--index", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "reportqa build" in err
    assert main(["ask", "   ", "--index", str(tmp_path / "none")]) == 1
    assert main(["frobnicate"]) == 2
    assert main(["ask", "anything", "--top-k", "0", "--index", str(tmp_path / "none")]) == 2


def test_batch_resume_skips_finished_ids_and_repairs_a_torn_line(cli_dirs, tmp_path, capsys):
    src = tmp_path / "q.jsonl"
    src.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "question": f"미국의 R&D 지출 {i}"}, ensure_ascii=False) + "\n" for i in range(4)
        ),
        encoding="utf-8",
    )
    out = tmp_path / "r.jsonl"
    assert main(["batch", str(src), "--out", str(out), *cli_dirs]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    # an interrupted run: two answers kept, the third torn in the middle of its line
    out.write_text("\n".join(lines[:2]) + "\n" + lines[2][:40], encoding="utf-8")
    capsys.readouterr()
    assert main(["batch", str(src), "--out", str(out), "--resume", *cli_dirs]) == 0
    assert "answered 2 questions, skipped 0, 2 already done" in capsys.readouterr().err
    ids = [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert ids == ["q0", "q1", "q2", "q3"]


def test_damaged_index_is_reported_and_build_force_recovers(tmp_path, capsys, encoder):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    copy_corpus(corpus)
    dirs = ["--corpus", str(corpus), "--index", str(index)]
    assert main(["build", "-q", *dirs]) == 0
    faiss_file = next(index.glob("v-*/vectors.npy"))
    faiss_file.write_bytes(faiss_file.read_bytes()[:1000])
    capsys.readouterr()
    assert main(["ask", "미국의 R&D 지출은?", *dirs]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "damaged" in err and "reportqa build --force" in err
    assert main(["build", "--force", "-q", *dirs]) == 0
    assert main(["ask", "미국의 R&D 지출은?", "--json", *dirs]) == 0
    assert json.loads(capsys.readouterr().out)["passages"]


def test_an_index_in_an_older_format_is_rebuilt_by_the_next_build(tmp_path, capsys, caplog, encoder):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    copy_corpus(corpus)
    dirs = ["--corpus", str(corpus), "--index", str(index)]
    assert main(["build", "-q", *dirs]) == 0
    manifest_file = index / "current" / "manifest.json"
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    manifest_file.write_text(json.dumps({**manifest, "format_version": 5}), encoding="utf-8")
    capsys.readouterr()
    assert main(["ask", "미국의 R&D 지출은?", *dirs]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "index format 5" in err and "reportqa build --force" in err
    assert ReportQA(index_dir=index, corpus_dir=corpus).index_outdated() == "the index was written in an older format"
    caplog.handler.setLevel(logging.WARNING)  # the CLI set its handlers to its own level above
    with caplog.at_level(logging.WARNING, logger="reportqa"):
        assert main(["build", *dirs]) == 0
    assert "older format: indexing every document again" in caplog.text
    capsys.readouterr()
    assert main(["ask", "미국의 R&D 지출은?", "--json", *dirs]) == 0
    assert json.loads(capsys.readouterr().out)["passages"]
    assert ReportQA(index_dir=index, corpus_dir=corpus).index_outdated() is None


def test_a_reader_that_stops_early_ends_the_command_quietly(cli_dirs):
    """``reportqa list | head -0``: no traceback and no error line, the shell's SIGPIPE status."""
    script = f"import sys; from reportqa.cli import main; sys.exit(main(['list', *{cli_dirs!r}]))"
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()  # the reader is gone before the command writes
    assert child.wait(timeout=60) == 141
    assert child.stderr.read() == b""


def test_hostile_corpus_and_batch_end_in_exit_3_with_one_line_per_bad_item(tmp_path, capsys, encoder):
    from hostile import bomb_pdf, unknown_filter_pdf

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    copy_corpus(corpus)
    (corpus / "bomb.pdf").write_bytes(bomb_pdf(200_000_000))
    (corpus / "filter.pdf").write_bytes(unknown_filter_pdf())
    (corpus / "note.txt").write_text("A note on 3 nm chips.", encoding="utf-8")
    (corpus / "note.txt.meta.json").write_text('{"language": ["ko"]}', encoding="utf-8")
    (corpus / "empty\nskipped: INJECTED-LINE.txt").write_bytes(b"")
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    dirs = ["--corpus", str(corpus), "--index", str(index)]
    assert main(["build", "-q", *dirs]) == 3
    err = capsys.readouterr().err.splitlines()
    assert sorted(line.split(":")[0] for line in err) == ["partly indexed"] * 3 + ["skipped"] * 2
    assert any("empty\\nskipped: INJECTED-LINE.txt: file is empty" in line for line in err)
    assert any("passwd.txt: a symbolic link" in line for line in err)
    assert main(["ask", "3 nm chips note", "--json", *dirs]) == 0
    assert json.loads(capsys.readouterr().out)["passages"]

    questions = tmp_path / "q.jsonl"
    deep = b'{"id": "deep", "question": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    questions.write_bytes(b'{"id": "a", "question": "3 nm chips?"}\n' + deep + b'\n{"id": "b", "question": "\xff"}\n')
    assert main(["batch", str(questions), "--out", str(questions), *dirs]) == 1
    assert "would overwrite the input" in capsys.readouterr().err
    out = tmp_path / "a.csv"
    assert main(["batch", str(questions), "--out", str(out), *dirs]) == 3
    err = capsys.readouterr().err.splitlines()
    assert err[:2] == ["skipped line 2: JSON nested too deeply", "skipped line 3: not UTF-8 text"]

    assert main(["check", *dirs]) == 0
    faiss_file = index / "current" / "vectors.npy"
    data = bytearray(faiss_file.read_bytes())
    data[-100] ^= 0x01
    faiss_file.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["fsck", *dirs]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("damaged: vectors.npy: ") and err[1].startswith("error: 1 damaged file(s)")
    (index / "current" / "manifest.json").write_text('["a", "list"]', encoding="utf-8")
    assert main(["ask", "3 nm chips?", *dirs]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: index manifest") and "build --force" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "corpus", "index", "q.jsonl"]  # nothing else written


def test_ask_markdown_and_a_follow_up_after_an_earlier_question(cli_dirs, capsys):
    assert main(["ask", "미국의 R&D 지출은 2020년에 얼마였나?", "--markdown", *cli_dirs]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## 미국의 R&D 지출은 2020년에 얼마였나?\n")
    assert "References:" in out and "[1] SPRi 2023, " in out and "7,209억 불" in out
    earlier = "How much value added would the US lose if export controls spread to all industries?"
    assert main(["ask", "What about Korea?", "--after", earlier, "--json", *cli_dirs]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["question"] == "What about Korea?"
    assert main(["ask", "What about Korea?", "--json", *cli_dirs]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert _rank(record, "1,144억 달러") == 1 < _rank(alone, "1,144억 달러")


def _rank(record: dict, evidence: str) -> float:
    """The rank of the first passage holding ``evidence`` (infinity when none does)."""
    return next((p["rank"] for p in record["passages"] if evidence in p["text"]), float("inf"))


def test_batch_lines_of_one_conversation_are_answered_with_its_history(cli_dirs, tmp_path, capsys):
    source = tmp_path / "conversation.jsonl"
    lines = [
        {"id": "a1", "conversation": "a", "question": "수출통제가 전산업으로 확산되면 미국의 부가가치 감소액은?"},
        {"id": "b1", "conversation": "b", "question": "챗GPT 학습에 사용된 전력량은?"},
        {"id": "a2", "conversation": "a", "question": "그럼 한국은?"},
        {"id": "x", "question": "그럼 한국은?"},
    ]
    source.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    out = tmp_path / "answers.jsonl"
    assert main(["batch", str(source), "--out", str(out), "-q", *cli_dirs]) == 0
    answers = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert list(answers) == ["a1", "b1", "a2", "x"]
    assert _rank(answers["a2"], "1,144억 달러") == 1 < _rank(answers["x"], "1,144억 달러")
