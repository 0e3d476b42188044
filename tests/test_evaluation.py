"""The scoring definition of shared/eval/score.py, and answer@1 on the first quoted sentence."""

from reportqa.evaluation import EvalQuestion, score

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
