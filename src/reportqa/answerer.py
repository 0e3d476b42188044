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

from .answer import NOT_FOUND, render, select_quotes
from .config import MAX_TOP_K, Settings
from .documents import detect_lang
from .errors import QuestionError
from .lexical import load_tokenizer
from .machine import one_blas_thread
from .models import Models
from .records import Answer
from .retrieve import IndexVersion, Retriever
from .runners import Beside

MAX_QUESTION_CHARS = 2000


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
    ) -> list[Answer]:
        """Answer many questions with one encoder call for all of them; ``version()`` opens the index if
        it is not ``opened`` yet."""
        top_k = self.settings.top_k if top_k is None else top_k
        if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or not 1 <= top_k <= MAX_TOP_K:
            raise QuestionError(f"top_k must be a whole number from 1 to {MAX_TOP_K}, got {top_k!r}")
        cleaned = [clean_question(q) for q in questions]
        current = self._ready(version, opened, has_index)
        with one_blas_thread():  # a question's products are small; spinning BLAS threads would slow the next
            return self._answers(current, cleaned, int(top_k))

    def _answers(self, version: IndexVersion, cleaned: list[str], top_k: int) -> list[Answer]:
        started = time.perf_counter()
        aux = self.models.aux_encoder if version.store.aux_dim else None
        retriever = Retriever(version, self.models.encoder, aux, self.settings)
        # USE's vectors and the BM25 side run beside e5: both release the GIL for most of their time,
        # and a question is too short to keep both cores busy with one of them
        beside = self._beside.submit(retriever.prepare, cleaned)
        query_vectors = self.models.encoder.encode_queries(cleaned)
        results = retriever.retrieve_prepared(beside.result().with_vectors(query_vectors), top_k)
        retrieved = time.perf_counter()
        citations = version.citations()
        answers = []
        for question, vector, result in zip(cleaned, query_vectors, results):
            passages = [replace(p, cites=citations.cites(p.chunk, p.row)) for p in result.passages]
            if result.abstained or not passages:
                answer = Answer(question, NOT_FOUND[detect_lang(question)], passages, abstained=True)
            else:
                quotes = select_quotes(vector, passages, version.store.sentences_of)
                answer = Answer(question, render(quotes), passages, quotes=quotes)
            answer.timings = {"retrieve_s": (retrieved - started) / len(cleaned)}
            answers.append(answer)
        return answers

    def _ready(self, version: Callable[[], IndexVersion], opened: bool, has_index: Callable[[], bool]) -> IndexVersion:
        """The index version, with both encoders and the Korean tokenizer loaded side by side on first use.

        Each load is mostly native code that releases the GIL (onnxruntime, sentencepiece, numpy,
        Kiwi), so a one-off ``reportqa ask`` waits for the longest load rather than for their sum.
        """
        if (opened and self.models.encoder_loaded) or not has_index():
            return version()  # ready, or no index: its error at once
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="reportqa-load") as pool:
            loads = [pool.submit(lambda: self.models.encoder), pool.submit(load_tokenizer)]
            if self.models.aux_model_name:
                loads.append(pool.submit(lambda: self.models.aux_encoder))
            current = version()
            for load in loads:
                load.result()
        return current


def clean_question(question: str) -> str:
    """Drop control characters and surplus whitespace; refuse questions with nothing left."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in question)
    text = " ".join(text.split())[:MAX_QUESTION_CHARS]
    if not any(ch.isalnum() for ch in text):
        raise QuestionError("the question is empty: type a question in Korean or English")
    return text
