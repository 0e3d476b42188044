"""The scoring definition of shared/eval/score.py, and answer@1 on the first quoted sentence."""

from reportqa.evaluation import EvalQuestion, read_questions, score

QUESTIONS = [
    EvalQuestion("a", "ko", "전력량은?", ("1.287GWh",)),
    EvalQuestion("b", "ko", "R&D 지출은?", ("7,209억  불",)),
    EvalQuestion("c", "en", "Power?", ("1.287GWh",)),
    EvalQuestion("u", "en", "Weather tomorrow?", ()),
]


def test_hits_mrr_and_abstention():
    results = {
        "a": (["학습에 1.287GWh의 전기", "other"], False),
        "b": (["other", "7,209억 불(20년)"], False),
        "c": (["nothing", "nothing"], True),
        "u": (["anything"], True),
    }
    rows = score(QUESTIONS, results, k=5)
    assert rows["ko"]["hit@1"] == 0.5 and rows["ko"]["hit@5"] == 1.0 and rows["ko"]["mrr@10"] == 0.75
    assert rows["en"]["false_abstain"] == 1 and rows["en"]["abstain_ok"] == "1/1"
    assert "answer@1" not in rows["all"]  # no quotes given: not reported


def test_answer_at_1_needs_the_evidence_in_the_first_quote_of_an_answer():
    results = {
        "a": (["학습에 1.287GWh의 전기 …"], False, "챗GPT 학습에 1.287GWh의 전기가 소모되며"),
        "b": (["7,209억 불(20년)"], False, "미국 R&D 지출 규모는 크게 늘었다."),  # passage right, quote not
        "c": (["1.287GWh"], True, "1.287GWh"),  # abstained: no answer was given
        "u": ([], True, None),
    }
    rows = score(QUESTIONS, results, k=5)
    assert rows["ko"]["answer@1"] == 0.5 and rows["ko"]["hit@1"] == 1.0
    assert rows["en"]["answer@1"] == 0.0 and rows["all"]["answer@1"] == 1 / 3


def test_a_question_file_is_read_line_by_line_and_bad_lines_are_named(tmp_path):
    """Lines are keyed by number (ids may be missing or repeat); one evidence string may stand alone,
    and is not read as its characters; a line that cannot be scored is named with its reason."""
    path = tmp_path / "q.jsonl"
    lines = [
        '{"id": 1, "lang": "en", "question": "What is phi-1?", "evidence": ["a model"]}',
        '{"id": 1, "lang": "ko", "question": "phi-1은 무엇인가?", "evidence": "a model"}',
        '{"question": "no id, no language, no evidence"}',
        "",
        "not json",
        '{"id": 4, "evidence": ["x"]}',
        '{"question": "evidence of the wrong kind", "evidence": [1, 2]}',
        "[1, 2]",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    questions, skipped = read_questions(path)
    assert [(q.id, q.lang, q.evidence) for q in questions] == [
        ("1", "en", ("a model",)),
        ("2", "ko", ("a model",)),
        ("3", "?", ()),
    ]
    assert skipped == [
        "skipped line 5: not valid JSON (JSONDecodeError)",
        "skipped line 6: missing or empty 'question'",
        "skipped line 7: 'evidence' must be a list of strings",
        "skipped line 8: missing or empty 'question'",
    ]
