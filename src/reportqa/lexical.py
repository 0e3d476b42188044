"""BM25 over Korean morphemes and English words (bm25s + kiwipiepy).

Whitespace tokens barely match in agglutinative Korean ("중국의", "중국은", "중국에"), so Korean is
cut into content morphemes with Kiwi (nouns, verb/adjective stems, roots, foreign words, numbers,
hanja). Numbers with units, versions, model names and ampersand acronyms ("1.287GWh", "24.7%",
"H100", "GPT-4", "R&D") are also kept whole: they are the language-neutral anchors an English question shares with a
Korean passage; so is a date's month (``dates.month_tokens``: "21.09.29" and "September 2021" → "2021-09").
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .dates import month_tokens

CONTENT_TAGS = {"NNG", "NNP", "NR", "XR", "SL", "SH", "SN", "VV", "VA", "VV-R", "VA-R", "VV-I", "VA-I"}
NOUN_TAGS = frozenset({"NNG", "NNP", "SL", "SH"})
PREDICATE_TAGS = frozenset({"VV", "VA", "VV-R", "VA-R", "VV-I", "VA-I"})
QUESTION_NOUNS = frozenset({"얼마", "무엇", "누구", "어디", "언제"})
_ANCHOR = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.,%/+&\-]*[A-Za-z0-9%])?")
_ENGLISH_STOP = frozenset(
    "a an the of in on at to for from by with and or but is are was were be been being this that these those "
    "it its as what which who whom whose when where why how did do does done has have had can could would "
    "should will shall may might must than then there their they them he she his her we our you your i me my "
    "about into over under between during after before through per via not no yes so such any all each "
    "much many more most some other".split()
)


@functools.lru_cache(maxsize=1)
def _kiwi():
    from kiwipiepy import Kiwi

    # the typo and multi-word dictionaries double the load time and do not change content morphemes
    return Kiwi(load_typo_dict=False, load_multi_dict=False)


_kiwi_lock = threading.Lock()


def load_tokenizer() -> None:
    """Load Kiwi's model now (about a second) rather than on the first text."""
    with _kiwi_lock:
        _kiwi().tokenize("준비")


def tokenizer_loaded() -> bool:
    """Whether Kiwi's model is loaded in this process (a build hands the first load to a worker)."""
    return _kiwi.cache_info().currsize > 0


@dataclass(frozen=True)
class Morpheme:
    """One of Kiwi's morphemes with its tag and where it stands in the text."""

    form: str
    tag: str
    start: int
    end: int


# Plain English as Kiwi cuts it: runs of Latin letters (SL) and numbers (SN: decimals, thousands
# groups). Such text is tokenized without Kiwi, so an English question never waits for its model
# (about 1.3 s and 290 MB in a fresh process). The grammar is narrow on purpose: anything Kiwi reads
# otherwise (U.S., 2023-05-01, 10:30, a list marker "1)", R&D, e-mail, URL, hashtag, a sentence ending
# in "." after a word) goes to Kiwi; tests/test_lexical.py checks that both agree on random text.
# Every run of letters or digits is maximal (the lookaheads), so matching takes linear time.
_NUMBER = r"(?:\d{1,3}(?:,\d{3})+(?![\d,])|\d+(?:\.\d+)?(?![\d.]))"
_PLAIN_WORD = rf"(?:[A-Za-z]+(?![A-Za-z])|{_NUMBER})+(?:'[A-Za-z]+(?![A-Za-z]))?"
_PLAIN_PIECE = rf"[(\"'\[]*{_PLAIN_WORD}(?:-{_PLAIN_WORD})*[)\"'\]?!,;:%]*"
_PLAIN_TEXT = re.compile(rf"\s*(?:{_PLAIN_PIECE}(?:\s+(?!\s)|$))*")
_NOT_PLAIN = re.compile(r"\d-\d|\d[)\]:]")  # serials, dates and times, list markers: Kiwi's own tags
_PLAIN_MORPHEME = re.compile(rf"[A-Za-z]+|{_NUMBER}")


def plain_english(text: str) -> bool:
    """Whether ``text`` is plain English that ``tokenize`` cuts as Kiwi would, without loading it."""
    return text.isascii() and _PLAIN_TEXT.fullmatch(text) is not None and not _NOT_PLAIN.search(text)


