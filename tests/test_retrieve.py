import numpy as np
import pytest

from conftest import DEV
from reportqa.config import Settings
from reportqa.fusion import lexical_term
from reportqa.retrieve import should_abstain


def test_abstention_rule():
    settings = Settings(abstain_below=2.5, abstain_aux_below=0.22, abstain_aux_unless_above=6.0)
    assert should_abstain(2.0, 0.5, settings)
    assert should_abstain(4.0, 0.1, settings)
    assert not should_abstain(7.0, 0.1, settings)
    assert not should_abstain(4.0, 0.5, settings)
    assert not should_abstain(4.0, None, settings)


@pytest.mark.slow
def test_candidate_search_ranks_like_the_exhaustive_one_and_survives_a_reload(report_qa, tmp_path):
    """Above ``ann_above`` chunks, scores come from IVF candidates; on the report it ranks as every-chunk scoring."""
    import json

    from reportqa.retrieve import Retriever
    from reportqa.store import IndexStore

    questions = [json.loads(line)["question"] for line in DEV.read_text(encoding="utf-8").splitlines() if line][:24]
    store, settings = report_qa.store, report_qa.settings
    exact = Retriever(store, report_qa.encoder, report_qa.aux_encoder, settings).retrieve_many(questions, 5)
    candidates = Retriever(store, report_qa.encoder, report_qa.aux_encoder, settings.with_(ann_above=0))
    for a, b in zip(exact, candidates.retrieve_many(questions, 5)):
        assert [p.row for p in a.passages] == [p.row for p in b.passages]
        assert a.abstained == b.abstained and abs(a.evidence - b.evidence) < 1e-4

    store.save(tmp_path, ann_above=0)
    assert sorted(p.name for p in (tmp_path / "current").resolve().glob("ann-*.faiss")) == [
        "ann-aux_sentence_vectors.faiss",
        "ann-aux_vectors.faiss",
        "ann-sentence_vectors.faiss",
        "ann-vectors.faiss",
    ]
    reloaded = IndexStore.load(tmp_path)
    again = Retriever(reloaded, report_qa.encoder, report_qa.aux_encoder, settings.with_(ann_above=0))
    assert [[p.row for p in r.passages] for r in again.retrieve_many(questions, 5)] == [
        [p.row for p in r.passages] for r in exact
    ]


@pytest.mark.slow
def test_the_korean_term_expansion_reaches_korean_passages_only(small_corpus, tmp_path, encoder, monkeypatch):
    """An English question's Korean terms score the Korean passages; English passages keep its own words."""
    from reportqa import ReportQA
    from reportqa.retrieve import IndexVersion, Retriever

    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=encoder)
    qa.build()
    store = qa.store
    question = "What was the budget of the alpha project, and how many GPUs does the cluster have?"
    assert qa.version().translator(qa.aux_encoder).expand(["budget", "project"])  # the expansion has Korean terms

    def scores(retriever):
        (result,) = retriever.retrieve_many([question], top_k=len(store.chunks))
        return {p.row: p.score for p in result.passages}

    settings = qa.settings.with_(translate_questions=False)  # the term expansion alone
    expanded = scores(Retriever(store, qa.encoder, qa.aux_encoder, settings))
    monkeypatch.setattr(
        IndexVersion, "other_language", lambda self, language, tokens, encoder, settings, question="": ([], None)
    )
    plain = scores(Retriever(store, qa.encoder, qa.aux_encoder, settings))
    english = [row for row, chunk in enumerate(store.chunks) if chunk.lang == "en"]
    korean = [row for row, chunk in enumerate(store.chunks) if chunk.lang == "ko"]
    assert english and korean
    assert all(expanded[row] == pytest.approx(plain[row]) for row in english)
    assert any(expanded[row] != pytest.approx(plain[row]) for row in korean)


