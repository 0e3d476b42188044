"""Hybrid retrieval: two multilingual encoders and Korean-aware BM25, fused on calibrated scores.

Per question, every chunk gets three scores:

* **dense** — e5 cosine to the chunk or to its best sentence, whichever is higher (the evidence is
  often one sentence in a passage about several things), plus ``cross_language_offset`` for
  chunks in the other language, because e5 rates same-language text higher for that alone;
* **aux** — the same with the second encoder (USE multilingual), whose errors differ from e5's;
* **lexical** — BM25 over Kiwi morphemes and number/name anchors.

Each score list is standardised against its own top-50 for this question (how far a chunk stands
out from the best candidates, not the raw scale, which differs per encoder and per question) and
summed; BM25 is weighted by how much of the question its best chunk covers, so it counts when it
matches the question's words and fades when it cannot. English questions reach Korean text in
BM25 through their words' nearest Korean terms of the corpus (``lexical.TermTranslator``); English
passages are scored with the question's own words. Each question is also rendered in the corpus's
words of the other language by a dictionary (``bilingual``): e5 embeds the rendering, and a passage
in that language counts the better of its two standardised e5 scores. Passages of a reference list
(chunk kind "reference") lose ``reference_penalty`` and program listings (kind "code")
``code_penalty``: a bibliography entry names many models, authors and titles, a listing many
identifiers (and a paper's code figures the model's name), so they match questions they cannot answer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .bilingual import EnglishRendering, KoreanRendering, Rendering, is_korean, with_terms
from .citations import CitationIndex
from .config import Settings
from .documents import detect_lang
from .encoder import Encoder, encode_each
from .fusion import best_of_chunk_and_sentences, fuse, lexical_coverage, lexical_term
from .lexical import QUESTION_NOUNS, TermTranslator, content_words, nouns, predicates, shares_a_word, tokenize
from .records import Passage
from .store import IndexStore, SearchIndex

ANN_CANDIDATES = 200  # per list and question in large indexes: four times the z-score window (recall@10 0.95)


@dataclass(frozen=True)
class Retrieval:
    """Ranked passages for one question and the evidence strength behind the decision to abstain."""

    passages: list[Passage]
    evidence: float
    aux_similarity: float
    abstained: bool


@dataclass(frozen=True)
class LexicalQuery:
    """A question's BM25 side, which needs neither of its dense vectors: it can be ready before them."""

    language: str
    tokens: list[str]
    expansion: list[str]  # the corpus's words in the other language: Korean terms, or a Korean question's English
    rendering: str | None = None  # the question in the other language's words, for e5 on passages in that language

    def other_language_tokens(self) -> list[str]:
        """What BM25 looks for in passages of the other language: an English question's words with
        their Korean terms; a Korean question's English rendering with its names and numbers (its
        Korean words match nothing there and would only shrink the share a passage covers)."""
        if self.language == "ko":
            return [t for t in self.tokens if not is_korean(t)] + self.expansion
        return self.tokens + self.expansion


def bm25_with_coverage(search: SearchIndex, query_tokens: list[str]) -> tuple[np.ndarray, float]:
    """BM25 scores of every chunk, and the share of the question's tokens its best chunk holds."""
    lexical = search.lexical().scores(query_tokens)
    best = int(np.argmax(lexical)) if len(lexical) else 0
    if not len(lexical) or lexical[best] <= 0:
        return lexical, 0.0
    return lexical, lexical_coverage(query_tokens, search.data.features.tokens[best])


def should_abstain(evidence: float, aux_similarity: float | None, settings: Settings) -> bool:
    """Weak evidence: the best passage barely stands out, or the second encoder finds it unrelated
    while the fused evidence is not overwhelming."""
    if evidence < settings.abstain_below:
        return True
    unrelated = aux_similarity is not None and aux_similarity < settings.abstain_aux_below
    return unrelated and evidence < settings.abstain_aux_unless_above


