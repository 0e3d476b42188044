"""hit@1, hit@k, MRR@10 and abstention per language — the definition of ``shared/eval/score.py`` —
and answer@1, the share of answerable questions whose first quoted sentence holds the evidence.

A passage answers a question when its text contains one of the evidence strings, both sides with
runs of whitespace collapsed to one space; a quote, likewise. An empty evidence list marks an
unanswerable question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    lang: str
    question: str
    evidence: tuple[str, ...]


@dataclass
class LangScore:
    n: int = 0
    hit1: int = 0
    hitk: int = 0
    mrr: float = 0.0
    answer1: int = 0
    quoted: bool = False  # whether the results carried first quotes (answer@1 is reported then)
    unanswerable: int = 0
    abstained_ok: int = 0
    false_abstain: int = 0
    passage_chars: list[int] = field(default_factory=list)

    def row(self, k: int) -> dict:
        n = max(self.n, 1)
        return {
            "n": self.n,
            "hit@1": self.hit1 / n,
            f"hit@{k}": self.hitk / n,
            "mrr@10": self.mrr / n,
            **({"answer@1": self.answer1 / n} if self.quoted else {}),
            "abstain_ok": f"{self.abstained_ok}/{self.unanswerable}",
            "false_abstain": self.false_abstain,
            "mean_passage_chars": round(sum(self.passage_chars) / max(len(self.passage_chars), 1)),
        }


def eval_question(key: str, question: str, fields: dict) -> EvalQuestion:
    """A question of a ``shared/eval`` file ({"id", "lang", "question", "evidence"}) as read by the
    batch reader, under ``key`` (its place in the file, so a missing or repeated id costs nothing).
    One evidence string may be given without its list; ValueError says why a record cannot be scored."""
    evidence = fields.get("evidence", [])
    evidence = [evidence] if isinstance(evidence, str) else evidence
    if not isinstance(evidence, list) or not all(isinstance(e, str) for e in evidence):
        raise ValueError("'evidence' must be a list of strings")
    lang = fields.get("lang")
    return EvalQuestion(key, lang if isinstance(lang, str) else "?", question, tuple(evidence))


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def first_hit(passage_texts: list[str], evidence: tuple[str, ...]) -> int | None:
    wanted = [squash(e) for e in evidence]
    for rank, text in enumerate(passage_texts, 1):
        flat = squash(text)
        if any(e in flat for e in wanted):
            return rank
    return None


def score(questions: list[EvalQuestion], results: dict[str, tuple], k: int = 5) -> dict[str, dict]:
    """``results`` maps question id → (passage texts best first, abstained[, first quoted sentence or None]).
    Returns rows per language + 'all'; with first quotes given, rows also hold answer@1."""
    by_lang: dict[str, LangScore] = {}
    total = LangScore()
    for q in questions:
        texts, abstained, *quote = results.get(q.id, ([], False))
        for s in (by_lang.setdefault(q.lang, LangScore()), total):
            s.quoted = s.quoted or bool(quote)
            s.passage_chars.extend(len(t) for t in texts[:k])
            if not q.evidence:
                s.unanswerable += 1
                s.abstained_ok += abstained
                continue
            s.n += 1
            s.false_abstain += abstained
            rank = first_hit(texts, q.evidence)
            s.hit1 += rank == 1
            s.hitk += bool(rank and rank <= k)
            s.mrr += 1.0 / rank if rank and rank <= 10 else 0.0
            s.answer1 += bool(quote and quote[0] and not abstained and first_hit([quote[0]], q.evidence))
    rows = {lang: s.row(k) for lang, s in sorted(by_lang.items())}
    rows["all"] = total.row(k)
    return rows
