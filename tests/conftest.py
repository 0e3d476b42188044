import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import hashlib  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REPORT = ROOT / "corpus" / "spri-2023-ai-competition.txt"
PHI1_PDF = SHARED / "corpus-sources" / "gunasekar2023-textbooks-are-all-you-need.pdf"
DEV = SHARED / "eval" / "dev.jsonl"


def copy_corpus(target: Path) -> Path:
    """A writable copy of the shipped corpus (the report and its metadata) at ``target``."""
    shutil.copytree(ROOT / "corpus", target, dirs_exist_ok=True)
    return target


class HashEncoder:
    """Deterministic character-trigram hashing encoder: fast, offline, good enough to rank overlap."""

    name = "test-hash-encoder"
    dim = 256

    def __init__(self):
        self.passage_calls = 0
        self.passages_encoded = 0

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        text = " ".join(text.lower().split())
        for i in range(max(len(text) - 2, 1)):
            h = int.from_bytes(hashlib.blake2b(text[i : i + 3].encode(), digest_size=4).digest(), "little")
            v[h % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def encode_queries(self, texts):
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_passages(self, texts, batch_size=16, progress=False):
        self.passage_calls += 1
        self.passages_encoded += len(texts)
        return self.encode_queries(texts)


@pytest.fixture
def hash_encoder():
    return HashEncoder()


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory):
    """The converted default model, built once per test session in a temporary cache."""
    from reportqa.model_build import ensure_default_model

    cache = tmp_path_factory.mktemp("model-cache")
    ensure_default_model(cache)
    os.environ["REPORTQA_CACHE"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def encoder(model_cache):
    from reportqa.encoder import load_encoder

    return load_encoder(cache_dir=str(model_cache))


@pytest.fixture(scope="session")
def report_qa(tmp_path_factory, encoder):
    """A ReportQA over the shipped corpus (the report), indexed once with the real encoder."""
    from reportqa import ReportQA

    corpus = copy_corpus(tmp_path_factory.mktemp("corpus"))
    qa = ReportQA(index_dir=tmp_path_factory.mktemp("index"), corpus_dir=corpus, encoder=encoder)
    qa.build()
    return qa


@pytest.fixture
def small_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "alpha.txt").write_text(
        "I 첫째 장\n\n1 배경\n\n■ 알파 프로젝트는 2021년에 시작되었다.\n- 예산은 30억 원이다.\n\n"
        "2 결과\n\n■ 베타 모델은 정확도 91.5%를 기록했다.\n",
        encoding="utf-8",
    )
    (corpus / "bravo.md").write_text(
        "# Bravo notes\n\n## Hardware\n\nThe cluster has 64 GPUs in 8 nodes.\n\n## People\n\n"
        "The team has twelve engineers.\n",
        encoding="utf-8",
    )
    return corpus
