import numpy as np

from reportqa.answer import WORDS_BONUS, render, says_more, select_quotes, split_sentences, words_held
from reportqa.records import Chunk, Passage

TEXT = (
    "■ 첫 문장은 여기까지다. 두 번째 문장은 1.5% 성장을 말한다.\n"
    "- 항목 하나는 줄이 바뀌며\n\n이어지는 문장이다.\n* 별표 항목도 문장이다"
)


def test_split_sentences_spans_are_verbatim_and_marker_free():
    spans = [TEXT[a:b] for a, b in split_sentences(TEXT)]
    assert spans == [
        "첫 문장은 여기까지다.",
        "두 번째 문장은 1.5% 성장을 말한다.",
        "항목 하나는 줄이 바뀌며\n\n이어지는 문장이다.",
        "별표 항목도 문장이다",
    ]


def _passage(rank, text, kind="text"):
    chunk = Chunk(f"c{rank}", "d", text, "S", None, 0, len(text), "ko", kind=kind)
    return Passage(chunk, rank, 0.5, "T", "d.txt", row=rank - 1)


def test_select_quotes_picks_the_closest_sentence_and_cites_its_passage():
    passages = [_passage(1, "사과는 빨갛다. 바나나는 노랗다."), _passage(2, "포도는 보라색이다. 하늘은 파랗다.")]
    eye = np.eye(4, dtype=np.float32)
    indexed = {
        row: [(a, b, eye[2 * row + k]) for k, (a, b) in enumerate(split_sentences(p.chunk.text))]
        for row, p in enumerate(passages)
    }
    question = np.array([0, 0, 0, 1], dtype=np.float32)
    quotes = select_quotes(question, passages, indexed.__getitem__)
    assert [(q.text, q.passage_rank) for q in quotes] == [("하늘은 파랗다.", 2)]
    assert render(quotes) == "하늘은 파랗다. [2]"


def test_a_program_listing_is_quoted_only_when_it_leads_the_passages():
    """ "phi-1의 크기는?" had quoted '\"\"\" phi-1 phi-1-small ...', a generated program's first line, over the
    abstract's sentence with "1.3B parameters" in the passage ranked above it."""
    prose = "We introduce phi-1 with 1.3B parameters. It was trained for 4 days."
    listing = "phi-1 phi-1-small\ntext_a = tk.Text(root, width=30)"
    question = np.array([1, 0], dtype=np.float32)
    vector = {  # the listing's line nearer the question than the prose that answers it
        "We introduce phi-1 with 1.3B parameters.": np.array([0.6, 0.8], dtype=np.float32),
        "It was trained for 4 days.": np.array([0, 1], dtype=np.float32),
        listing: np.array([0.9, 0.436], dtype=np.float32),
    }

    def quotes_of(passages):
        indexed = {
            row: [(a, b, vector[p.chunk.text[a:b]]) for a, b in split_sentences(p.chunk.text)]
            for row, p in enumerate(passages)
        }
        return [(q.text, q.passage_rank) for q in select_quotes(question, passages, indexed.__getitem__)]

    assert quotes_of([_passage(1, prose), _passage(2, listing, kind="code")]) == [
        ("We introduce phi-1 with 1.3B parameters.", 1)
    ]
    assert quotes_of([_passage(1, listing, kind="code"), _passage(2, prose)])[0] == (listing, 1)


def test_a_sentence_that_only_restates_the_question_is_not_quoted():
    tokens = ["모토레이싱", "성지", "불리", "곳"]
    assert not says_more("흔히 '모토레이싱의 성지'라 불린다.", tokens)
    assert says_more("뉘르부르크링(Nürburgring)은 독일 중서부의 서킷이다.", tokens)
    assert not says_more("TA: phi-1", ["phi-1", "phi", "1", "만들"])
    restating, answering = "흔히 '모토레이싱의 성지'라 불린다.", "뉘르부르크링은 독일의 서킷이다."
    passages = [_passage(1, f"{answering} {restating}")]
    vector = {restating: np.array([1, 0], dtype=np.float32), answering: np.array([0.6, 0.8], dtype=np.float32)}
    text = passages[0].chunk.text
    indexed = {0: [(a, b, vector[text[a:b]]) for a, b in split_sentences(text)]}
    question = np.array([1, 0], dtype=np.float32)
    quotes = select_quotes(question, passages, indexed.__getitem__, tokens=tokens)
    assert quotes[0].text == answering
    only = [_passage(1, restating)]  # nothing else to quote: the restatement rather than nothing
    indexed = {0: [(0, len(restating), vector[restating])]}
    assert select_quotes(question, only, indexed.__getitem__, tokens=tokens)[0].text == restating


