"""A question rendered in the other language's words of the corpus, by a learner's dictionary.

A Korean question about an English paper shares no words with it, and e5-small ranks English passages
for a Korean question far worse than for the same question in English; the same holds, less so, for
English questions on Korean text. A Korean–English dictionary (the 한국어기초사전 of the National
Institute of Korean Language, about 46,000 headwords, as the ``namehint`` package ships it) gives each
Korean word its English senses. A Korean word's senses that the corpus holds (matched by Snowball
stem: "layer" finds "layers") are its English candidates; an English word's candidates are the
corpus's Korean headwords with a sense of its stem ("subsidies" → 보조금). The second encoder, a
multilingual space, keeps the candidates nearest the word itself (층 → layer, not "story"). BM25 and
e5 search the passages in the other language with the rendering. Without the dictionary package
nothing is rendered and retrieval is as before.

A learner's dictionary lacks the technical words of the papers a report cites (미세조정, 매개변수,
어텐션), and Kiwi cuts such compounds into parts that mean something else alone (사전 + 학습:
"dictionary" + "learning"). A short list of Korean AI and computing terms (``data/ko_en_terms.tsv``)
is matched in the question's own text first; a term stands for the tokens it covers and brings its
English words as they are (no choice by the second encoder: the list is unambiguous by design).
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
from .outline import HANGUL

_ENGLISH_WORD = re.compile(r"[a-z]{3,}")
_TERM_PIECE = re.compile(r"[a-z][a-z-]*")  # what a technical term's English is written in
_QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how did does doe do is are was were the of in on for to by with and or "
    "from that this it its as at be been has have had much many".split()
)
_STOP = frozenset(
    "the and for with from that this are was were its being something someone thing things one oneself not any "
    "some".split()
)
PER_WORD = 2  # English words kept per Korean word
PER_WORD_KOREAN = 1  # Korean words kept per English word (two cost own-set English questions a first place)
MIN_RENDERED = 0.5  # a rendering of fewer of the question's Korean words does not stand for the question
MIN_SIMILARITY = 0.5  # a sense this far from the Korean word in the second encoder's space is another word's


def dictionary(cache_dir: Path | None = None) -> dict[str, str]:
    """Korean headword → its English words, space-separated (a string per headword keeps the 46,000
    entries at a few MB), or {} when the dictionary package is not installed.

    Read from the package once (0.2–0.3 s: a 5 MB JSON) and kept in ``cache_dir`` (the model cache)
    as plain lines, which load in a fraction of that: a cold Korean question pays it beside Kiwi.
    """
    return _dictionary(str(cache_dir or default_cache_dir()))


@lru_cache(maxsize=2)
def _dictionary(cache_dir: str) -> dict[str, str]:
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
        partial.write_text("".join(f"{word}\t{english}\n" for word, english in senses.items()), "utf-8")
        os.replace(partial, saved)
    except OSError:
        pass
    return senses


def _read(saved: Path) -> dict[str, str]:
    senses = {}
    for line in saved.read_text(encoding="utf-8").splitlines():
        word, english = line.split("\t")
        senses[word] = english
    if not senses:
        raise ValueError(f"{saved} is empty")
    return senses


def _from_package() -> dict[str, str]:
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
    return {word: " ".join(english) for word, english in senses.items() if english}


@lru_cache(maxsize=1)
def technical_terms() -> dict[str, tuple[str, ...]]:
    """Korean technical term (spaces removed) → its English terms, from ``data/ko_en_terms.tsv``."""
    terms = {}
    for line in resources.files("reportqa").joinpath("data", "ko_en_terms.tsv").read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            korean, english = line.split("\t")
            terms["".join(korean.split())] = tuple(e.strip().lower() for e in english.split(";") if e.strip())
    return terms


def with_terms(question: str, tokens: list[str]) -> list[str]:
    """``tokens`` with the technical terms written in ``question`` in place of the Korean tokens they
    cover ("미세조정 단계의 최대 학습률은?": 미세조정, 학습률 rather than 미세, 조정, 학습).

    A term matches at the start of a word, across up to three words ("가중치 감쇠"), or inside a word
    when it is three syllables or more ("최대학습률"): two syllables inside a word are too often part
    of another word.
    """
    found = _terms_in(question.split(), technical_terms())
    if not found:
        return tokens
    return found + [t for t in tokens if not (is_korean(t) and any(t in term for term in found))]


def _terms_in(words: list[str], terms: dict[str, tuple[str, ...]]) -> list[str]:
    longest = max(map(len, terms), default=0)
    found: list[str] = []
    i = 0
    while i < len(words):
        match = None
        for j in range(min(len(words), i + 3), i, -1):  # the most words first
            joined, before = "".join(words[i:j]), len("".join(words[i : j - 1]))
            match = next(
                (joined[:n] for n in range(min(len(joined), longest), before, -1) if joined[:n] in terms), None
            )
            if match:
                found.append(match)
                i = j
                break
        if match:
            continue
        word = words[i]
        inside = (
            word[start : start + n]
            for start in range(1, len(word))
            for n in range(min(len(word) - start, longest), 2, -1)
            if word[start : start + n] in terms
        )
        found += [term] if (term := next(inside, None)) else []
        i += 1
    return list(dict.fromkeys(found))


def _stemmer() -> Callable[[str], str]:
    import Stemmer  # PyStemmer: Snowball's English stemmer in C

    return Stemmer.Stemmer("english").stemWord


def is_korean(token: str) -> bool:
    return bool(HANGUL.search(token))


class Rendering:
    """A question's words rendered in the other language's words of one index's vocabulary.

    ``embed`` (texts → unit vectors, the second encoder) chooses among a word's candidates; without it
    the first ``per_word`` are kept, in the dictionary's order. Subclasses say which tokens are
    rendered, how the vocabulary is indexed and what a token's candidates are.
    """

    default_per_word = PER_WORD

    def __init__(
        self,
        vocabulary: Iterable[str],
        embed: Callable[[list[str]], np.ndarray] | None,
        per_word: int | None = None,
        min_similarity: float = MIN_SIMILARITY,
        cache_dir: Path | None = None,
    ):
        self._senses = dictionary(cache_dir)
        self._stem = _stemmer() if self._senses else str
        self._embed = embed
        self.per_word = self.default_per_word if per_word is None else per_word
        self.min_similarity = min_similarity
        self._by_stem: dict[str, list[str]] = {}
        if self._senses:
            self._index(vocabulary)
        self._known: dict[str, list[str]] = {}  # token → its words in the other language; tokens recur
        self._vectors: dict[str, np.ndarray] = {}  # second-encoder vectors of tokens and candidates

    def pending(self, tokens: list[str]) -> list[str]:
        """The texts whose vectors ``words(tokens)`` would have to embed: a caller embedding other texts
        anyway embeds these in the same call (a call costs about the same whatever short texts it holds)
        and hands them to ``learn``."""
        if not self._senses or self._embed is None:
            return []
        texts: list[str] = []
        for token in dict.fromkeys(tokens):
            if self._rendered(token) and token not in self._known and self._exact(token) is None:
                candidates = self._candidates(token)
                texts += [token, *candidates] if candidates else []
        return [t for t in dict.fromkeys(texts) if t not in self._vectors]

    def learn(self, texts: list[str], vectors: np.ndarray) -> None:
        self._vectors.update(zip(texts, vectors))

    def _index(self, vocabulary: Iterable[str]) -> None:
        raise NotImplementedError

    def _rendered(self, token: str) -> bool:
        raise NotImplementedError

    def _candidates(self, token: str) -> list[str]:
        raise NotImplementedError

    def _exact(self, token: str) -> list[str] | None:
        """A technical term's words in the other language, taken without a choice; None for other tokens."""
        return None

    def render(self, tokens: list[str], uncounted: Iterable[str] = ()) -> list[str]:
        """The words of ``tokens`` in the other language, or [] where fewer than ``MIN_RENDERED`` of the
        tokens to render have one ("비트코인 채굴에 드는 연간 전력은?" is not "power"). ``uncounted``:
        tokens that say little of what the question is about (its verbs, its question words), which
        are rendered where they can be but count neither way."""
        words = self.words(tokens)
        skipped = set(uncounted)
        source = [t for t in dict.fromkeys(tokens) if self._rendered(t) and t not in skipped]
        done = sum(1 for t in source if self.renders(t))
        return words if source and done / len(source) >= MIN_RENDERED else []

    def renders(self, token: str) -> bool:
        """Whether ``token``, met by ``render`` or ``words`` before, has a word in the other language."""
        return bool(self._known.get(token))

    def words(self, tokens: list[str]) -> list[str]:
        """The other language's words of ``tokens``, in their order, each once."""
        if not self._senses:
            return []
        if len(self._known) > 50_000 or len(self._vectors) > 200_000:  # bounded: a server sees many words
            self._known.clear()
            self._vectors.clear()
        fresh = [t for t in dict.fromkeys(tokens) if self._rendered(t) and t not in self._known]
        exact = {t: self._exact(t) for t in fresh}
        self._known.update((t, words) for t, words in exact.items() if words is not None)
        candidates = {t: self._candidates(t) for t in fresh if exact[t] is None}
        self._choose({t: words for t, words in candidates.items() if words})
        self._known.update((t, []) for t, words in candidates.items() if not words)
        rendered: list[str] = []
        for token in dict.fromkeys(tokens):
            rendered += [w for w in self._known.get(token, ()) if w not in rendered]
        return rendered

    def _choose(self, candidates: dict[str, list[str]]) -> None:
        """Keep each token's ``per_word`` candidates nearest it in the second encoder's space."""
        if not candidates:
            return
        if self._embed is None:
            self._known.update((t, words[: self.per_word]) for t, words in candidates.items())
            return
        texts = list(dict.fromkeys([*candidates, *(w for words in candidates.values() for w in words)]))
        missing = [t for t in texts if t not in self._vectors]
        if missing:
            self.learn(missing, self._embed(missing))
        vectors = self._vectors
        for token, words in candidates.items():
            similarity = np.array([float(vectors[token] @ vectors[w]) for w in words])
            order = [i for i in np.argsort(-similarity, kind="stable") if similarity[i] >= self.min_similarity]
            self._known[token] = [words[i] for i in order[: self.per_word]]