def dense_scores(
    store: IndexStore, queries: np.ndarray, chunk_vectors: np.ndarray, sentence_vectors: np.ndarray
) -> np.ndarray:
    """Per question and chunk: the cosine to the chunk or to its best sentence, whichever is higher."""
    rows = store.features.sentences[:, 0] if len(sentence_vectors) else np.zeros(0, np.int64)
    return best_of_chunk_and_sentences(queries @ chunk_vectors.T, queries @ sentence_vectors.T, rows)


def dense_rows(
    store: IndexStore, search: SearchIndex, rows: np.ndarray, query: np.ndarray, chunk_list: str, sentence_list: str
) -> np.ndarray:
    """``dense_scores`` for one question and ``rows`` (sorted) alone, read row by row: one score per row."""
    spans = search.sentence_spans()
    best = store.take(chunk_list, rows) @ query
    counts = spans[rows + 1] - spans[rows]
    has_sentences = counts > 0
    counts = counts[has_sentences]
    if len(counts):
        offsets = np.cumsum(counts) - counts  # where each row's sentences start in the gathered list
        gathered = np.repeat(spans[rows[has_sentences]] - offsets, counts) + np.arange(counts.sum())
        per_row = np.maximum.reduceat(store.take(sentence_list, gathered) @ query, offsets)
        best[has_sentences] = np.maximum(best[has_sentences], per_row)
    return best


