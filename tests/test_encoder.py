import os
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import REPORT
from reportqa.encoder import UniversalSentenceEncoder, passage_workers


@pytest.fixture(scope="module")
def use():
    return UniversalSentenceEncoder()


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