def test_words_held_is_the_share_of_distinct_tokens_found():
    from reportqa.answer import words_held

    assert words_held(["인스퍼", "ai", "서버", "ai"], ["AI 서버 기업인 인스퍼 포함"]) == [1.0]
    assert words_held(["parameter", "phi-1"], ["phi-1 has 1.3B parameters"]) == [1.0]  # a stem inside its word
    assert 0 < words_held(["마이크론", "메모리"], ["마이크론 제품 구매 중단"])[0] < 1
    assert words_held([], ["anything"]) == [0.0]


def test_words_that_every_candidate_holds_weigh_less():
    from reportqa.answer import words_held

    texts = ["손석희는 휘문고등학교 방송반에서 활동했다.", "손석희는 미네소타 대학교에서 유학했다."]
    texts.append("손석희는 앵커로 복귀했다.")
    held = words_held(["손석희", "유학", "학교"], texts)
    assert held[1] == max(held) and held[0] > held[2] > 0  # 학교 is in two sentences, 손석희 in all three
    assert held[2] < 1 / 3  # the subject alone counts for less than a third of the question


def test_a_sentence_that_restates_the_question_breaks_a_near_tie():
    passages = [_passage(1, "선창가 배에서 이삿짐을 날랐다. 귀하던 설탕이 쏟아져 나왔다.")]
    spans = split_sentences(passages[0].chunk.text)
    closer = np.array([1.0, 0.0]), np.array([0.995, 0.0998])  # the first sentence is a little closer
    indexed = {0: [(a, b, v) for (a, b), v in zip(spans, closer)]}
    question = np.array([1.0, 0.0])
    assert select_quotes(question, passages, indexed.__getitem__, max_quotes=1)[0].text.startswith("선창가")
    quotes = select_quotes(question, passages, indexed.__getitem__, max_quotes=1, tokens=["쏟아지", "설탕", "나오"])
    assert quotes[0].text == "귀하던 설탕이 쏟아져 나왔다."


def _one_passage(text, vectors):
    """A passage of ``text`` as retrieval gives it, and its sentences' vectors as the index holds them."""
    spans = split_sentences(text)
    return [_passage(1, text)], {0: [(a, b, v) for (a, b), v in zip(spans, vectors)]}.__getitem__


def test_quotes_in_the_questions_language_come_best_first():
    """Sentences in the question's own language come in score order: the answer before the earlier
    sentence that only introduces the subject. In the other language, where sentence scores are
    noisier, quotes keep the retriever's (and the text's) order."""
    text = "푸시캣 돌스는 월드 투어에 나섰다. 유럽 공연에서는 레이디 가가가 오프닝을 맡았다."
    passages, sentences_of = _one_passage(text, (np.array([0.99, 0.141]), np.array([1.0, 0.0])))  # answer closer
    question = np.array([1.0, 0.0])
    quotes = select_quotes(question, passages, sentences_of, question="유럽 공연에서 오프닝을 맡은 사람은?")
    assert [q.text[:5] for q in quotes] == ["유럽 공연", "푸시캣 돌"]
    quotes = select_quotes(question, passages, sentences_of, question="Who opened the European shows?")
    assert [q.text[:5] for q in quotes] == ["푸시캣 돌", "유럽 공연"]


def test_in_one_language_the_question_words_count_double_within_the_leading_passage():
    """Where every candidate is in the question's language, the sentence that holds the question's
    words wins inside its passage even when e5 prefers its neighbour; an English question's words
    matched in Korean text (through a rendering) keep their single weight."""
    text = "드라이빙 아카데미는 드라이버를 교육한다. 가격은 프로그램 별로 최저 100 유로에서 1990 유로까지 다르다."
    passages, sentences_of = _one_passage(text, (np.array([1.0, 0.0]), np.array([0.85, 0.5268])))  # e5: the first
    question, tokens = np.array([1.0, 0.0]), ["가격", "프로그램"]
    korean = select_quotes(question, passages, sentences_of, 1, "프로그램 가격 정보는?", tokens)
    assert korean[0].text.startswith("가격은")
    english = select_quotes(question, passages, sentences_of, 1, "What about program prices?", tokens)
    assert english[0].text.startswith("드라이빙")


