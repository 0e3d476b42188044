"""Build workers for USE and Kiwi: the in-process path's features, failures reported, no worker left behind."""

import os

import numpy as np
import pytest

from conftest import REPORT
from reportqa import ReportQA, ReportQAError, Settings, lexical
from reportqa.answer import split_sentences
from reportqa.lexical import tokenize
from reportqa.side_processes import MAX_PROCESSES, SidePool, auto_processes


def test_kiwi_has_a_process_of_its_own_on_a_cpu_and_use_joins_it_beside_a_gpu():
    assert auto_processes(-1, gpu=False) == (1, False)
    assert auto_processes(-1, gpu=True) == (min(MAX_PROCESSES, (os.cpu_count() or 1) - 1), True)
    assert auto_processes(3, gpu=False) == (3, True)
    assert auto_processes(0, gpu=True) == (0, False)
    with pytest.raises(ValueError, match="build_processes"):
        Settings().with_(build_processes=-2)


@pytest.mark.slow
def test_a_build_with_worker_processes_indexes_what_the_threads_do(
    tmp_path, small_corpus, encoder, model_cache, monkeypatch
):
    """Same chunks, tokens and vectors of both encoders, whether USE and Kiwi run in workers or on threads."""
    (small_corpus / "report-part.txt").write_text(REPORT.read_text(encoding="utf-8")[:6000], encoding="utf-8")
    started = []
    monkeypatch.setattr(SidePool, "warm", lambda pool: started.append(pool.runs_aux) or SidePool._start_worker(pool))
    stores = {}
    for processes in (2, -1, 0):
        if processes == -1:  # Kiwi not loaded here yet, as in a fresh ``reportqa build``
            lexical._kiwi.cache_clear()
        settings = Settings.from_env().with_(build_processes=processes, cache_dir=model_cache)
        qa = ReportQA(
            index_dir=tmp_path / f"index-{processes}", corpus_dir=small_corpus, settings=settings, encoder=encoder
        )
        assert len(qa.build().added) == 3
        if processes == -1:
            assert not lexical.tokenizer_loaded()  # every token came from the worker
        stores[processes] = qa.store
    assert started == [True, False]  # USE and Kiwi for 2; Kiwi alone for -1; none for 0
    threads = stores[0].features
    for processes in (2, -1):
        workers = stores[processes].features
        assert [c.text for c in stores[processes].chunks] == [c.text for c in stores[0].chunks]
        assert workers.tokens == threads.tokens and any(workers.tokens)
        assert np.array_equal(workers.sentences, threads.sentences)
        assert workers.aux_vectors.shape[1] == 512
        for name in ("vectors", "sentence_vectors", "aux_vectors", "aux_sentence_vectors"):
            assert np.allclose(getattr(workers, name), getattr(threads, name), atol=1e-6), name


@pytest.mark.slow
def test_a_build_where_kiwi_is_loaded_already_tokenises_on_a_thread(tmp_path, small_corpus, encoder, monkeypatch):
    """A long-lived process (the web app after its first question) has no load to hide: no worker starts."""
    lexical.load_tokenizer()
    monkeypatch.setattr(SidePool, "warm", lambda pool: pytest.fail("a worker process was started"))
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=small_corpus, encoder=encoder)
    assert len(qa.build().added) == 2 and any(qa.store.features.tokens)


def test_workers_return_tokens_and_vectors_of_texts_and_spans(model_cache):
    text = "보고서 본문\n■ 알파 프로젝트는 2021년에 시작되었다. 예산은 30억 원이다."
    spans = [(0, 7 + a, 7 + b) for a, b in split_sentences(text[7:])]
    with SidePool(1, "use-multilingual-v3", str(model_cache)) as pool:
        tokens, chunk_vectors, span_vectors = pool.submit([text], spans).result(timeout=120)
    assert tokens == [tokenize(text)] and "알파" in tokens[0]
    assert chunk_vectors.shape == (1, 512) and span_vectors.shape == (len(spans), 512) == (2, 512)
    assert np.allclose(np.linalg.norm(span_vectors, axis=1), 1, atol=1e-4)


def test_a_worker_that_cannot_load_its_model_fails_the_job_with_the_reason():
    with SidePool(1, "no-such-encoder", None) as pool:
        future = pool.submit(["text"], [])
        with pytest.raises(ReportQAError, match="unknown second encoder 'no-such-encoder'"):
            future.result(timeout=120)


def test_a_dead_worker_fails_its_jobs_instead_of_hanging():
    with SidePool(1, "none", None) as pool:
        assert pool.submit(["ok"], []).result(timeout=120)[0] == [["ok"]]
        pool._children[0].kill()
        with pytest.raises(ReportQAError, match="worker process stopped"):
            pool.submit(["text"], []).result(timeout=60)


def test_workers_start_with_the_documents_up_to_the_limit():
    with SidePool(3, "none", None) as pool:
        assert pool.submit(["하나"], []).result(timeout=120)[0] == [["하나"]]
        assert len(pool._children) == 1
        futures = [pool.submit([f"문서 {i}"], []) for i in range(5)]
        assert [f.result(timeout=120)[0] for f in futures] == [[tokenize(f"문서 {i}")] for i in range(5)]
        assert len(pool._children) == 3


def test_closing_cancels_queued_jobs_and_ends_every_worker():
    pool = SidePool(2, "none", None)
    futures = [pool.submit(["문서 하나"] * 50, []) for _ in range(20)]
    pool.close()
    assert all(f.done() for f in futures)
    assert any(f.cancelled() for f in futures)
    assert all(child.returncode is not None for child in pool._children)
