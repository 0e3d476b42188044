"""Korean question words → the corpus's English words, by a learner's dictionary: the English rendering
of a Korean question that BM25 and e5 use on English passages.

A Korean question about an English paper shares no words with it, and e5-small ranks English passages
for a Korean question far worse than for the same question in English. A Korean–English dictionary
(the 한국어기초사전 of the National Institute of Korean Language, about 46,000 headwords, as the
``namehint`` package ships it) gives each Korean word its English senses; the senses the corpus
holds (matched by Snowball stem: "layer" finds "layers") are candidates, and the second encoder, a
multilingual space, keeps the ``per_word`` nearest the Korean word itself (층 → layer, not "floor"
or "story"; 차원 → dimension; 교과서 → textbook). Without the dictionary package the rendering is
empty and retrieval is as before.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path

import numpy as np

from .config import default_cache_dir

_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_ENGLISH_WORD = re.compile(r"[a-z]{3,}")
_STOP = frozenset(
    "the and for with from that this are was were its being something someone thing things one oneself not any "
    "some".split()
)
PER_WORD = 2  # senses kept per Korean word
MIN_RENDERED = 0.5  # a rendering of fewer of the question's Korean words does not stand for the question
MIN_SIMILARITY = 0.5  # a sense this far from the Korean word in the second encoder's space is another word's


def dictionary(cache_dir: Path | None = None) -> dict[str, tuple[str, ...]]:
    """Korean headword → its English words, or {} when the dictionary package is not installed.

    Read from the package once (0.2–0.3 s: a 5 MB JSON) and kept in ``cache_dir`` (the model cache)
    as plain lines, which load in a fraction of that: a cold Korean question pays it beside Kiwi.
    """
    return _dictionary(str(cache_dir or default_cache_dir()))


@lru_cache(maxsize=2)
def _dictionary(cache_dir: str) -> dict[str, tuple[str, ...]]:
    try:
        version = metadata.version("namehint")
    except metadata.PackageNotFoundError:
        return {}
    saved = Path(cache_dir) / f"ko-en-senses-{version}.tsv"
    try:
        return _read(saved)
    except (OSError, ValueError):
        pass
    senses = _from_package()
    try:  # written whole or not at all: another process may be reading the same cache
        saved.parent.mkdir(parents=True, exist_ok=True)
        partial = saved.with_name(f"{saved.name}.{os.getpid()}.tmp")
        partial.write_text("".join(f"{word}\t{' '.join(english)}\n" for word, english in senses.items()), "utf-8")
        os.replace(partial, saved)
    except OSError:
        pass
    return senses


def _read(saved: Path) -> dict[str, tuple[str, ...]]:
    senses = {}
    for line in saved.read_text(encoding="utf-8").splitlines():
        word, english = line.split("\t")
        senses[word] = tuple(english.split())
    if not senses:
        raise ValueError(f"{saved} is empty")
    return senses


def _from_package() -> dict[str, tuple[str, ...]]:
    try:
        text = resources.files("namehint").joinpath("dictionary.json").read_text(encoding="utf-8")
        entries = json.loads(text).values()
    except (ModuleNotFoundError, FileNotFoundError, OSError, ValueError, AttributeError):
        return {}
    senses: dict[str, list[str]] = {}
    for entry in entries:
        word = str(entry.get("word", ""))
        if not word or "\t" in word or "\n" in word:
            continue
        words = _ENGLISH_WORD.findall(str(entry.get("meaning", "")).lower())
        kept = senses.setdefault(word, [])
        kept += [w for w in words if w not in _STOP and w not in kept]
    return {word: tuple(english) for word, english in senses.items() if english}


def _stemmer() -> Callable[[str], str]:
    import Stemmer  # PyStemmer: Snowball's English stemmer in C

    return Stemmer.Stemmer("english").stemWord


def is_korean(token: str) -> bool:
    return bool(_HANGUL.search(token))


class EnglishRendering:
    """Renders Korean question tokens in the English words of one index's vocabulary.

    ``embed`` (texts → unit vectors, the second encoder) chooses the senses; without it the first
    ``per_word`` senses the corpus holds are kept, in the dictionary's order.
    """

    def __init__(
        self,
        vocabulary: Iterable[str],
        embed: Callable[[list[str]], np.ndarray] | None,
        per_word: int = PER_WORD,
        min_similarity: float = MIN_SIMILARITY,
        cache_dir: Path | None = None,
    ):
        self._senses = dictionary(cache_dir)
        self._embed = embed
        self.per_word = per_word
        self.min_similarity = min_similarity
        self._by_stem: dict[str, list[str]] = {}
        self._stem = _stemmer() if self._senses else str
        for word in sorted(vocabulary):
            if _ENGLISH_WORD.fullmatch(word):
                self._by_stem.setdefault(self._stem(word), []).append(word)
        self._known: dict[str, list[str]] = {}  # Korean token → its English words; tokens recur

    def render(self, tokens: list[str]) -> list[str]:
        """The English words of the Korean tokens among ``tokens``, or [] where fewer than
        ``MIN_RENDERED`` of them have one ("비트코인 채굴에 드는 연간 전력은?" is not "power")."""
        words = self.words(tokens)
        korean = [t for t in dict.fromkeys(tokens) if is_korean(t)]
        rendered = sum(1 for t in korean if self._known.get(t))
        return words if korean and rendered / len(korean) >= MIN_RENDERED else []

    def words(self, tokens: list[str]) -> list[str]:
        """The English words of the Korean tokens among ``tokens``, in their order, each once."""
        if not self._by_stem:
            return []
        if len(self._known) > 50_000:  # bounded: a long-running server sees many words
            self._known.clear()
        fresh = [t for t in dict.fromkeys(tokens) if is_korean(t) and t not in self._known]
        candidates = {t: self._candidates(t) for t in fresh}
        self._choose({t: words for t, words in candidates.items() if words})
        self._known.update((t, []) for t, words in candidates.items() if not words)
        rendered: list[str] = []
        for token in dict.fromkeys(tokens):
            rendered += [w for w in self._known.get(token, ()) if w not in rendered]
        return rendered

    def _candidates(self, token: str) -> list[str]:
        """The corpus's words sharing a stem with one of ``token``'s senses."""
        found: list[str] = []
        for sense in self._senses.get(token, ()):
            found += [w for w in self._by_stem.get(self._stem(sense), ()) if w not in found]
        return found

    def _choose(self, candidates: dict[str, list[str]]) -> None:
        """Keep each token's ``per_word`` senses nearest it in the second encoder's space."""
        if not candidates:
            return
        if self._embed is None:
            self._known.update((t, words[: self.per_word]) for t, words in candidates.items())
            return
        texts = list(dict.fromkeys([*candidates, *(w for words in candidates.values() for w in words)]))
        vectors = dict(zip(texts, self._embed(texts)))
        for token, words in candidates.items():
            similarity = np.array([float(vectors[token] @ vectors[w]) for w in words])
            order = [i for i in np.argsort(-similarity, kind="stable") if similarity[i] >= self.min_similarity]
            self._known[token] = [words[i] for i in order[: self.per_word]]