def test_a_sentence_dated_in_the_questions_month_is_quoted():
    """ "in December 2021" holds no word of a Korean row; its month does: "2021년 12월" and "21.12.01"
    count as the question's "2021-12", while e5 preferred the row of another date."""
    from reportqa.lexical import tokenize

    for written in ("2021년 12월", "21.12.01"):
        text = f"2023년 2월\t국무원은 <디지털중국건설종합계획>을 발표.\n{written}\t국무원은 <디지털경제계획>을 발표."
        passages, sentences_of = _one_passage(text, (np.array([1.0, 0.0]), np.array([0.99, 0.141])))
        question = "What plan did China's State Council issue in December 2021?"
        quotes = select_quotes(np.array([1.0, 0.0]), passages, sentences_of, 1, question, tokenize(question))
        assert quotes[0].text.startswith(written)


def test_the_second_encoder_orders_sentences_in_the_other_language_only():
    from reportqa.answer import SecondView

    text = "미국은 36개 중국 기업을 명단에 추가했다. 미 행정부는 37개 기업을 목록에 추가(인스퍼 포함)."
    spans = split_sentences(text)
    e5 = {0: [(a, b, v) for (a, b), v in zip(spans, (np.array([1.0, 0.0]), np.array([0.99, 0.141])))]}
    use = {0: [(a, b, v) for (a, b), v in zip(spans, (np.array([0.2, 0.98]), np.array([0.9, 0.436])))]}
    second = SecondView(np.array([1.0, 0.0]), "en", use.__getitem__)
    question = np.array([1.0, 0.0])
    korean = [_passage(1, text)]
    assert select_quotes(question, korean, e5.__getitem__, max_quotes=1)[0].text.startswith("미국은")
    assert select_quotes(question, korean, e5.__getitem__, max_quotes=1, second=second)[0].text.startswith("미 행정부")
    in_korean = SecondView(second.vector, "ko", use.__getitem__)  # a Korean question: e5 alone decides
    assert select_quotes(question, korean, e5.__getitem__, max_quotes=1, second=in_korean)[0].text.startswith("미국은")


def test_a_korean_questions_rendering_finds_its_quote_in_the_english_passage():
    """e5 puts the question's own language first; the rendering's cosine counts for the other language."""
    from dataclasses import replace

    from reportqa.answer import SecondView

    english = _passage(1, "We use effective batchsize of 256. The model is small.")
    english = replace(english, chunk=replace(english.chunk, lang="en"))
    korean = _passage(2, "시스템경쟁 수준 유관 분야. 기술지식의 창출 역량.")
    e5 = {
        0: [(a, b, v) for (a, b), v in zip(split_sentences(english.chunk.text), np.eye(3)[[0, 1]])],
        1: [(a, b, v) for (a, b), v in zip(split_sentences(korean.chunk.text), np.eye(3)[[2, 2]])],
    }
    question = np.array([0.3, 0.0, 0.95])  # closer to the Korean lines, as e5 is across languages
    use = {row: [(a, b, np.zeros(2)) for a, b, _ in sentences] for row, sentences in e5.items()}
    plain = SecondView(np.zeros(2), "ko", use.__getitem__)
    rendered = replace(plain, rendered=np.array([1.0, 0.0, 0.0]))  # "effective batch size", in English
    passages = [english, korean]
    assert select_quotes(question, passages, e5.__getitem__, max_quotes=1, second=plain)[0].passage_rank == 2
    quote = select_quotes(question, passages, e5.__getitem__, max_quotes=1, second=rendered)[0]
    assert quote.text == "We use effective batchsize of 256."


def test_a_run_in_heading_is_never_quoted_alone():
    text = "Finetuning. phi-1 is obtained by finetuning phi-1-base. We train for total of 6,000 steps."
    passages = [_passage(1, text)]
    spans = split_sentences(text)
    assert text[slice(*spans[0])] == "Finetuning."  # a sentence of the index all the same
    closest_first = [np.array([1.0, 0.0]), np.array([0.9, 0.1]), np.array([0.8, 0.2])]
    indexed = {0: [(a, b, v) for (a, b), v in zip(spans, closest_first)]}
    quotes = select_quotes(np.array([1.0, 0.0]), passages, indexed.__getitem__, max_quotes=1)
    assert quotes[0].text == "phi-1 is obtained by finetuning phi-1-base."


