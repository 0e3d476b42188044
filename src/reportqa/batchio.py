"""Reading batch questions (.jsonl, .csv, .txt) and writing answers (.jsonl, .csv) as a stream.

Input order is kept; a malformed line becomes a ``BadLine`` that the runner reports and skips.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import BatchInputError

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


class AnswerWriter:
    """Writes one answer at a time, flushed, so a partial run keeps what it finished."""

    def __init__(self, path: Path):
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in (".jsonl", ".csv"):
            raise BatchInputError(f"{self.path.name}: batch output must be .jsonl or .csv")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.path, "w", encoding="utf-8", newline="")
        self._csv = csv.DictWriter(self._handle, fieldnames=CSV_FIELDS) if suffix == ".csv" else None
        if self._csv:
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