def _plain_morphemes(text: str) -> list[tuple[str, str, int, int]]:
    """(form, Kiwi's tag, start, end) of plain English text's letter runs and numbers."""
    found = _PLAIN_MORPHEME.finditer(text)
    return [(m.group(), "SN" if m.group()[0].isdigit() else "SL", m.start(), m.end()) for m in found]


def analyse(text: str) -> list[Morpheme]:
    """Kiwi's morphemes of ``text`` with their tags (English words come out as ``SL``)."""
    return [Morpheme(*morpheme) for morpheme in _kiwi_morphemes(text)]


def tokenize(text: str) -> list[str]:
    """Content morphemes and whole anchors, lower-cased; particles and stop words dropped."""
    out, morpheme_spans = _morphemes(text, CONTENT_TAGS)
    for match in _ANCHOR.finditer(text):
        anchor = match.group()
        if (any(ch.isdigit() for ch in anchor) or "&" in anchor) and len(anchor) > 1:
            anchor = anchor.rstrip(".,")
            if (match.start(), match.start() + len(anchor)) not in morpheme_spans:  # "2020" is counted once
                out.append(anchor.lower())
    return out + month_tokens(text)


def nouns(text: str) -> list[str]:
    """The nouns and foreign words of ``text`` as ``tokenize`` writes them, question words aside: what a
    question is about. Plain English has no tags without Kiwi, so all its words but stop words count."""
    return [form for form in _morphemes(text, NOUN_TAGS, stop_surfaces=True)[0] if form not in QUESTION_NOUNS]


def predicates(text: str) -> list[str]:
    """The verb and adjective stems of ``text`` (Kiwi's VV/VA: 만들, 어렵), lower-cased; none in plain
    English, which has no tags without Kiwi."""
    return _morphemes(text, PREDICATE_TAGS)[0]


def _morphemes(
    text: str, tags: frozenset[str] | set[str], stop_surfaces: bool = False
) -> tuple[list[str], set[tuple[int, int]]]:
    """The lower-cased forms of ``text``'s morphemes with one of ``tags`` (English words stemmed, stop
    words dropped: as stemmed, and also as written with ``stop_surfaces``, which BM25's tokens never
    did, so "does" is their "doe"), and their character spans."""
    morphemes = _plain_morphemes(text) if plain_english(text) else _kiwi_morphemes(text)
    out = []
    spans = set()
    for surface, tag, start, end in morphemes:
        if tag not in tags:
            continue
        form = _english_stem(surface.lower()) if tag == "SL" else surface.lower()
        if (
            form in _ENGLISH_STOP
            or (tag == "SL" and len(form) < 2)
            or (stop_surfaces and surface.lower() in _ENGLISH_STOP)
        ):
            continue
        out.append(form)
        spans.add((start, end))
    return out, spans


_NUMBER_ONLY = re.compile(r"[\d.,%]+")
KOREAN_TERM = re.compile(r"^[\uac00-\ud7a3]{2,}$")  # a Korean word of two syllables or more


def content_words(tokens: Iterable[str]) -> list[str]:
    """``tokens`` but bare numbers ("2022") and question nouns (얼마, 무엇): what says what is asked."""
    return [t for t in tokens if not _NUMBER_ONLY.fullmatch(t) and t not in QUESTION_NOUNS]


def shares_a_word(words: Iterable[str], chunk_tokens: Iterable[str], chunk_text: str) -> bool:
    """Whether a chunk holds any of the ``content_words`` of a question's ``words`` (its BM25 tokens, or
    their other-language words; a month, "2022-08", counts): as one of its tokens, or, a Korean word of
    two syllables or more, inside its text, where Kiwi cut the chunk's compound otherwise ("농성" in
    "농성자")."""
    held = set(chunk_tokens)
    text = chunk_text.lower()
    return any(w in held or (KOREAN_TERM.match(w) is not None and w in text) for w in content_words(words))


@functools.lru_cache(maxsize=256)
def _kiwi_morphemes(text: str) -> tuple[tuple[str, str, int, int], ...]:
    """(form, tag, start, end) of Kiwi's morphemes of ``text``: kept for the last few texts, since a
    question is cut for BM25, for its nouns and verbs, and read again for follow-up questions."""
    with _kiwi_lock:
        tokens = _kiwi().tokenize(text)
    return _whole_latin_words(_address_words([(t.form, t.tag, t.start, t.start + t.len) for t in tokens]))