@pytest.mark.slow
def test_prepared_queries_are_the_questions_own_vectors_and_terms(small_corpus, tmp_path, encoder):
    """Each question's USE vector is its own, bit for bit, whatever was embedded with it or learned
    before; its English words are learned from one call."""
    from reportqa import ReportQA
    from reportqa.retrieve import Retriever

    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=encoder)
    qa.build()
    questions = ["What budget did the alpha project have?", "베타 모델의 정확도는?", "How many GPUs and nodes?"]
    alone = np.vstack([qa.aux_encoder.encode_queries([q]) for q in questions])
    retriever = Retriever(qa.store, qa.encoder, qa.aux_encoder, qa.settings)
    vectors, prepared = retriever.prepare_queries(questions)
    assert np.array_equal(vectors, alone)
    assert np.array_equal(retriever.prepare_queries(questions[::-1])[0], alone[::-1])  # words known now
    assert [q.language for q in prepared] == ["en", "ko", "en"]
    assert prepared[0].expansion and not prepared[1].expansion  # Korean terms for English words only

    translator = retriever.version.translator(qa.aux_encoder)
    assert not translator.unknown(["budget", "gpu", "베타"])  # the words were learned from that one call
    fresh = Retriever(qa.store, qa.encoder, qa.aux_encoder, qa.settings)  # each question's words embedded alone
    assert fresh.lexical_queries(questions) == prepared

    korean = ["베타 모델의 정확도는?", "알파 프로젝트의 예산은?"]  # no English words: USE before Kiwi
    vectors, prepared = retriever.prepare_queries(korean)
    assert np.array_equal(vectors, np.vstack([qa.aux_encoder.encode_queries([q]) for q in korean]))
    assert prepared == retriever.lexical_queries(korean)
    assert all(q.language == "ko" and q.tokens and not q.expansion for q in prepared)


def test_bm25_standardised_for_some_rows_is_the_whole_lists_standardisation_at_those_rows():
    rng = np.random.default_rng(3)
    rows = np.array([0, 5, 17, 99])
    for matched in (10, 60, 100):  # fewer than the z-score window, more, and every chunk
        lexical = np.zeros(100, np.float32)
        lexical[rng.choice(100, matched, replace=False)] = rng.random(matched).astype(np.float32) + 0.1
        assert np.allclose(lexical_term(lexical, 0.7, rows), lexical_term(lexical, 0.7)[rows], atol=1e-5)


def test_code_listings_and_reference_entries_are_ranked_lower_by_their_own_penalties():
    from types import SimpleNamespace

    from reportqa.store.search import SearchIndex

    kinds = np.array(["text", "code", "reference", "table", "code"])
    search = SearchIndex.__new__(SearchIndex)
    search.data, search._lowered = SimpleNamespace(kinds=lambda: kinds), None
    assert search.ranked_lower(2.0, 1.5).tolist() == [0.0, 1.5, 2.0, 0.0, 1.5]
    assert search.ranked_lower(0.0, 0.0).tolist() == [0.0] * 5  # settings change: computed again


@pytest.mark.slow
def test_reference_list_passages_lose_the_reference_penalty(report_qa):
    from reportqa.retrieve import Retriever

    version = report_qa.version()
    question = "Journal of Economic Perspectives 1994"  # words of the report's reference list and a footnote
    penalty = Settings().reference_penalty
    ranked = []
    for value in (0.0, penalty):
        retriever = Retriever(
            version, report_qa.encoder, report_qa.aux_encoder, report_qa.settings.with_(reference_penalty=value)
        )
        ranked.append({p.chunk.chunk_id: p for p in retriever.retrieve(question, top_k=40).passages})
    plain, penalised = ranked
    assert plain[next(iter(plain))].chunk.kind == "reference"  # the list itself matches best
    kinds = {p.chunk.kind for p in plain.values()}
    assert "reference" in kinds and "footnote" in kinds
    for key, passage in plain.items():
        if key in penalised:
            lost = penalty if passage.chunk.kind == "reference" else 0.0
            assert penalised[key].score == pytest.approx(passage.score - lost, abs=1e-4)


