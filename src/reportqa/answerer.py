"""Answering questions: clean → prepare (beside e5) → retrieve → compose the quoted answer.

Questions are answered on an ``IndexVersion`` (an index and what searching it builds); a build hands
the caller a new one, so questions asked during a build are answered from the previous version
until the new one is complete.
"""

from __future__ import annotations

import numbers
import time
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial

import numpy as np

from .answer import NOT_FOUND, OTHER_LANGUAGE, SecondView, render, select_quotes
from .bilingual import dictionary
from .config import MAX_TOP_K, Settings
from .documents import detect_lang, korean_or_english
from .errors import QuestionError
from .followup import Resolved, resolve
from .lexical import load_tokenizer, plain_english
from .machine import one_blas_thread
from .models import Models
from .records import Answer, Passage
from .retrieve import IndexVersion, Retrieval, Retriever
from .runners import Beside

MAX_QUESTION_CHARS = 2000
FUSED_DEPTH = 20  # how far down both lists a fused follow-up looks


class Answerer:
    """Answers questions on the index version the caller hands it, loading the encoders on first use."""

    def __init__(self, settings: Settings, models: Models):
        self.settings = settings
        self.models = models
        self._beside = Beside()

    def batch(
        self,
        questions: list[str],
        top_k: int | None,
        version: Callable[[], IndexVersion],
        opened: bool,
        has_index: Callable[[], bool],
        histories: list[list[str]] | None = None,
    ) -> list[Answer]:
        """Answer many questions with one encoder call for all of them; ``version()`` opens the index if
        it is not ``opened`` yet. ``histories[i]`` holds the questions asked before question ``i`` in its
        conversation (oldest first): a follow-up is retrieved with them (``followup.resolve``)."""
        top_k = self.settings.top_k if top_k is None else top_k
        if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or not 1 <= top_k <= MAX_TOP_K:
            raise QuestionError(f"top_k must be a whole number from 1 to {MAX_TOP_K}, got {top_k!r}")
        cleaned = [clean_question(q) for q in questions]
        if histories is not None and len(histories) != len(cleaned):
            raise QuestionError("one history per question is needed")
        earlier = [h for history in histories or () for h in history or ()]
        current = self._ready(version, opened, has_index, cleaned + earlier)
        with one_blas_thread():  # a question's products are small; spinning BLAS threads would slow the next
            resolved = [
                resolve(q, [clean_question(h) for h in history or ()], self._closest)
                for q, history in zip(cleaned, histories or [None] * len(cleaned))
            ]
            return self._answers(current, resolved, int(top_k))

    def _closest(self, words: str, candidates: list[str]) -> int:
        """The candidate nearest in meaning to ``words`` (e5, as passages: single words embed better so)."""
        vectors = self.models.encoder.encode_passages([words, *candidates])
        return int(np.argmax(vectors[1:] @ vectors[0]))

    def _answers(self, version: IndexVersion, resolved: list[Resolved], top_k: int) -> list[Answer]:
        # a follow-up that continues the conversation is also retrieved alone and the two are fused:
        # the previous question's names add its subject without drowning the new question's words
        alone = [i for i, r in enumerate(resolved) if r.also]
        cleaned = [r.query for r in resolved] + [resolved[i].also for i in alone]
        wide = min(MAX_TOP_K, max(top_k, FUSED_DEPTH)) if alone else top_k
        started = time.perf_counter()
        aux = self.models.aux_encoder if version.store.aux_dim else None
        retriever = Retriever(version, self.models.encoder, aux, self.settings)
        # USE's vectors and the BM25 side run beside e5: both release the GIL for most of their time,
        # and a question is too short to keep both cores busy with one of them
        beside = self._beside.submit(retriever.prepare, cleaned)
        query_vectors = self.models.encoder.encode_queries(cleaned)
        prepared = beside.result().with_vectors(query_vectors)
        results = retriever.retrieve_prepared(prepared, wide)
        for j, i in enumerate(alone):
            results[i] = fuse_retrievals(results[i], results[len(resolved) + j])
        results = [replace(r, passages=r.passages[:top_k]) for r in results[: len(resolved)]]
        retrieved = time.perf_counter()
        citations = version.citations()
        answers = []
        for i, (turn, vector, result) in enumerate(zip(resolved, query_vectors, results)):
            question = turn.question
            passages = [replace(p, cites=citations.cites(p.chunk, p.row)) for p in result.passages]
            if not korean_or_english(question):  # the nearest passages are still shown
                answer = Answer(question, OTHER_LANGUAGE, passages, abstained=True)
            elif result.abstained or not passages:
                answer = Answer(question, NOT_FOUND[detect_lang(question)], passages, abstained=True)
            else:
                spoken = prepared.lexical[i]
                quotes = select_quotes(
                    vector,
                    passages,
                    version.store.sentences_of,
                    question=turn.query,
                    tokens=spoken.tokens,
                    second=_second_view(version, prepared.aux_vectors, i, spoken.language, prepared.rendered),
                )
                answer = Answer(question, render(quotes), passages, quotes=quotes)
            answer.timings = {"retrieve_s": (retrieved - started) / len(resolved)}
            answer.query = turn.query if turn.query != turn.question else None
            answers.append(answer)
        return answers

    def _ready(
        self, version: Callable[[], IndexVersion], opened: bool, has_index: Callable[[], bool], texts: list[str]
    ) -> IndexVersion:
        """The index version, with both encoders loaded side by side on first use, and the Korean
        tokenizer and dictionary beside them when one of ``texts`` needs them (plain English is cut
        without Kiwi).

        The sentencepiece tokenizers load while other work runs, but Kiwi's model holds the GIL
        for the whole of its load (0.9–1.0 s), so a one-off Korean ``reportqa ask`` waits for about
        the sum of the loads; a plain English one skips Kiwi (0.4 s of loads in all).
        """
        if (opened and self.models.encoder_loaded) or not has_index():
            return version()  # ready, or no index: its error at once
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="reportqa-load") as pool:
            loads = [pool.submit(lambda: self.models.encoder)]
            if not all(plain_english(text) for text in texts):
                loads.append(pool.submit(load_tokenizer))
            if self.settings.translate_questions:  # a question's words in the other language
                loads.append(pool.submit(dictionary, self.settings.cache_dir))
            if self.models.aux_model_name:
                loads.append(pool.submit(lambda: self.models.aux_encoder))
            current = version()
            for load in loads:
                load.result()
        return current