class EnglishRendering(Rendering):
    """Korean question tokens → the corpus's English words: a Korean word's senses that the corpus
    holds by stem ("layer" finds "layers"), the ``per_word`` nearest it."""

    def _index(self, vocabulary: Iterable[str]) -> None:
        # the words a technical term's English pieces are looked up among (lower-case, maybe hyphenated),
        # not the whole vocabulary: the index's own BM25 vocabulary already holds that
        self._held = {word for word in vocabulary if _TERM_PIECE.fullmatch(word)}
        for word in sorted(self._held):
            if _ENGLISH_WORD.fullmatch(word):
                self._by_stem.setdefault(self._stem(word), []).append(word)

    def _exact(self, token: str) -> list[str] | None:
        """A technical term's English words as the corpus writes them: the word itself, else its parts
        ("fine-tuning": fine, tuning), each as written or as the corpus's first word of its stem."""
        phrases = technical_terms().get(token)
        if phrases is None:
            return None
        found: list[str] = []
        for piece in (p for phrase in phrases for p in phrase.split()):
            for word in [piece] if piece in self._held else piece.split("-"):
                held = word if word in self._held else next(iter(self._by_stem.get(self._stem(word), ())), None)
                if held and held not in found:
                    found.append(held)
        return found

    def _rendered(self, token: str) -> bool:
        return is_korean(token)

    def _candidates(self, token: str) -> list[str]:
        """The corpus's words sharing a stem with one of ``token``'s senses."""
        found: list[str] = []
        for sense in self._korean_senses(token).split():
            found += [w for w in self._by_stem.get(self._stem(sense), ()) if w not in found]
        return found

    def _korean_senses(self, token: str) -> str:
        """A Korean token's senses, or those of the 하다 word it is the root of: Kiwi gives a root its
        bare form (다양 of 다양성, 정확 of 정확도) where the dictionary lists 다양하다, 정확하다. Verb
        and adjective stems (있, 넘, 만들) are left out: their senses ("exist", "pass", "make") match
        everything."""
        return self._senses.get(token) or self._senses.get(token + "하다", "")


class KoreanRendering(Rendering):
    """English question tokens → the corpus's Korean words: the headwords the corpus holds that have a
    sense of the same stem ("subsidies" → 보조금), the ``per_word`` nearest the English word."""

    default_per_word = PER_WORD_KOREAN

    def _index(self, vocabulary: Iterable[str]) -> None:
        held = set(vocabulary)
        for word, senses in self._senses.items():
            if word in held:
                for sense in senses.split():
                    headwords = self._by_stem.setdefault(self._stem(sense), [])
                    if word not in headwords:
                        headwords.append(word)

    def _rendered(self, token: str) -> bool:
        return bool(_ENGLISH_WORD.fullmatch(token)) and token not in _QUESTION_WORDS

    def _candidates(self, token: str) -> list[str]:
        return list(self._by_stem.get(self._stem(token), ()))
