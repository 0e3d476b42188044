"""Extractive answers: the sentences that best answer the question, quoted verbatim with ``[n]``.

Every quote is an exact substring of the passage it cites (asserted), so a reader can always find
it in the source.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .answer_types import asked_type, type_match
from .dates import month_tokens
from .documents import detect_lang
from .lexical import KOREAN_TERM, QUESTION_NOUNS
from .outline import RUN_IN_HEADING
from .records import Passage, Quote

_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+(?=\S)")
# a period that ends an abbreviation, not a sentence: a name's initial ("드와이트 D. 아이젠하워",
# "Kaplan, J. D."), "et al.", "e.g.", "Fig." …
_ABBREVIATION = re.compile(
    r"(?:\S\s[A-Z]|(?<![A-Za-z])(?:et al|e\.g|i\.e|cf|vs|Figs?|Eqs?|Secs?|No|Dr|Mr|Mrs|Ms|St|Jr))\.$"
)
_LEADING_MARK = re.compile(r"^(?:[■□●○◦▪⇒*•·-]|\(\d+\)|\d+[.)])\s*")
_DIGIT_STOPS = {f"{d}." for d in range(10)}
MIN_SENTENCE_CHARS = 8
MIN_NEW_CHARS = 8  # letters or digits a quote holds besides the question's words (12 cost dev English a quote)
PASSAGES_CONSIDERED = 3
RANK_BONUS = (0.03, 0.015, 0.0)
SECOND_QUOTE_MARGIN = 0.015
TYPE_BONUS = 0.1  # a sentence with the asked kind of answer, against e5 cosines that differ by hundredths
WORDS_BONUS = 0.1  # × the weighted share of the question's tokens a sentence holds: the one the question restates
FOCUS_WEIGHT = 2.0  # of the word a Korean question asks about, among the words a sentence holds (``asked_about``)
SECOND_WEIGHT = 0.05  # × the second encoder's cosine, for sentences in the other language than the question
# question words and nouns that name the kind of answer a question wants, not what it is about
_ANSWER_KINDS = QUESTION_NOUNS | {"무슨", "어느", "사람", "이름", "이유", "장소", "방법", "내용", "종류"}
NOT_FOUND = {
    "ko": "문서에서 이 질문을 뒷받침하는 구절을 찾지 못했습니다.",
    "en": "No supporting passage was found in the documents for this question.",
}
# said in both languages: the asker of a question in neither may read either
OTHER_LANGUAGE = "Questions are answered in Korean or English. 질문은 한국어나 영어로 해 주세요."


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of sentences.

    A line that starts with a bullet or marker starts a new sentence; any other line continues
    the previous one (page breaks cut sentences in extracted text). Within that, sentence
    punctuation followed by whitespace ends a sentence.
    """
    spans: list[tuple[int, int]] = []
    for start, end in _line_groups(text):
        body = text[start:end]
        cursor = 0
        for piece in _SENTENCE_END.split(body):
            local = body.find(piece, cursor)
            cursor = local + len(piece)
            stripped = piece.strip()
            mark = _LEADING_MARK.match(stripped)
            if mark:
                stripped = stripped[mark.end() :]
            if len(stripped) >= MIN_SENTENCE_CHARS:
                offset = start + local + piece.find(stripped)
                spans.append((offset, offset + len(stripped)))
    return spans


def _line_groups(text: str) -> list[tuple[int, int]]:
    groups: list[list[int]] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        if body.strip():
            starts_new = not groups or _LEADING_MARK.match(body.strip()) or "\t" in body
            if starts_new:
                groups.append([pos, pos + len(body)])
            else:
                groups[-1][1] = pos + len(body)
        pos += len(line)
    return [(a, b) for a, b in groups]


SentencesOf = Callable[[int], list[tuple[int, int, np.ndarray]]]


@dataclass(frozen=True)
class SecondView:
    """The question as the second encoder sees it, and its vectors of a chunk's indexed sentences.

    e5 orders sentences in the other language than the question poorly (an English question's
    Korean candidates sit within hundredths of each other); the second encoder's cosine breaks those
    near-ties. Sentences in the question's own language are left to e5, which orders them better.
    Where the question was rendered in the other language, e5 also compares those sentences with the
    rendering and keeps the higher cosine, as retrieval does: e5 ranks sentences in the question's own
    language above the other language's, so a Korean question's first quote came from a Korean
    passage below the English one that answers it.
    """

    vector: np.ndarray
    language: str
    sentences_of: SentencesOf
    rendered: np.ndarray | None = None  # e5's vector of the question rendered in the other language