_ADDRESS_TAGS = frozenset({"W_URL", "W_EMAIL", "W_HASHTAG", "W_MENTION"})
_ADDRESS_PIECE = re.compile(r"[A-Za-z]+|\d+|[\uac00-\ud7a3]+")


def _address_words(morphemes: list[tuple[str, str, int, int]]) -> list[tuple[str, str, int, int]]:
    """A URL, e-mail address, hashtag or mention as its words and numbers (a Hangul run as one noun):
    Kiwi tags each whole (W_URL, W_EMAIL, …), a tag no content morpheme has, so
    "github.com/tatsu-lab/stanford_alpaca" was not searchable by "alpaca" nor "gangmin.park@spri.kr"
    by "spri"."""
    out = []
    for form, tag, start, end in morphemes:
        if tag not in _ADDRESS_TAGS:
            out.append((form, tag, start, end))
            continue
        for piece in _ADDRESS_PIECE.finditer(form):
            word = piece.group()
            kind = "SN" if word[0].isdigit() else "SL" if word[0].isascii() else "NNG"
            out.append((word, kind, start + piece.start(), start + piece.end()))
    return out


def _whole_latin_words(morphemes: list[tuple[str, str, int, int]]) -> tuple[tuple[str, str, int, int], ...]:
    """Kiwi's Latin words (SL) as written: Kiwi keeps the period of a word that ends a sentence and
    often cuts the word in two ("tokens." → "t" + "okens.", "HumanEval." → "Huma" + "nEval."), so an
    English passage's last word of every sentence matched no question. Touching pieces are joined
    and one final period dropped ("U.S." → "U.S", as a question's "U.S." is read)."""
    joined: list[tuple[str, str, int, int]] = []
    for form, tag, start, end in morphemes:
        if tag == "SL" and joined and joined[-1][1] == "SL" and joined[-1][3] == start:
            before, _, start, _ = joined.pop()
            form = before + form
        joined.append((form, tag, start, end))
    return tuple(
        (form[:-1], tag, start, end - 1)
        if tag == "SL" and len(form) > 1 and form.endswith(".")
        else (form, tag, start, end)
        for form, tag, start, end in joined
    )


def _english_stem(word: str) -> str:
    """A light plural/possessive strip so 'GPUs' meets 'GPU' and 'parameters' meets 'parameter'."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "is")):
        return word[:-1]
    return word


_SAVED = {  # bm25s's files, named for the index version folder they are written into
    "data_name": "bm25-data.npy",
    "indices_name": "bm25-indices.npy",
    "indptr_name": "bm25-indptr.npy",
    "vocab_name": "bm25-vocab.json",
    "params_name": "bm25-params.json",
    "nnoc_name": "bm25-nnoc.npy",
}


class LexicalIndex:
    """A bm25s index over pre-tokenised chunks; row i is chunk i of the store.

    Saved with the index and memory-mapped when opened: a question reads only its own words'
    postings, so a million chunks open in the time it takes to read the vocabulary.
    """

    def __init__(self, tokens: Iterable[list[str]] | None = None, size: int | None = None, bm25=None):
        if bm25 is not None:
            self.size, self._bm25 = int(size or 0), bm25
            return
        import bm25s

        # bm25s needs at least one token per document and one document
        documents = [t or ["\u2205"] for t in tokens or []] or [["\u2205"]]
        self.size = len(tokens or [])
        # the vocabulary numbered in sorted order, not in the order of a set's iteration (which changes with
        # each process's hash seed): the same chunks give the same saved files
        vocabulary = {token: i for i, token in enumerate(sorted({t for document in documents for t in document}))}
        ids = [[vocabulary[t] for t in document] for document in documents]
        self._bm25 = bm25s.BM25()
        self._bm25.index((ids, vocabulary), show_progress=False)

    def save(self, folder: Path) -> None:
        self._bm25.save(str(folder), show_progress=False, **_SAVED)

    @classmethod
    def load(cls, folder: Path, size: int) -> LexicalIndex:
        """The index ``save`` wrote into ``folder``, its postings memory-mapped."""
        import bm25s

        bm25 = bm25s.BM25.load(str(folder), mmap=True, show_progress=False, **_SAVED)
        if int(bm25.scores["num_docs"]) != max(size, 1):
            raise ValueError(f"BM25 holds {bm25.scores['num_docs']} rows for {size} chunks")
        return cls(size=size, bm25=bm25)

    def vocabulary(self) -> list[str]:
        """Every token of the indexed chunks."""
        return list(self._bm25.vocab_dict)

    def holds(self, token: str) -> bool:
        """Whether ``token`` occurs in any indexed chunk."""
        return token in self._bm25.vocab_dict

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk for the query (zeros when no query token is known)."""
        if not self.size or not query_tokens:
            return np.zeros(self.size, dtype=np.float32)
        known = [t for t in query_tokens if t in self._bm25.vocab_dict]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)[: self.size]


