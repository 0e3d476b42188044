"""The scoring definition of shared/eval/score.py, and answer@1 on the first quoted sentence."""

import pytest

from reportqa.evaluation import EvalQuestion, eval_question, score

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


def test_a_question_record_is_keyed_by_its_place_and_one_evidence_string_is_a_list_of_one():
    """Ids may be missing or repeat (the key is the line); one evidence string stands alone and is not
    read as its characters; evidence that is not strings cannot be scored."""
    assert eval_question("1", "What is phi-1?", {"lang": "en", "evidence": ["a model"]}) == EvalQuestion(
        "1", "en", "What is phi-1?", ("a model",)
    )
    assert eval_question("2", "phi-1은 무엇인가?", {"lang": "ko", "evidence": "a model"}).evidence == ("a model",)
    assert eval_question("3", "no language, no evidence", {}) == EvalQuestion("3", "?", "no language, no evidence", ())
    assert eval_question("4", "q", {"lang": ["ko"]}).lang == "?"
    with pytest.raises(ValueError, match="^'evidence' must be a list of strings$"):
        eval_question("7", "evidence of the wrong kind", {"evidence": [1, 2]})