def select_quotes(
    question_vector: np.ndarray,
    passages: list[Passage],
    sentences_of: SentencesOf,
    max_quotes: int = 2,
    question: str = "",
    tokens: Sequence[str] = (),
    second: SecondView | None = None,
) -> list[Quote]:
    """Pick the sentences of the top passages closest to the question, the best first.

    ``sentences_of(row)`` gives a chunk's indexed sentences as (start, end, vector); vectors were
    computed at index time, so answering costs no encoder call. A question that asks for a number
    (얼마, 몇 개, how many, what score …) prefers sentences that hold one, with the unit it asks for
    (``answer_types``); a sentence holding more of the question's ``tokens`` (its BM25 tokens), in
    itself or in what its chunk hangs from ("Pretraining" for "We use effective batch size 1024 …"),
    gains a little, since a question is often a restatement of the sentence that answers it.

    A program listing is quoted only when it leads the passages: below a passage of prose, its lines
    that name the question's subject ("phi-1 phi-1-small" heading a generated program) restate the
    question and answer nothing.

    Quotes in the question's own language come best first: a sentence that introduces the subject
    often sits just before the one that answers ("푸시캣 돌스는 월드 투어에 나섰다." / "유럽 공연에서는
    레이디 가가가 오프닝을 맡았다."). Where a quote is in the other language, its score is the noisier
    one and the quotes keep the retriever's order, passage by passage and in the text's order.
    """
    candidates: list[tuple[int, str]] = []
    vectors = []
    second_scores: list[float] = []
    contexts: list[str] = []  # what each candidate's chunk hangs from (a title, a list's parent, a run-in heading)
    languages: list[str] = []
    for passage in passages[:PASSAGES_CONSIDERED]:
        if passage.chunk.kind == "code" and passage is not passages[0]:
            continue  # a listing's line that names the question's subject says nothing of it
        sentences = sentences_of(passage.row)
        kept = quotable(passage.chunk.text, [(start, end) for start, end, _ in sentences])
        kept = [k for k in kept if says_more(passage.chunk.text[k[1] : k[2]], tokens)] or kept
        candidates += [(passage.rank, passage.chunk.text[start:end]) for _, start, end in kept]
        vectors += [sentences[i][2] for i, _, _ in kept]
        seconds = _second_scores(second, passage, len(sentences))
        second_scores += [seconds[i] for i, _, _ in kept]
        contexts += [passage.chunk.context] * len(kept)
        languages += [passage.chunk.lang] * len(kept)
    if not candidates:
        return [Quote(p.chunk.text, p.rank) for p in passages[:1]]
    similarity = np.stack(vectors) @ question_vector
    if second is not None and second.rendered is not None:
        other = np.array(languages) != second.language
        similarity = np.where(other, np.maximum(similarity, np.stack(vectors) @ second.rendered), similarity)
    bonus = np.array([RANK_BONUS[min(rank, len(RANK_BONUS)) - 1] for rank, _ in candidates])
    wanted = asked_type(question)
    typed = np.array([type_match(wanted, text) for _, text in candidates]) * TYPE_BONUS
    # a sentence's dates count as the question's month tokens ("2021-12" for "2021년 12월", "21.12.01")
    held_by = [f"{context} {text} {' '.join(month_tokens(text))}" for context, (_, text) in zip(contexts, candidates)]
    words = np.array(words_held(tokens, held_by, focus=asked_about(tokens))) * WORDS_BONUS
    scores = similarity + bonus + typed + words + SECOND_WEIGHT * np.array(second_scores)
    order = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))
    asked_in = detect_lang(question) if question else ""
    if all(language == asked_in for language in languages):
        # one language throughout: the question's words are the sentences' own, not a rendering's,
        # so within the leading passage they count double (the sentence the question restates)
        lead = candidates[order[0]][0]
        scores = scores + np.where([rank == lead for rank, _ in candidates], words, 0.0)
        order = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))
    best = scores[order[0]]
    chosen = [i for i in order[:max_quotes] if scores[i] >= best - SECOND_QUOTE_MARGIN]
    if not all(languages[i] == asked_in for i in chosen):
        chosen.sort(key=lambda i: (candidates[i][0], i))  # the retriever's order, and the text's
    quotes = [Quote(candidates[i][1], candidates[i][0]) for i in chosen]
    for quote in quotes:
        assert quote.text in passages[quote.passage_rank - 1].chunk.text, "quotes must be verbatim"
    return quotes


