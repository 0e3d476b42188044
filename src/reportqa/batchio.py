"""Reading batch questions (.jsonl, .csv, .txt) and writing answers (.jsonl, .csv) as a stream.

Input order is kept; a malformed line becomes a ``BadLine`` that the runner reports and skips.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import BatchInputError, QuestionError

if TYPE_CHECKING:
    from .pipeline import ReportQA

GROUP = 32

CSV_FIELDS = [
    "id",
    "question",
    "answer",
    "abstained",
    "rank",
    "text",
    "doc",
    "title",
    "section",
    "page",
    "score",
    "citation",
]


@dataclass(frozen=True)
class BatchQuestion:
    id: str
    question: str
    extra: dict


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: str


def read_questions(path: Path) -> Iterator[BatchQuestion | BadLine]:
    """Yield questions in file order; ids default to the 1-based line (or row) number."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".csv", ".txt"):
        raise BatchInputError(f"{path.name}: batch input must be .jsonl, .csv or .txt")
    try:
        handle = open(path, encoding="utf-8-sig", newline="")
    except OSError as e:
        raise BatchInputError(f"{path}: cannot open ({e.strerror})") from e
    with handle:
        try:
            if suffix == ".jsonl":
                yield from _read_jsonl(handle)
            elif suffix == ".csv":
                yield from _read_csv(handle, path)
            else:
                for number, line in enumerate(handle, 1):
                    if line.strip():
                        yield BatchQuestion(str(number), line.strip(), {})
        except UnicodeDecodeError as e:
            raise BatchInputError(f"{path.name}: not UTF-8 text ({e.reason})") from e


def _read_jsonl(handle) -> Iterator[BatchQuestion | BadLine]:
    for number, line in enumerate(handle, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as e:
            yield BadLine(number, f"not valid JSON ({e.msg})")
            continue
        if not isinstance(record, dict):
            yield BadLine(number, "not a JSON object")
            continue
        question = record.get("question")
        if not isinstance(question, str) or not question.strip():
            yield BadLine(number, "missing or empty 'question'")
            continue
        qid = record.get("id", number)
        extra = {k: v for k, v in record.items() if k not in ("id", "question")}
        yield BatchQuestion(str(qid), question, extra)


def _read_csv(handle, path: Path) -> Iterator[BatchQuestion | BadLine]:
    reader = csv.DictReader(handle)
    if not reader.fieldnames or "question" not in reader.fieldnames:
        raise BatchInputError(f"{path.name}: CSV needs a 'question' column")
    for number, row in enumerate(reader, 2):
        question = (row.get("question") or "").strip()
        if not question:
            yield BadLine(number, "empty 'question'")
            continue
        yield BatchQuestion(str(row.get("id") or number - 1), question, {})


def finished_ids(path: Path) -> set[str]:
    """Ids already written to a batch output (for ``--resume``); a torn last line is ignored."""
    path = Path(path)
    if not path.exists():
        return set()
    with open(path, encoding="utf-8", newline="") as handle:
        if path.suffix.lower() == ".csv":
            return {row["id"] for row in csv.DictReader(handle) if row.get("id")}
        ids = set()
        for line in handle:
            try:
                ids.add(str(json.loads(line)["id"]))
            except (ValueError, KeyError, TypeError):
                continue
        return ids


class AnswerWriter:
    """Writes one answer at a time, flushed, so a partial run keeps what it finished."""

    def __init__(self, path: Path, append: bool = False):
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in (".jsonl", ".csv"):
            raise BatchInputError(f"{self.path.name}: batch output must be .jsonl or .csv")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        resuming = append and self.path.exists() and self.path.stat().st_size > 0
        if resuming and suffix == ".jsonl":
            _drop_torn_last_line(self.path)
        self._handle = open(self.path, "a" if resuming else "w", encoding="utf-8", newline="")
        self._csv = csv.DictWriter(self._handle, fieldnames=CSV_FIELDS) if suffix == ".csv" else None
        if self._csv and not resuming:
            self._csv.writeheader()

    def write(self, record: dict) -> None:
        if self._csv is None:
            self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            base = {k: record[k] for k in ("id", "question", "answer", "abstained")}
            for passage in record["passages"] or [{}]:
                self._csv.writerow({**base, **{k: passage.get(k, "") for k in CSV_FIELDS[4:]}})
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> AnswerWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _drop_torn_last_line(path: Path) -> None:
    """A run killed mid-write can leave half a line; cut it so appended lines stay valid JSON."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


@dataclass
class BatchSummary:
    answered: int = 0
    skipped: int = 0
    already_done: int = 0


def run_batch(
    qa: ReportQA,
    source: Path,
    out: Path,
    top_k: int | None = None,
    resume: bool = False,
    on_skip: Callable[[str], None] = lambda message: None,
) -> BatchSummary:
    """Answer every question of ``source`` into ``out``, streaming: memory stays bounded by one group.

    With ``resume``, ids already in ``out`` are not asked again and new answers are appended.
    """
    from .pipeline import clean_question

    summary = BatchSummary()
    done = finished_ids(out) if resume else set()
    pending: list[BatchQuestion] = []
    with AnswerWriter(out, append=resume) as writer:

        def flush() -> None:
            for item, answer in zip(pending, qa.batch([q.question for q in pending], top_k=top_k)):
                answer.id = item.id
                writer.write(answer.to_dict())
                summary.answered += 1
            pending.clear()

        for item in read_questions(source):
            if isinstance(item, BadLine):
                on_skip(f"line {item.line}: {item.reason}")
                summary.skipped += 1
                continue
            if item.id in done:
                summary.already_done += 1
                continue
            try:
                clean_question(item.question)
            except QuestionError as e:
                on_skip(f"id {item.id}: {e}")
                summary.skipped += 1
                continue
            pending.append(item)
            if len(pending) >= GROUP:
                flush()
        if pending:
            flush()
    return summary
