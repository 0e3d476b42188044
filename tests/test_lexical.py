import numpy as np

from reportqa.lexical import LexicalIndex, tokenize


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
