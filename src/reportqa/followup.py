"""Follow-up questions without a language model: "What about China?" → the previous question about China.

An elliptical or anaphoric question ("그럼 중국은?", "What about China?", "How many parameters does it
have?") shares too few words with its evidence to be retrieved alone. A question is cut into its
*units* — names (proper nouns, capitalised words, model names such as "phi-1-small"), numbers and
other content words — with Kiwi for Korean and a word pattern for English, and read for what marks a
follow-up: a leading conjunction (그럼, "and", "what about"), a pronoun or determiner (그것, 그,
"it", "they"), or too few units to stand alone. Then:

* **swap** — a follow-up without a predicate ("그럼 중국은?", "And on MBPP?", "And of germanium?") is
  the previous question with its closest unit replaced: "How big are the chip subsidies in the US
  CHIPS Act?" + "What about China?" → "How big are the chip subsidies in China?". Which unit is
  closest is read from English prepositions ("And on MBPP?") and Korean particles: a new topic
  (은/는) takes the place of the name the question was about or of its subject (이/가), a place or
  means (에서, 에) that of a name that is not its owner (의); a verb with an adnominal ending
  ("걸러낸 웹 데이터") describes a noun and is no predicate;
* **continue** — a follow-up that asks something new ("What was it trained on?", "그럼 몇 스텝 동안
  진행했나?") is asked with the previous question's names ("… phi-1").

Any other question stands alone and is retrieved as it is, history or not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from .lexical import CONTENT_TAGS, Morpheme, analyse

Mode = Literal["standalone", "swap", "continue"]
Closest = Callable[[str, list[str]], int]

_LEADING_EN = re.compile(
    r"^\s*(?:and\s+|but\s+|so\s+)?(?:(?:what|how)\s+about|what\s+of|then|also)\b\s*|^\s*(?:and|but|so)\b\s*", re.I
)
_WORD_EN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.\-&+/]*[A-Za-z0-9%])?(?:'s)?")
_PRONOUNS_EN = frozenset("it its they them their theirs this that these those he she his her him one ones".split())
_ORDINALS_EN = frozenset("first second third fourth fifth sixth seventh eighth ninth tenth last".split())
_PRONOUNS_KO = frozenset("그것 그거 이것 이거 저것 그 이 저 그들 이들 거기 여기 그곳 이곳 그중".split())
_DETERMINERS_KO = frozenset("그 이 저 해당".split())
_QUESTION_KO = frozenset("무엇 뭐 얼마 어디 언제 누구 몇 어떻 어떤 어느 왜".split())
_QUESTION_EN = frozenset("what which who whom whose when where why how".split())
_VERBS_EN = frozenset("is are was were be been do does did has have had can could will would should may might".split())
_FUNCTION_EN = frozenset(
    "a an the of in on at to for from by with and or but as about than then so also into over per".split()
)
_PREDICATE_KO = {"VV", "VA", "XSV", "XSA", "VCP", "VV-R", "VA-R", "VV-I", "VA-I"}
_VERB_CHAIN_KO = _PREDICATE_KO | {"VX", "EP", "EC"}  # what may stand between a verb stem and its last ending
_TOPIC_KO = {"JKS", "JX"}  # 이/가, 은/는: what a sentence is about
_LEADING_KO = {"MAJ", "IC"}  # 그럼, 그러면, 그리고, 또 …
MAX_HISTORY = 20  # earlier questions of a conversation that are read
MAX_SWAP_UNITS = 3  # "And Google's PaLM 2?" swaps; a longer fragment asks something of its own


@dataclass(frozen=True)
class Resolved:
    """A question as it is retrieved: ``query`` is ``question`` itself unless it follows up on history."""

    question: str
    query: str
    mode: Mode = "standalone"
    also: str = ""  # a second reading, retrieved too and fused with ``query``


@dataclass(frozen=True)
class _Unit:
    text: str
    start: int
    end: int
    kind: Literal["name", "number", "word"]
    particle: str = ""  # the Korean case particle right after it (Kiwi's tag: JKS subject, JKB adverbial …)


def resolve(question: str, history: Sequence[str] | None = None, closest: Closest | None = None) -> Resolved:
    """How ``question`` is retrieved after ``history`` (earlier questions of the conversation, oldest first).

    ``closest`` (new words, candidate words → the index of the nearest candidate in meaning) lets a
    follow-up of plain words ("And of germanium?") replace the previous question's nearest word
    ("gallium"); without it such a follow-up continues the previous question.
    """
    if not history:
        return Resolved(question, question)
    # a follow-up of a follow-up builds on its resolution, oldest first; a long conversation is read
    # from its last MAX_HISTORY questions, which bounds the work per question
    previous = history[-MAX_HISTORY:][0]
    for earlier in history[-MAX_HISTORY:][1:]:
        previous = _resolve_after(earlier, previous, closest).query
    return _resolve_after(question, previous, closest)


def _resolve_after(question: str, previous: str, closest: Closest | None) -> Resolved:
    """``question`` read after the (already resolved) ``previous`` question."""
    now = _Reading.of(question)
    if now.standalone:
        return Resolved(question, question)
    before = _Reading.of(previous)
    changed = _changed_number(now, before)
    if changed is not None:
        return Resolved(question, changed, "swap")
    if now.fragment and 0 < len(now.units) <= MAX_SWAP_UNITS:
        target = _target(now, before)
        if target is not None:
            return Resolved(question, _replaced(previous, target, now), "swap")
    names = [u.text for u in before.units if u.kind == "name"]
    context = " ".join(names) or previous
    continued = f"{now.residue} {context}".strip()
    words = before.phrases(len(now.units))
    if now.fragment and 0 < len(now.units) <= MAX_SWAP_UNITS and closest is not None and words:
        group = words[closest(" ".join(u.text for u in now.units), [" ".join(u.text for u in g) for g in words])]
        return Resolved(question, _replaced(previous, (group[0].start, group[-1].end), now), "swap", also=continued)
    return Resolved(question, continued, "continue", also=question)


def _changed_number(now: _Reading, before: _Reading) -> str | None:
    """The previous question with its number replaced, when a follow-up repeats its words but one
    number or ordinal ("And which one ranked second?" after "Which supercomputer ranked first …?")."""
    said = {u.text.lower() for u in before.units}
    new = [u for u in now.units if u.text.lower() not in said]
    numbers = [u for u in before.units if u.kind == "number"]
    if len(new) != 1 or new[0].kind != "number" or len(numbers) != 1 or len(now.units) > MAX_SWAP_UNITS:
        return None
    old, number = numbers[0], new[0]
    return " ".join(f"{before.text[: old.start]}{number.text}{before.text[old.end :]}".split())


def _replaced(previous: str, span: tuple[int, int], now: _Reading) -> str:
    """``previous`` with ``span`` replaced by the follow-up's own words (from its first unit to its last),
    a Korean particle after it agreeing with the new last syllable ("센스타임이" → "바이두가")."""
    replacement = now.text[now.units[0].start : now.units[-1].end]
    head, rest = previous[: span[0]], previous[span[1] :]
    if (
        _ARTICLE_END.search(head)
        and not _ARTICLE_END.search(now.text[: now.units[0].start])
        and replacement[0].isupper()
    ):
        head = _ARTICLE_END.sub("", head)  # "in the US CHIPS Act" + "What about China?" → "in China"
    particle = _PARTICLE_PAIR.match(rest)
    if particle and "\uac00" <= replacement[-1] <= "\ud7a3":
        closed = (ord(replacement[-1]) - 0xAC00) % 28 != 0  # the syllable ends in a consonant
        pair = _PARTICLES[particle.group(1)]
        rest = pair[0 if closed else 1] + rest[1:]
    return " ".join(f"{head}{replacement}{rest}".split())


_ARTICLE_END = re.compile(r"\bthe\s+$", re.I)
_PARTICLES = {p: pair for pair in ("이가", "은는", "을를", "과와") for p in pair}  # after a consonant, a vowel
_PARTICLE_PAIR = re.compile(r"([이가은는을를과와])(?=[\s?.!,]|$)")


def _target(now: _Reading, before: _Reading) -> tuple[int, int] | None:
    """The span of the previous question that a follow-up's name or number replaces, or None.

    A new name replaces, in this order of preference, the old name after the same preposition
    ("And on MBPP?" after "What did phi-1 score on HumanEval?"), the subject (an English name right
    after its auxiliary verb, "does phi-1"; a Korean name with a subject or topic particle,
    "센스타임이"), or the first name. A new number replaces the first number.
    """
    kinds = {u.kind for u in now.units}
    wanted = "name" if "name" in kinds else "number" if kinds == {"number"} else None
    groups = before.groups()
    candidates = [g for g in groups if g[0].kind == wanted]
    particle = now.units[-1].particle
    if wanted == "name" and particle in _TOPIC_KO:
        # a new topic replaces the name the previous question was about (미국이, 미국의), else its
        # subject whatever it is ("그럼 바이두는?" after "센스타임이 … 내놓은 AI 서비스는?")
        marked = [g for g in candidates if g[-1].particle in _TOPIC_KO | {"JKG"}]
        subjects = marked or [g for g in groups if g[-1].particle == "JKS"]
        if subjects:
            return subjects[0][0].start, subjects[0][-1].end
    elif particle == "JKB":
        # "MBPP에서는?" after "phi-1의 HumanEval 점수는?": a place or means (에서, 에, 로) replaces a name
        # that is not the subject, topic or owner of the previous question
        candidates = [g for g in candidates if g[-1].particle not in {"JKS", "JKG", "JX"}] or candidates
    if not candidates:
        return None
    preposition = re.search(
        r"\b(on|in|at|for|from|to|of|by|with|than)\s+(?:the\s+)?$", now.text[: now.units[0].start], re.I
    )
    if preposition:
        word = preposition.group(1).lower()
        cue = re.compile(rf"\b{word}\s+(?:the\s+)?$", re.I)
    else:
        cue = _SUBJECT_BEFORE
    for group in candidates:
        if cue.search(before.text[: group[0].start]) or (
            not preposition and _SUBJECT_AFTER.match(before.text[group[-1].end :])
        ):
            return group[0].start, group[-1].end
    return candidates[0][0].start, candidates[0][-1].end


_SUBJECT_BEFORE = re.compile(rf"\b(?:{'|'.join(sorted(_VERBS_EN))})\s+(?:the\s+)?$", re.I)
_SUBJECT_AFTER = re.compile(r"(?:이|가|은|는)(?:\s|$)")


@dataclass
class _Reading:
    """A question's units after any leading conjunction, and what they say about it standing alone."""

    text: str
    residue: str
    units: list[_Unit]
    referring: bool  # a leading conjunction, a pronoun or a determiner
    predicate: bool  # a verb, an adjective or a question word: it asks something of its own

    @classmethod
    def of(cls, text: str) -> _Reading:
        lead = _LEADING_EN.match(text)
        start = lead.end() if lead and lead.end() < len(text) else 0
        referring = start > 0
        units: list[_Unit] = []
        predicate = False
        covered: list[tuple[int, int]] = []
        for match in _WORD_EN.finditer(text, start):
            word = match.group()
            bare = word.removesuffix("'s")
            lower = bare.lower()
            covered.append(match.span())
            if lower in _PRONOUNS_EN:
                referring = True
            elif lower in _QUESTION_EN or lower in _VERBS_EN:
                predicate = True
            elif bare[0].isdigit() or lower in _ORDINALS_EN:
                units.append(_Unit(bare, match.start(), match.start() + len(bare), "number"))
            elif bare[0].isupper() or any(ch.isdigit() or ch == "-" for ch in bare):
                units.append(_Unit(bare, match.start(), match.start() + len(bare), "name"))
            elif lower not in _FUNCTION_EN and len(lower) > 1:
                units.append(_Unit(bare, match.start(), match.start() + len(bare), "word"))
        everything = analyse(text) if not text.isascii() else []  # Kiwi finds nothing more in ASCII text
        morphemes = [m for m in everything if m.start >= start and not _inside(m.start, covered)]
        if morphemes and (
            morphemes[0].tag in _LEADING_KO
            or (len(morphemes) > 1 and morphemes[0].form == "그렇" and morphemes[1].form.startswith("다"))
        ):
            referring = True
            skip = 1 if morphemes[0].tag in _LEADING_KO else 2
            start = max(start, morphemes[skip - 1].end)
            morphemes = morphemes[skip:]
        for i, m in enumerate(morphemes):
            if (m.tag == "NP" and m.form in _PRONOUNS_KO) or (m.tag == "MM" and m.form in _DETERMINERS_KO):
                referring = True
            elif m.form in _QUESTION_KO or (m.tag in _PREDICATE_KO and not _modifier(morphemes, i)):
                predicate = True
            elif m.tag == "NNP":
                units.append(_Unit(m.form, m.start, m.end, "name"))
            elif m.tag in {"SN", "NR"}:
                units.append(_Unit(m.form, m.start, m.end, "number"))
            elif m.tag in CONTENT_TAGS:
                units.append(_Unit(m.form, m.start, m.end, "word"))
        units.sort(key=lambda u: u.start)
        particles = {m.start: m.tag for m in everything if m.tag.startswith("J")}
        units = [replace(u, particle=particles.get(u.end, "")) for u in units]
        return cls(text, text[start:].strip(), units, referring, predicate)

    @property
    def fragment(self) -> bool:
        """A noun phrase without a predicate: "중국은?", "And on MBPP?", "What about the finetuning?"."""
        return not self.predicate

    @property
    def standalone(self) -> bool:
        """Referring to nothing before it and long enough to be its own question."""
        if self.referring:
            return False
        return len(self.units) >= 3 or (self.predicate and len(self.units) >= 2)

    def groups(self, same_kind: bool = True) -> list[list[_Unit]]:
        """Units of one kind (or of any, ``same_kind=False``) that touch or stand side by side ("US
        CHIPS Act", "합성 교과서") form one phrase."""
        groups: list[list[_Unit]] = []
        for unit in self.units:
            last = groups[-1][-1] if groups else None
            if (
                last
                and (last.kind == unit.kind or not same_kind)
                and re.fullmatch(r"(?:'s)?\s?", self.text[last.end : unit.start])
            ):
                groups[-1].append(unit)
            else:
                groups.append([unit])
        return groups

    def phrases(self, size: int) -> list[list[_Unit]]:
        """Spans of ``size`` side-by-side units (fewer where a phrase is shorter) holding a plain word:
        what a follow-up of ``size`` words may replace ("걸러낸 웹 데이터" → "합성 교과서 데이터")."""
        spans = []
        for group in self.groups(same_kind=False):
            width = min(size, len(group))
            spans += [
                group[i : i + width]
                for i in range(len(group) - width + 1)
                if any(u.kind == "word" for u in group[i : i + width])
            ]
        return spans


def _modifier(morphemes: list[Morpheme], i: int) -> bool:
    """Whether the verb or adjective at ``i`` ends in an adnominal ending ("걸러낸 웹 데이터", "새로 만든
    문제"): it describes a noun and is not what the question asks."""
    for m in morphemes[i + 1 :]:
        if m.tag == "ETM":
            return True
        if m.tag not in _VERB_CHAIN_KO:
            return False
    return False


def _inside(position: int, spans: list[tuple[int, int]]) -> bool:
    return any(start <= position < end for start, end in spans)