def dense_of(store: IndexStore, search: SearchIndex, vector: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    """e5 scores (chunk or best sentence) of one query vector, for ``rows`` or every chunk."""
    if rows is not None:
        return dense_rows(store, search, rows, vector, "vectors", "sentence_vectors")
    return dense_scores(store, vector[None], store.features.vectors, store.features.sentence_vectors)[0]


def with_lexical_candidates(rows: np.ndarray, lists: list[tuple]) -> np.ndarray:
    """The approximate indexes' candidate ``rows`` and the best rows of each BM25 list, sorted."""
    for scores, _, matched in lists:  # the matched rows are a few of a large index: partition those
        if len(matched) > ANN_CANDIDATES:
            matched = matched[np.argpartition(-scores[matched], ANN_CANDIDATES - 1)[:ANN_CANDIDATES]]
        rows = np.union1d(rows, matched)
    return rows


class IndexVersion:
    """One index and what searching it builds on first use: BM25 and the FAISS indexes (``SearchIndex``),
    the English→Korean term table (from the term vectors the index saved), the dictionary renderings
    and the citation links. A build makes a new version; questions keep the one they began with."""

    def __init__(self, store: IndexStore):
        self.store = store
        self.search = SearchIndex(store)
        self._translator: TermTranslator | None = None
        self._renderings: dict[str, Rendering] = {}
        self._languages: frozenset[str] | None = None
        self._citations: CitationIndex | None = None

    def translator(self, encoder: Encoder) -> TermTranslator:
        """English → Korean term expansion over this index's vocabulary, embedded by ``encoder``."""
        if self._translator is None:
            data = self.store
            self._translator = TermTranslator(
                self.search.lexical().vocabulary(), encoder, known_terms=data.terms, known_vectors=data.term_vectors
            )
        return self._translator

    def languages(self) -> frozenset[str]:
        """The languages of this index's passages."""
        if self._languages is None:
            self._languages = frozenset(np.unique(self.search.chunk_languages()).tolist())
        return self._languages

    def other_language(
        self, language: str, tokens: list[str], encoder: Encoder | None, settings: Settings, question: str = ""
    ) -> tuple[list[str], str | None]:
        """A question's words in the other language of this index: (the expansion BM25 adds for those
        passages, the rendering e5 embeds for them or None). A Korean ``question``'s technical terms
        are rendered whole (``bilingual.with_terms``)."""
        rendering = self.rendering(language, encoder, settings)
        if rendering is None:
            words = []
        else:
            words = (
                rendering.render(with_terms(question, tokens), uncounted=[*predicates(question), *QUESTION_NOUNS])
                if language == "ko"
                else rendering.render(tokens)
            )
        if language == "ko":  # its English words serve BM25 too, with its names and numbers; e5 sees the
            # names but those most English passages share, which pull the rendering to all of them
            names = self.search.telling([t for t in tokens if not is_korean(t)], "en") if words else []
            return words, " ".join(names + words) if words else None
        expansion = self.translator(encoder).expand(tokens) if encoder is not None else []
        anchors = [t for t in tokens if any(ch.isdigit() for ch in t)]
        return expansion, " ".join(anchors + words) if words else None

    def rendering(self, language: str, encoder: Encoder | None, settings: Settings) -> Rendering | None:
        """The dictionary rendering of ``language`` questions over this index's vocabulary (choices by
        ``encoder``), or None where the index holds no passage in the other language."""
        other = "en" if language == "ko" else "ko"
        if not settings.translate_questions or other not in self.languages():
            return None
        if language not in self._renderings:
            kind = EnglishRendering if language == "ko" else KoreanRendering
            embed = encoder.encode_passages if encoder is not None else None
            self._renderings[language] = kind(self.search.lexical().vocabulary(), embed, cache_dir=settings.cache_dir)
        return self._renderings[language]

    def citations(self) -> CitationIndex:
        """Footnotes resolved against the documents of this index."""
        if self._citations is None:
            self._citations = CitationIndex(self.store)
        return self._citations


def seen_in_rendering(
    result: Retrieval, query: LexicalQuery, version: IndexVersion, aux_encoder: Encoder | None, settings: Settings
) -> Retrieval:
    """Abstention's "unrelated" test asks the question's rendering too, where the best passage is in the
    other language: the second encoder does not see "유효 배치 크기" in "effective batchsize of 256".
    Only for a question about to be refused as unrelated: one more second-encoder call (1–2 ms)."""
    row = result.passages[0].row
    if aux_encoder is None or not query.rendering or version.search.chunk_languages()[row] == query.language:
        return result
    vector = aux_encoder.encode_queries([query.rendering])[0]
    store, search = version.store, version.search
    similarity = float(dense_rows(store, search, np.array([row]), vector, "aux_vectors", "aux_sentence_vectors")[0])
    if similarity <= result.aux_similarity:
        return result
    return replace(result, aux_similarity=similarity, abstained=should_abstain(result.evidence, similarity, settings))


def second_look(result: Retrieval, question: str, query: LexicalQuery, retriever: Retriever) -> Retrieval:
    """A question refused as unrelated, looked at again: through its rendering (``seen_in_rendering``),
    then by its words. Where every noun of the question is a word of the corpus and the best passage
    is in the question's language, the second encoder's low similarity is not taken for "unrelated":
    it rates some same-language pairs low ("예비경선 4위의 이름은?" 0.17 to the passage that answers
    it), while a question on what the corpus does not hold names something it never mentions (날씨,
    비트코인, 발효 in "EU AI법은 언제 발효되었나?"). The same for a Korean question on an English passage
    when each noun is a word of the corpus or rendered into one by the dictionary ("사전학습의 유효 배치
    크기는 얼마였나?", USE 0.196 to "We use effective batch size 1024"); an English question's words
    always have a nearest Korean term, so they are not judged this way."""
    version, settings = retriever.version, retriever.settings
    result = seen_in_rendering(result, query, version, retriever.aux_encoder, settings)
    if not result.abstained or not settings.answer_known_nouns:
        return result
    rendering = None
    if version.search.chunk_languages()[result.passages[0].row] != query.language:
        if query.language != "ko":
            return result
        rendering = version.rendering(query.language, retriever.aux_encoder, settings)
        if rendering is None:
            return result
    named, lexical = nouns(question), version.search.lexical()
    if named and all(lexical.holds(noun) or (rendering is not None and rendering.renders(noun)) for noun in named):
        return replace(result, abstained=False)
    return result


def holds_no_word_of(result: Retrieval, query: LexicalQuery, search: SearchIndex) -> bool:
    """Whether the best passage holds none of the question's words, in its own language or as the other
    language's words (``lexical.shares_a_word``): whatever the encoders found nearest is then not about
    what was asked ("2022년 월드컵 우승팀은?" and "2022년 8월 AI 반도체 대중국 수출통제", which shares a bare
    year). A question of numbers and question words alone is not judged."""
    if not result.passages or not content_words(query.tokens):
        return False
    top = result.passages[0]
    words = query.tokens if search.chunk_languages()[top.row] == query.language else query.other_language_tokens()
    return not shares_a_word(words, search.data.features.tokens[top.row], f"{top.chunk.header()} {top.chunk.text}")


@dataclass(frozen=True)
class PreparedQueries:
    """Everything retrieval needs of the questions: e5 vectors, the second encoder's, the BM25 side, and
    the e5 vectors of their renderings in the other language (by question)."""

    questions: list[str]
    vectors: np.ndarray | None
    aux_vectors: np.ndarray | None
    lexical: list[LexicalQuery]
    rendered: dict[int, np.ndarray]

    def with_vectors(self, vectors: np.ndarray) -> PreparedQueries:
        return replace(self, vectors=vectors)


class Retriever:
    """Ranks an index's chunks for questions: one path, ``prepare`` → e5 vectors → ``retrieve_prepared``."""

    def __init__(
        self,
        index: IndexVersion | IndexStore,
        encoder: Encoder,
        aux_encoder: Encoder | None = None,
        settings: Settings | None = None,
    ):
        self.version = index if isinstance(index, IndexVersion) else IndexVersion(index)
        self.store, self.search = self.version.store, self.version.search
        self.encoder = encoder
        self.aux_encoder = aux_encoder if self.store.aux_dim else None
        self.settings = settings or Settings()
        # a large index is searched through its approximate indexes; a small one, exactly: decided once
        self._large = len(self.store.chunks) > self.settings.ann_above

    def retrieve(self, question: str, top_k: int = 5) -> Retrieval:
        return self.retrieve_many([question], top_k)[0]

    def retrieve_many(self, questions: list[str], top_k: int = 5) -> list[Retrieval]:
        prepared = self.prepare(questions).with_vectors(self.encoder.encode_queries(questions))
        return self.retrieve_prepared(prepared, top_k)

    def prepare(self, questions: list[str]) -> PreparedQueries:
        """All of the questions but their e5 vectors (what runs beside e5's call; the renderings' e5
        runs are here too, since they need the questions' tokens first)."""
        aux_vectors, lexical = self.prepare_queries(questions)
        return PreparedQueries(questions, None, aux_vectors, lexical, self._rendering_vectors(lexical))

    def retrieve_prepared(self, prepared: PreparedQueries, top_k: int = 5) -> list[Retrieval]:
        if not self.store.chunks:
            return [Retrieval([], 0.0, 0.0, True) for _ in prepared.questions]
        query_vectors, aux_queries = prepared.vectors, prepared.aux_vectors
        if self.aux_encoder is None:
            aux_queries = None
        rendered_vectors = prepared.rendered
        if self._large:
            candidates = self._candidates(query_vectors, aux_queries)
            for i, vector in rendered_vectors.items():  # the rendering proposes its own nearest chunks
                (more,) = self.search.candidate_rows("vectors", "sentence_vectors", vector[None], ANN_CANDIDATES)
                candidates[i] = np.union1d(candidates[i], more)
        else:
            dense, aux = self._exact(query_vectors, aux_queries)
        chunk_langs = self.search.chunk_languages()
        lowered = self.search.ranked_lower(self.settings.reference_penalty, self.settings.code_penalty)
        results = []
        for i, lexical_query in enumerate(prepared.lexical):
            language = lexical_query.language
            lists = self._lexical_lists(lexical_query)
            aux_query = aux_queries[i] if aux_queries is not None else None
            if self._large:  # scored on the candidate rows alone; every other chunk is out of the running
                rows = with_lexical_candidates(candidates[i], lists)
                dense_i, aux_i = self._dense_for_rows(rows, query_vectors[i], aux_query)
                langs, lowered_i = chunk_langs[rows], lowered[rows]
            else:
                rows, langs, lowered_i = None, chunk_langs, lowered
                dense_i, aux_i = dense[i], (aux[i] if aux is not None else None)
            (scores, coverage, matched), *expanded = lists
            lexical_z = lexical_term(scores, coverage, rows, matched)
            if expanded:
                # the question in the other language's words (an English question's Korean terms, a
                # Korean question's English rendering), for the passages in that language only: in the
                # question's own language the added words match nothing and would shrink the share of
                # the question that a passage covers
                ((more_scores, more_coverage, more_matched),) = expanded
                expanded_z = lexical_term(more_scores, more_coverage, rows, more_matched)
                lexical_z = np.where(langs != language, expanded_z, lexical_z)
            dense_i = dense_i + self.settings.cross_language_offset * (langs != language)
            rendered = dense_of(self.store, self.search, rendered_vectors[i], rows) if i in rendered_vectors else None
            fused = fuse(dense_i, aux_i, lexical_z, self.settings.second_weight, rendered, langs != language)
            fused -= lowered_i
            result = self._retrieval(fused, aux_i, top_k, rows)
            if result.abstained and result.evidence >= self.settings.abstain_below:  # refused as unrelated
                result = second_look(result, prepared.questions[i], lexical_query, self)
            if not result.abstained and self.settings.abstain_sharing_no_word:
                result = replace(result, abstained=holds_no_word_of(result, lexical_query, self.search))
            results.append(result)
        return results

    def _rendering_vectors(self, queries: list[LexicalQuery]) -> dict[int, np.ndarray]:
        """e5 vectors of the questions' renderings in the other language, by question."""
        renderings = {i: q.rendering for i, q in enumerate(queries) if q.rendering}
        if not renderings:
            return {}
        return dict(zip(renderings, self.encoder.encode_queries(list(renderings.values()))))

    def _exact(self, query_vectors: np.ndarray, aux_queries: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """Dense scores of every chunk (e5, and the second encoder's or None)."""
        features = self.store.features
        dense = dense_scores(self.store, query_vectors, features.vectors, features.sentence_vectors)
        aux = (
            dense_scores(self.store, aux_queries, features.aux_vectors, features.aux_sentence_vectors)
            if aux_queries is not None
            else None
        )
        return dense, aux

    def _candidates(self, query_vectors: np.ndarray, aux_queries: np.ndarray | None) -> list[np.ndarray]:
        """Per question, candidate rows from the approximate indexes; every other chunk is out of the running."""
        candidates = self.search.candidate_rows("vectors", "sentence_vectors", query_vectors, ANN_CANDIDATES)
        if aux_queries is not None:
            aux_candidates = self.search.candidate_rows(
                "aux_vectors", "aux_sentence_vectors", aux_queries, ANN_CANDIDATES
            )
            candidates = [np.union1d(a, b) for a, b in zip(candidates, aux_candidates)]
        return candidates

    def _lexical_lists(self, query: LexicalQuery) -> list[tuple[np.ndarray, float, np.ndarray | None]]:
        """(BM25 scores of every chunk, their coverage, the matched rows in a large index): for the
        question, then with its expansion."""
        lists = [bm25_with_coverage(self.search, query.tokens)]
        if query.expansion:
            lists.append(bm25_with_coverage(self.search, query.other_language_tokens()))
        return [(scores, coverage, np.flatnonzero(scores) if self._large else None) for scores, coverage in lists]

    def _dense_for_rows(
        self, rows: np.ndarray, query_vector: np.ndarray, aux_query: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Dense scores (e5, and the second encoder's or None) of ``rows`` alone, computed exactly."""
        dense = dense_rows(self.store, self.search, rows, query_vector, "vectors", "sentence_vectors")
        aux = (
            dense_rows(self.store, self.search, rows, aux_query, "aux_vectors", "aux_sentence_vectors")
            if aux_query is not None
            else None
        )
        return dense, aux

    def prepare_queries(self, questions: list[str]) -> tuple[np.ndarray | None, list[LexicalQuery]]:
        """Everything of the questions but their e5 vectors: second-encoder vectors and the BM25 side.

        Each question is embedded alone (``encode_each``), the words that the term expansion and the
        renderings have not met yet in one call after them. The answerer runs this beside e5's call.

        Where no question is English, the second encoder goes first: its call lets go of the GIL
        at once, while Kiwi's tokenising holds it and would delay the start of e5's call beside it
        (bench/README.md, "Where the time goes"). An English question needs Kiwi's tokens first, to name its words.
        """
        languages = [detect_lang(q) for q in questions]
        renderings = {lang: self.version.rendering(lang, self.aux_encoder, self.settings) for lang in set(languages)}
        words_first = "en" in languages or any(renderings.values())
        aux_first = self.aux_encoder is not None and not words_first
        vectors = encode_each(self.aux_encoder, questions) if aux_first else None
        spoken = [(language, tokenize(q)) for language, q in zip(languages, questions)]
        if self.aux_encoder is None or aux_first:
            return vectors, self._lexical(spoken, questions)
        translator = self.version.translator(self.aux_encoder)
        english = translator.unknown([t for language, tokens in spoken if language == "en" for t in tokens])
        every = [t for _, tokens in spoken for t in tokens]
        pending = {r: r.pending(every) for r in renderings.values() if r is not None}
        texts = list(dict.fromkeys([*english, *(t for words in pending.values() for t in words)]))
        vectors = encode_each(self.aux_encoder, questions)
        embedded = dict(zip(texts, self.aux_encoder.encode_queries(texts))) if texts else {}
        for learner, words in [(translator, english), *pending.items()]:
            if words:
                learner.learn(words, np.stack([embedded[t] for t in words]))
        return vectors, self._lexical(spoken, questions)

    def lexical_queries(self, questions: list[str]) -> list[LexicalQuery]:
        """Each question's language, Kiwi tokens and English→Korean expansion (which the second encoder embeds)."""
        return self._lexical([(detect_lang(q), tokenize(q)) for q in questions], questions)

    def _lexical(self, spoken: list[tuple[str, list[str]]], questions: list[str]) -> list[LexicalQuery]:
        """Each question's BM25 side, with its words in the index's other language."""
        version, encoder, settings = self.version, self.aux_encoder, self.settings
        return [
            LexicalQuery(language, tokens, *version.other_language(language, tokens, encoder, settings, question))
            for (language, tokens), question in zip(spoken, questions)
        ]

    def _retrieval(self, fused: np.ndarray, aux: np.ndarray | None, top_k: int, rows: np.ndarray | None) -> Retrieval:
        """The ``top_k`` best of ``fused``, whose entries are the chunks ``rows`` (every chunk when None)."""
        rows = np.arange(len(fused)) if rows is None else rows
        head = min(top_k * 2, len(fused))
        candidates = np.argpartition(-fused, head - 1)[:head] if head < len(fused) else np.arange(len(fused))
        chunks = self.store.chunks
        order = sorted(candidates.tolist(), key=lambda i: (-fused[i], chunks[int(rows[i])].chunk_id))[:top_k]
        passages = []
        for rank, i in enumerate(order, start=1):
            row = int(rows[i])
            chunk = chunks[row]
            doc = self.store.documents[chunk.doc_id]
            passages.append(
                Passage(
                    chunk=chunk,
                    rank=rank,
                    score=float(fused[i]),
                    title=doc.title,
                    doc_path=doc.path,
                    short_title=doc.short_title,
                    row=row,
                )
            )
        evidence = float(fused[order[0]])
        aux_similarity = float(aux[order[0]]) if aux is not None else None
        abstained = should_abstain(evidence, aux_similarity, self.settings)
        return Retrieval(passages, evidence, aux_similarity if aux_similarity is not None else 0.0, abstained)