_ENGLISH_WORD = re.compile(r"^[a-z]{3,}$")


def korean_terms(tokens: Iterable[str]) -> list[str]:
    """The Korean content terms among ``tokens``, sorted: what an English question's words are mapped to."""
    return sorted({t for t in tokens if KOREAN_TERM.match(t)})


def term_vectors(
    terms: list[str],
    embed: Callable[[list[str]], np.ndarray],
    dim: int,
    known_terms: list[str] | None = None,
    known_vectors: np.ndarray | None = None,
) -> np.ndarray:
    """The vectors of ``terms`` by ``embed``, taken from ``known_terms``/``known_vectors`` where they are
    there: only new terms are embedded (an index saves them, so that neither its next build nor its
    first English question embeds its whole vocabulary)."""
    if not terms:
        return np.zeros((0, dim), dtype=np.float32)
    if known_vectors is not None and known_terms == terms:  # the index's own table: nothing to look up
        return np.asarray(known_vectors, dtype=np.float32)
    known = {term: i for i, term in enumerate(known_terms or ())} if known_vectors is not None else {}
    missing = [t for t in terms if t not in known]
    fresh = dict(zip(missing, embed(missing))) if missing else {}
    return np.stack([fresh[t] if t in fresh else known_vectors[known[t]] for t in terms]).astype(np.float32)


class TermTranslator:
    """English question words → the corpus's own Korean terms, by nearest neighbours in a multilingual space.

    BM25 cannot match "electricity" to "전력"; a multilingual encoder can. The vocabulary is the
    Korean content terms of the index itself, so expansions are always words BM25 can find. Their
    vectors come from the index where it saved them (``known_terms``/``known_vectors``).
    """

    def __init__(
        self,
        vocabulary: list[str],
        encoder,
        per_word: int = 2,
        min_similarity: float = 0.5,
        known_terms: list[str] | None = None,
        known_vectors: np.ndarray | None = None,
    ):
        self.terms = korean_terms(vocabulary)
        self.encoder = encoder
        self.per_word = per_word
        self.min_similarity = min_similarity
        self._vectors = (
            term_vectors(self.terms, encoder.encode_passages, encoder.dim, known_terms, known_vectors)
            if self.terms
            else None
        )
        self._expansions: dict[str, list[str]] = {}  # English word → its Korean terms; words recur across questions

    def unknown(self, tokens: list[str]) -> list[str]:
        """The English words among ``tokens`` whose Korean terms are not known yet."""
        if self._vectors is None:
            return []
        return [t for t in dict.fromkeys(tokens) if _ENGLISH_WORD.match(t) and t not in self._expansions]

    def learn(self, words: list[str], vectors: np.ndarray) -> None:
        """Keep the Korean terms of ``words`` from their vectors, which a caller may embed with other texts."""
        if not words or self._vectors is None:
            return
        if len(self._expansions) > 50_000:  # bounded: a long-running server sees many words
            self._expansions.clear()
        similarity = vectors @ self._vectors.T
        k = min(self.per_word, similarity.shape[1])
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]  # the k best terms per word, unordered
        for word, row, columns in zip(words, similarity, nearest):
            best = sorted(columns.tolist(), key=lambda j: (-row[j], j))
            self._expansions[word] = [self.terms[j] for j in best if row[j] >= self.min_similarity]

    def expand(self, tokens: list[str]) -> list[str]:
        """Korean terms for the English words among ``tokens`` (the tokens themselves are not repeated)."""
        if self._vectors is None:
            return []
        missing = self.unknown(tokens)
        if missing:
            self.learn(missing, self.encoder.encode_queries(missing))
        words = [t for t in dict.fromkeys(tokens) if _ENGLISH_WORD.match(t)]
        return [term for word in words for term in self._expansions.get(word, ())]