def test_a_quote_runs_through_a_name_initial_and_et_al():
    """The index cuts sentences at every period before a space; a quote does not stop at an initial."""
    from reportqa.answer import quotable

    text = "39세의 나이로 드와이트 D. 아이젠하워의 러닝메이트가 되었다. As Gunasekar et al. (2023) show, data matters."
    quoted = [text[a:b] for _, a, b in quotable(text, split_sentences(text))]
    assert quoted == [
        "39세의 나이로 드와이트 D. 아이젠하워의 러닝메이트가 되었다.",
        "As Gunasekar et al. (2023) show, data matters.",
    ]


def test_a_quote_keeps_the_date_a_table_row_begins_with():
    from reportqa.answer import quotable

    text = "23.05.11\t미국은 법안을 준비 중\n23.05.23\t중국은 마이크론 제품 구매 중단\n1.5배 늘었다"
    spans = split_sentences(text)
    assert text[slice(*spans[1])].startswith("05.23")  # the index's sentence lost "23." as a list number
    quoted = [text[a:b] for _, a, b in quotable(text, spans)]
    assert quoted[:2] == ["23.05.11\t미국은 법안을 준비 중", "23.05.23\t중국은 마이크론 제품 구매 중단"]
    assert all(quote in text for quote in quoted)


def test_the_words_of_what_a_chunk_hangs_from_count_for_its_sentences():
    from dataclasses import replace

    pretraining = _passage(1, "We use batch size 1024.")
    finetuning = _passage(2, "For finetuning, we use the same setup as pretraining, with batch size 256.")
    vectors = {0: np.array([0.99, 0.141]), 1: np.array([1.0, 0.0])}  # the finetuning sentence a little closer

    def sentences_of(row):
        text = (pretraining, finetuning)[row].chunk.text
        return [(0, len(text), vectors[row])]

    def first(passages):
        question = np.array([1.0, 0.0])
        tokens = ["pretraining", "batch", "size"]
        return select_quotes(question, passages, sentences_of, max_quotes=1, tokens=tokens)[0].text

    assert first([pretraining, finetuning]).startswith("For finetuning")
    with_heading = replace(pretraining, chunk=replace(pretraining.chunk, context="Pretraining"))
    assert first([with_heading, finetuning]) == "We use batch size 1024."  # its paragraph's run-in heading


def test_the_word_a_korean_question_asks_about_is_its_last_one():
    from reportqa.answer import asked_about

    assert asked_about(["서울시", "건립", "추진", "와우시민아파트", "공사", "기간"]) == "기간"
    assert asked_about(["2011", "이명박", "유럽", "순방", "방문", "국", "어디"]) == "방문"  # 국: one syllable
    assert asked_about(["델타", "블루스", "아버지", "불리", "사람"]) == "불리"  # 사람 names the kind of answer
    assert asked_about(["parameter", "phi-1", "2023-06"]) is None  # English questions have none


def test_a_sentence_that_holds_what_the_question_asks_about_beats_one_that_restates_its_setting():
    text = "서울시는 1969년 와우시민아파트 건립을 추진했다. 공사기간은 6개월로 짧았고 완공은 이듬해였다."
    passages = [_passage(1, text)]
    spans = split_sentences(text)
    restating, answering = np.array([0.90, 0.4359]), np.array([0.95, 0.3122])  # cosines 0.90 and 0.95
    indexed = {0: [(a, b, v) for (a, b), v in zip(spans, [restating, answering])]}
    question, tokens = np.array([1.0, 0.0]), ["서울시", "건립", "추진", "와우시민아파트", "공사", "기간"]
    asked = "와우시민아파트 공사기간에 관하여"  # no asked kind of answer, whose bonus would decide alone
    quotes = select_quotes(question, passages, indexed.__getitem__, max_quotes=1, question=asked, tokens=tokens)
    assert quotes[0].text == "공사기간은 6개월로 짧았고 완공은 이듬해였다."
    # every word weighed alike, the restating sentence's four words (counted twice in the leading
    # passage) would outweigh its 0.05 lower cosine
    held = words_held(tokens, [text[a:b] for a, b in spans])
    assert (held[0] - held[1]) * WORDS_BONUS * 2 > 0.05
