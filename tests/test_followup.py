"""Follow-up questions are read with their conversation; standalone questions are left as they are."""

import pytest

from reportqa.followup import resolve


@pytest.mark.parametrize(
    "history, question, query",
    [
        (
            ["How big are the chip subsidies in the US CHIPS Act?"],
            "What about China?",
            "How big are the chip subsidies in China?",
        ),
        (["미국 반도체법의 보조금 규모는?"], "그럼 중국은?", "중국 반도체법의 보조금 규모는?"),
        (["What did phi-1 score on HumanEval?"], "And on MBPP?", "What did phi-1 score on MBPP?"),
        (["What did the EU decide on AI?"], "And the Council?", "What did the Council decide on AI?"),
        (
            ["How many layers does the 1.3B phi-1 model have?"],
            "What about phi-1-small?",
            "How many layers does the 1.3B phi-1-small model have?",
        ),
        (["미국의 2020년 R&D 지출은?"], "그렇다면 2000년에는?", "미국의 2000년 R&D 지출은?"),
    ],
)
def test_a_bare_name_or_number_replaces_the_previous_one(history, question, query):
    resolved = resolve(question, history)
    assert resolved.mode == "swap"
    assert resolved.query == query
    assert resolved.question == question


@pytest.mark.parametrize(
    "history, question, query",
    [
        (
            ["Which supercomputer ranked first in the latest world ranking?"],
            "And which one ranked second?",
            "Which supercomputer ranked second in the latest world ranking?",
        ),
        (["Who came 2nd in the 2021 ranking?"], "And 3rd?", "Who came 3rd in the 2021 ranking?"),
    ],
)
def test_a_follow_up_that_changes_only_a_number_or_ordinal_asks_the_same_with_it(history, question, query):
    assert (resolve(question, history).mode, resolve(question, history).query) == ("swap", query)


def test_a_follow_up_with_a_number_and_words_of_its_own_is_not_a_number_swap():
    resolved = resolve("Which one was trained for 8 days?", ["How many parameters does phi-1 have?"])
    assert resolved.mode == "continue"


def test_a_new_question_about_the_same_subject_carries_its_names():
    resolved = resolve("What was it trained on?", ["How many parameters does phi-1 have?"])
    assert resolved.mode == "continue"
    assert resolved.query == "What was it trained on? phi-1"
    assert resolve("그것의 학습 데이터는?", ["phi-1은 몇 개의 파라미터를 가지나?"]).query.endswith("phi-1")


def test_a_follow_up_of_a_follow_up_builds_on_the_resolved_question():
    history = ["미국 반도체법의 보조금 규모는?", "그럼 중국은?"]
    assert resolve("그럼 일본은?", history).query == "일본 반도체법의 보조금 규모는?"


@pytest.mark.parametrize(
    "question",
    [
        "How much did the United States spend on R&D in 2020?",
        "챗GPT 학습에 사용된 전력량은?",
        "WizardCoder의 HumanEval 점수는?",
    ],
)
def test_standalone_questions_are_not_changed_by_history(question):
    resolved = resolve(question, ["How many parameters does phi-1 have?"])
    assert (resolved.mode, resolved.query) == ("standalone", question)


def test_no_history_no_change():
    assert resolve("그럼 중국은?", []).query == "그럼 중국은?"
    assert resolve("What about China?").mode == "standalone"


def test_a_follow_up_of_plain_words_replaces_the_nearest_word_and_keeps_the_continued_reading():
    previous = "What share of world gallium production does China hold?"

    def nearest(words, candidates):  # stands for the encoder's similarity
        assert words == "germanium"
        return candidates.index("gallium")

    resolved = resolve("And of germanium?", [previous], nearest)
    assert resolved.mode == "swap"
    assert resolved.query == "What share of world germanium production does China hold?"
    assert resolved.also == "of germanium? China"
    # without an encoder to tell the words apart, the follow-up continues the previous question
    assert resolve("And of germanium?", [previous]).query == "of germanium? China"


def test_the_subject_is_replaced_when_no_preposition_says_otherwise():
    assert resolve("What about WizardCoder?", ["What HumanEval pass@1 does phi-1 reach?"]).query == (
        "What HumanEval pass@1 does WizardCoder reach?"
    )
    assert resolve("그럼 일본은?", ["네덜란드에 미국이 요청한 장비는?"]).query == "네덜란드에 일본이 요청한 장비는?"


def test_a_chain_of_follow_ups_keeps_its_subject_and_a_long_conversation_is_bounded():
    history = ["미국 반도체법의 보조금 규모는?"] + ["그럼 중국은?", "그럼 한국은?"] * 5
    assert resolve("그럼 일본은?", history).query == "일본 반도체법의 보조금 규모는?"
    endless = ["미국 반도체법의 보조금 규모는?", "그럼 중국은?"] * 5000  # no recursion, only the last questions read
    assert resolve("그럼 일본은?", endless).mode == "swap"


def test_a_new_korean_topic_replaces_the_subject_and_its_particle_agrees():
    # the subject (이/가) is replaced even where Kiwi reads it as common nouns ("센스" "타임"), and
    # before the name "AI"; the particle follows the new last syllable
    assert resolve("그럼 바이두는?", ["센스타임이 2023년 4월 내놓은 AI 서비스는?"]).query == (
        "바이두가 2023년 4월 내놓은 AI 서비스는?"
    )
    assert resolve("그럼 구글은?", ["샤오미가 2022년 출시한 스마트폰은?"]).query == "구글이 2022년 출시한 스마트폰은?"
    # a name the question is about (의) goes before a subject that is not a name
    assert resolve("그럼 일본은?", ["관세가 오르면 미국의 수입액은?"]).query == "관세가 오르면 일본의 수입액은?"


def test_a_korean_place_or_means_replaces_a_name_that_is_not_the_owner():
    # "에서" names where: the benchmark, not the model that owns the score (의)
    assert resolve("HumanEval에서는?", ["WizardCoder의 MBPP 점수는?"]).query == "WizardCoder의 HumanEval 점수는?"


def test_a_verb_that_describes_a_noun_is_not_a_predicate():
    previous = "phi-1 학습에 쓰인 합성 교과서 데이터는 몇 토큰인가?"

    def nearest(words, candidates):
        assert words == "거르 웹 데이터"  # the follow-up's three units, the modifier's stem first
        return candidates.index("합성 교과서 데이터")

    resolved = resolve("그럼 걸러낸 웹 데이터는?", [previous], nearest)
    assert resolved.mode == "swap"
    assert resolved.query == "phi-1 학습에 쓰인 걸러낸 웹 데이터는 몇 토큰인가?"
    # a verb that ends the question still asks something of its own
    assert resolve("그럼 데이터를 걸러냈나?", [previous]).mode == "continue"