def _second_view(
    version: IndexVersion, aux_vectors: np.ndarray | None, i: int, language: str, rendered: dict[int, np.ndarray]
) -> SecondView | None:
    """Question ``i`` as the second encoder sees it, for quoting sentences in the other language; for a
    Korean question, also e5's vector of its English rendering (its technical terms make it close to
    the sentence that answers; an English question's Korean rendering, a learner's dictionary's
    headwords, is closest to short keyword lines: own English answer@1 −1, dev +1)."""
    if aux_vectors is None or not version.store.aux_dim:
        return None
    sentences_of = partial(version.store.sentences_of, matrix="aux_sentence_vectors")
    return SecondView(aux_vectors[i], language, sentences_of, rendered.get(i) if language == "ko" else None)


def fuse_retrievals(context: Retrieval, alone: Retrieval) -> Retrieval:
    """One ranking from a follow-up retrieved with its conversation and alone: each passage's two
    scores summed (a passage missing from one list adds nothing from it)."""
    scores: dict[str, float] = {}
    passages: dict[str, Passage] = {}
    for passage in context.passages + alone.passages:
        key = passage.chunk.chunk_id
        scores[key] = scores.get(key, 0.0) + passage.score
        passages.setdefault(key, passage)
    order = sorted(scores, key=lambda key: -scores[key])
    ranked = [replace(passages[key], rank=rank, score=scores[key] / 2) for rank, key in enumerate(order, 1)]
    return replace(context, passages=ranked, abstained=context.abstained and alone.abstained)


def clean_question(question: str) -> str:
    """Drop control characters and surplus whitespace, compose decomposed letters (NFC, as documents are
    read); refuse questions with nothing left."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in unicodedata.normalize("NFC", question))
    text = " ".join(text.split())[:MAX_QUESTION_CHARS]
    if not any(ch.isalnum() for ch in text):
        raise QuestionError("the question is empty: type a question in Korean or English")
    return text
