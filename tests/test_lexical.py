import json
import subprocess
import sys
import time

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import DEV
from reportqa.lexical import CONTENT_TAGS, LexicalIndex, _plain_morphemes, analyse, plain_english, tokenize


def test_particles_are_stripped_and_content_kept():
    tokens = tokenize("중국의 반도체 수입은 증가했다")
    assert "중국" in tokens and "반도체" in tokens and "수입" in tokens
    assert not any(t in tokens for t in ("중국의", "의", "은", "다"))
    assert tokenize("중국은")[0] == tokenize("중국에서")[0] == "중국"


def test_numbers_units_and_model_names_stay_whole():
    tokens = tokenize("챗GPT 학습에 1.287GWh, 점유율 24.7%, H100과 GPT-4, 2,695억 불")
    for anchor in ("1.287gwh", "24.7%", "h100", "gpt-4", "2,695"):
        assert anchor in tokens


def test_ampersand_acronyms_stay_whole_in_both_languages():
    """Kiwi cuts "R&D" into one-letter pieces, which are dropped; the whole acronym is the anchor."""
    assert "r&d" in tokenize("미국 R&D 지출 규모") and "r&d" in tokenize("How much did the US spend on R&D?")
    assert "m&a" in tokenize("M&A 규제") and "&" not in tokenize("A & B")


def test_english_is_lower_cased_without_stop_words():
    tokens = tokenize("How many GPUs were used by the Frontier system?")
    assert tokens == ["gpu", "used", "frontier", "system"]


def test_an_english_word_that_ends_a_sentence_is_the_word_a_question_has():
    """Kiwi keeps a sentence's period on its last Latin word and often cuts the word in two."""
    text = "phi-1 attains 50.6% on HumanEval. It was trained on 6B tokens. We use Python."
    assert {"humaneval", "token", "python"} <= set(tokenize(text))
    assert not [t for t in tokenize(text) if t.endswith(".") or t in ("huma", "neval", "okens", "ython")]
    assert {"humaneval", "token", "python"} <= set(tokenize("What did phi-1 score on HumanEval? Which tokens? Python?"))
    assert tokenize("미국은 TTC를 출범했다. 그리고 EU.") == tokenize("미국은 TTC를 출범했다. 그리고 EU")


def test_the_words_of_a_url_or_address_are_searchable():
    """Kiwi tags a URL or an e-mail address whole, with a tag no content morpheme has: it was dropped."""
    tokens = tokenize("코드는 https://github.com/tatsu-lab/stanford_alpaca 에 있고 문의는 gangmin.park@spri.kr 로")
    assert {"github", "stanford", "alpaca", "gangmin", "spri", "코드", "문의"} <= set(tokens)
    assert {"humaneval", "dataset"} <= set(tokenize("See https://huggingface.co/datasets/openai_humaneval for it."))


def test_bm25_ranks_the_matching_chunk_first():
    chunks = ["미국의 대중국 반도체 수출 규제", "중국의 거대 언어모델 개발", "일본의 수출규제 철회"]
    index = LexicalIndex([tokenize(c) for c in chunks])
    scores = index.scores(tokenize("중국 언어모델은?"))
    assert int(np.argmax(scores)) == 1
    assert index.scores(tokenize("quantum chromodynamics")).max() == 0.0


def test_term_vectors_embed_only_the_terms_not_known_yet():
    from reportqa.lexical import korean_terms, term_vectors

    assert korean_terms(["중국", "gpu", "칩", "보조금", "중국", "2022"]) == ["보조금", "중국"]  # two syllables or more
    calls = []

    def embed(words):
        calls.append(list(words))
        return np.array([[len(w), 1.0] for w in words], dtype=np.float32)

    known = term_vectors(["반도체", "중국"], embed, 2)
    assert calls == [["반도체", "중국"]]
    vectors = term_vectors(["보조금", "중국"], embed, 2, ["반도체", "중국"], known)
    assert calls[-1] == ["보조금"]  # 중국's vector is reused
    assert vectors.tolist() == [[3.0, 1.0], [2.0, 1.0]]
    assert term_vectors([], embed, 2).shape == (0, 2)


def _kiwi_content(text):
    return [(m.form, m.tag, m.start, m.end) for m in analyse(text) if m.tag in CONTENT_TAGS]