def quotable(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """(index, start, end) of a chunk's indexed sentence ``spans`` as they may be quoted: none that
    is a run-in heading alone, each from the start of a number it begins inside (a table row's
    "23.05.23" lost its "23." to the list-marker rule when the sentences were indexed), and each
    through the sentence after it where the index cut it at an abbreviation ("… 드와이트 D." +
    "아이젠하워의 러닝메이트로 …"); the continuation is not quoted again on its own."""
    kept = []
    joined: set[int] = set()
    for i, (start, end) in enumerate(spans):
        if i in joined:
            continue
        following = i + 1
        while following < len(spans) and _ABBREVIATION.search(text, max(0, end - 8), end):
            gap = text[end : spans[following][0]].strip()
            if gap and not _LEADING_MARK.fullmatch(gap):  # "et al. (2023), …": the year read as a marker
                break
            end = spans[following][1]
            joined.add(following)
            following += 1
        heading = RUN_IN_HEADING.match(text[start:end])
        if heading and heading.end() == end - start:  # a sentence of the index that names a topic only
            continue
        while start > 0 and (text[start - 1].isdigit() or text[start - 2 : start] in _DIGIT_STOPS):
            start -= 1
        kept.append((i, start, end))
    return kept or [(i, start, end) for i, (start, end) in enumerate(spans)]


def says_more(sentence: str, tokens: Sequence[str]) -> bool:
    """Whether ``sentence`` holds ``MIN_NEW_CHARS`` letters or digits besides the question's ``tokens``:
    a line that only restates the question ("TA: phi-1" in a chat transcript, "흔히 '모토레이싱의 성지'라
    불린다." for "…모토레이싱의 성지로 불리는 곳은?") is near it in e5's space and answers nothing."""
    if not tokens:
        return True
    rest = sentence.lower()
    for token in sorted(set(tokens), key=len, reverse=True):
        rest = rest.replace(token, " ")
    return sum(ch.isalnum() for ch in rest) >= MIN_NEW_CHARS


def asked_about(tokens: Sequence[str]) -> str | None:
    """The word a Korean question asks about: its last Korean word of two syllables or more, question
    words and the nouns that name only the kind of answer aside ("…와우시민아파트의 공사기간은?" asks for
    기간, "…유럽 순방 두 번째 방문국은 어디인가?" for 방문). The sentence that answers holds it ("공사기간
    6개월"); the one that restates the question's setting often does not."""
    for token in reversed(tokens):
        if KOREAN_TERM.match(token) and token not in _ANSWER_KINDS:
            return token
    return None


def words_held(tokens: Sequence[str], texts: Sequence[str], focus: str | None = None) -> list[float]:
    """Per text, the share of the distinct ``tokens`` (lower-cased morphemes and anchors) it holds,
    each token weighted by how few of the ``texts`` hold it (log(1 + n / (1 + held))), the word the
    question asks about (``focus``) ``FOCUS_WEIGHT`` times as much.

    The candidates all come from passages about the question's subject ("손석희", "phi-1"), so the
    words that tell them apart are the rest of the question's ("유학한 학교"). A substring test rather
    than tokenizing each candidate: a noun or an anchor appears as it is, and a quote is chosen among
    a dozen sentences per question, at no measurable cost."""
    wanted = set(tokens)
    if not wanted:
        return [0.0] * len(texts)
    lowered = [text.lower() for text in texts]
    weight = {t: math.log(1 + len(texts) / (1 + sum(t in text for text in lowered))) for t in wanted}
    if focus in weight:
        weight[focus] *= FOCUS_WEIGHT
    total = sum(weight.values())
    return [sum(w for t, w in weight.items() if t in text) / total for text in lowered]


def _second_scores(second: SecondView | None, passage: Passage, count: int) -> list[float]:
    """The second encoder's cosine of each of a passage's sentences, where it is in the other language."""
    if second is None or not count or passage.chunk.lang == second.language:
        return [0.0] * count
    vectors = [vector for _, _, vector in second.sentences_of(passage.row)]
    if len(vectors) != count or not len(vectors[0]):
        return [0.0] * count
    return (np.stack(vectors) @ second.vector).tolist()


def render(quotes: list[Quote]) -> str:
    """Answer text: each quote (line breaks of the source folded to spaces) with its ``[n]``."""
    return " ".join(f"{' '.join(q.text.split())} [{q.passage_rank}]" for q in quotes)