@pytest.mark.slow
def test_a_question_whose_every_noun_the_corpus_holds_is_not_refused_as_unrelated(tmp_path, encoder):
    """The second encoder rates some Korean question–passage pairs of a Wikipedia article as unrelated
    ("예비경선 4위의 이름은?"); questions about what the corpus never mentions stay refused."""
    import json

    from conftest import SHARED
    from reportqa import ReportQA

    articles = json.loads((SHARED / "eval" / "korquad" / "KorQuAD_v1.0_dev_excerpt.json").read_text(encoding="utf-8"))
    chosen = [a for a in articles["data"] if a["title"] in ("이명박", "블루스", "한명숙")]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    questions = []
    for i, article in enumerate(chosen):
        paragraphs = [p["context"] for p in article["paragraphs"]]
        (corpus / f"{i}.txt").write_text(article["title"] + "\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
        questions += [(qa["question"], qa["answers"][0]["text"]) for p in article["paragraphs"] for qa in p["qas"]]
    off_topic = ["김치찌개 맛있게 끓이는 법은?", "비트코인 채굴에 드는 연간 전력은?", "EU AI법은 언제 발효되었나?"]
    answers = {}
    for on in (False, True):
        settings = Settings(index_dir=tmp_path / "index").with_(answer_known_nouns=on)
        qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=corpus, settings=settings, encoder=encoder)
        if not on:
            qa.build()
        answers[on] = qa.batch([q for q, _ in questions] + off_topic)
    rescued = [
        i for i, (before, after) in enumerate(zip(answers[False], answers[True])) if before.abstained != after.abstained
    ]
    assert len(rescued) >= 3 and all(not answers[True][i].abstained for i in rescued)  # the rule only answers
    held = [questions[i][1] in answers[True][i].passages[0].chunk.text for i in rescued if i < len(questions)]
    assert sum(held) >= 2 / 3 * len(held)
    assert all(a.abstained for a in answers[True][len(questions) :])  # each names what the articles never mention


def test_a_korean_questions_rendering_leaves_out_the_names_most_english_passages_share(tmp_path, encoder):
    """e5 has no IDF: in "zeta-9 orca attention design" the paper's own subject, named in
    every passage, pulls the rendering towards all of them. BM25 keeps every name (its IDF weighs them)."""
    from reportqa import ReportQA
    from reportqa.retrieve import Retriever

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    topics = ["attention", "tokenizer", "learning rate", "batch size", "dataset", "benchmark", "layers", "GPUs"]
    paragraphs = [f"Zeta-9 uses a new {topic} design in experiment {i}." for i, topic in enumerate(topics * 2)]
    paragraphs[3] += " The Orca toolkit was used for it."
    (corpus / "paper.md").write_text(
        "# Zeta-9\n\n" + "\n\n".join(f"## Part {i}\n\n{p}" for i, p in enumerate(paragraphs))
    )
    (corpus / "report.txt").write_text("제타 모델에 관한 보고서이다. 주의 집중 방식을 다룬다.\n")
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=corpus, encoder=encoder)
    qa.build()
    search = qa.version().search
    assert search.telling(["zeta-9", "orca", "zeta", "9"], "en") == ["orca"]  # 16 of 16 passages name Zeta-9
    assert search.telling(["zeta-9", "orca"], "ko") == ["zeta-9", "orca"]  # no Korean passage does
    retriever = Retriever(qa.store, qa.encoder, qa.aux_encoder, qa.settings)
    (query,) = retriever.lexical_queries(["Zeta-9는 Orca 툴킷으로 어떤 어텐션 설계를 썼나?"])
    assert query.rendering and "orca" in query.rendering.split() and "zeta-9" not in query.rendering.split()
    assert "zeta-9" in query.other_language_tokens()  # BM25 still looks for it


@pytest.mark.slow
def test_a_best_passage_that_holds_no_word_of_the_question_is_refused(report_qa):
    """ "2022년 월드컵 우승팀은?" found a passage that shares nothing with it but the year: refused, with the
    nearest passages still listed (without the rule it was answered); a question whose words the passage
    holds is answered."""
    from reportqa import ReportQA

    settings = report_qa.settings.with_(abstain_sharing_no_word=False)
    lenient = ReportQA(settings=settings, encoder=report_qa.encoder, aux_encoder=report_qa.aux_encoder)
    for question in ("2022년 월드컵 우승팀은?", "Who won the 2022 football World Cup?"):
        refused = report_qa.ask(question)
        assert refused.abstained and refused.passages
        assert not lenient.ask(question).abstained
    assert not report_qa.ask("2022년 8월 미국이 시행한 반도체 관련 조치는?").abstained