_PIECES = st.one_of(
    st.sampled_from(
        "phi-1 GPT-3.5-turbo HumanEval H100 A100s 13-gram COVID-19 1.3B 3.5x 50.6% 1,144 12,0 1,2345 v1.3 "
        "Google's don't U.S. e.g. R&D pass@1 2023-05-01 10:30 1) (see it) the What How many 007 0.5".split()
    ),
    st.text(alphabet="abXY019 .,?!'\"()-:;/%&@#[]_\n", max_size=4),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES, max_size=9), st.sampled_from([" ", "", "-", "  "]), st.sampled_from(["", "?", ".", " ?"]))
@example(["What", "did", "phi-1", "score", "on", "HumanEval"], " ", "?")
def test_plain_english_is_cut_exactly_as_kiwi_cuts_it(pieces, joiner, end):
    """Whatever ``plain_english`` accepts, the Kiwi-free path yields Kiwi's own content morphemes."""
    text = joiner.join(pieces) + end
    if plain_english(text):
        assert _plain_morphemes(text) == _kiwi_content(text)


def test_english_questions_are_mostly_plain_and_need_no_kiwi():
    questions = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line]
    english = [q["question"] for q in questions if q["lang"] == "en"]
    plain = [q for q in english if plain_english(q)]
    assert len(plain) >= 0.8 * len(english)
    assert all(_plain_morphemes(q) == _kiwi_content(q) for q in plain)
    assert not plain_english("미국의 R&D 지출은?") and not plain_english("Who won in the U.S.?")
    code = (
        "from reportqa.lexical import tokenize, tokenizer_loaded\n"
        "assert tokenize('What did phi-1 score on HumanEval in 2023?') == "
        "['phi', '1', 'score', 'humaneval', '2023', 'phi-1']\n"
        "assert not tokenizer_loaded()\n"
        "tokenize('미국 반도체법의 보조금 규모는?')\n"
        "assert tokenizer_loaded()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_telling_plain_english_takes_linear_time():
    for hostile, plain in [
        ("a1" * 50_000 + ".", False),
        ("1." * 50_000, False),
        ("x " * 50_000 + ".", False),
        ("1,1111" * 20_000, False),
        ("(" * 50_000 + "a", True),
    ]:
        started = time.perf_counter()
        assert plain_english(hostile) is plain
        assert time.perf_counter() - started < 0.5


def test_nouns_are_what_a_question_is_about():
    from reportqa.lexical import nouns

    assert nouns("EU AI법은 언제 발효되었나?") == ["eu", "ai", "법", "발효"]  # no verb, no question word
    assert nouns("미국의 R&D 지출은 2020년에 얼마였나?") == ["미국", "지출"]
    assert nouns("How many employees does OpenAI have?") == ["employee", "openai"]  # plain English: no Kiwi


def test_predicates_are_a_questions_verb_and_adjective_stems():
    from reportqa.lexical import predicates

    assert predicates("새 평가 문제는 누가 만들었나?") == ["만들"]
    assert predicates("미세조정 후에도 phi-1-small이 실패하는 이유는?") == []  # 실패하 is a noun and 하
    assert predicates("왜 어려운가?") == ["어렵"]
    assert predicates("Who wrote the new problems?") == []  # plain English: no tags, no Kiwi


def test_a_chunk_shares_a_word_with_a_question_by_token_month_or_korean_substring():
    from reportqa.lexical import content_words, shares_a_word

    assert content_words(["2022", "1.5", "월드컵", "얼마", "2022-08"]) == ["월드컵", "2022-08"]
    row = "2022년 8월 AI 반도체 대중국 수출통제"
    assert not shares_a_word(tokenize("2022년 월드컵 우승팀은?"), tokenize(row), row)  # the bare year is no word
    assert shares_a_word(tokenize("2022년 8월에 무엇을 통제했나?"), tokenize(row), row)
    assert shares_a_word(["2022-08"], tokenize(row), row)
    assert shares_a_word(["농성"], ["경찰", "농성자"], "23명(경찰 16명, 농성자 7명)이 부상")  # Kiwi cut it otherwise
    assert not shares_a_word(["au"], ["gpu"], "GPU")  # Latin letters count as tokens only
