"""Reading batch questions (.jsonl, .csv, .txt) and writing answers (.jsonl, .csv) as a stream.

Input order is kept; a malformed line becomes a ``BadLine`` that the runner reports and skips.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .answerer import clean_question
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


CSV_INPUT_FIELDS = ("id", "question", "conversation")


@dataclass(frozen=True)
class BatchQuestion:
    id: str
    question: str
    extra: dict
    line: int = 0  # where it stands in the file (a CSV's data rows count from 2)


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: str


def read_questions(path: Path, as_jsonl: bool = False) -> Iterator[BatchQuestion | BadLine]:
    """Yield questions in file order; ids default to the 1-based line (or row) number.

    Each line is judged alone: bytes that are not UTF-8, JSON nested past Python's recursion limit
    or a CSV field over the csv module's limit make that line a ``BadLine``, never the whole file.
    ``as_jsonl`` reads any file as JSON lines (``reportqa eval``'s question sets).
    """
    path = Path(path)
    suffix = ".jsonl" if as_jsonl else path.suffix.lower()
    if suffix not in (".jsonl", ".csv", ".txt"):
        raise BatchInputError(f"{path.name}: batch input must be .jsonl, .csv or .txt")
    try:
        raw = open(path, "rb")
    except OSError as e:
        raise BatchInputError(f"{path}: cannot open ({e.strerror})") from e
    # bytes that are not UTF-8 come through as lone surrogates, found per line by ``_undecodable``
    with io.TextIOWrapper(raw, **_decoding(raw.peek(2)[:2]), newline="") as handle:
        if suffix == ".jsonl":
            yield from _read_jsonl(handle)
        elif suffix == ".csv":
            yield from _read_csv(handle, path)
        else:
            for number, line in enumerate(handle, 1):
                if _undecodable(line):
                    yield BadLine(number, NOT_UTF8)
                elif line.strip():
                    yield BatchQuestion(str(number), line.strip(), {}, number)


NOT_UTF8 = "not UTF-8 text"


def _decoding(start: bytes) -> dict[str, str]:
    """UTF-8 (with or without a byte-order mark), or UTF-16 where the file begins with its mark: what
    spreadsheet programs save as "Unicode text". Broken UTF-16 is shown as U+FFFD, not skipped."""
    if start in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return {"encoding": "utf-16", "errors": "replace"}
    return {"encoding": "utf-8-sig", "errors": "surrogateescape"}


def _undecodable(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _read_jsonl(handle) -> Iterator[BatchQuestion | BadLine]:
    for number, line in enumerate(handle, 1):
        if not line.strip():
            continue
        if _undecodable(line):
            yield BadLine(number, NOT_UTF8)
            continue
        try:
            record = json.loads(line)
        except ValueError as e:
            yield BadLine(number, f"not valid JSON ({getattr(e, 'msg', str(e)[:60])})")
            continue
        except RecursionError:
            yield BadLine(number, "JSON nested too deeply")
            continue
        if not isinstance(record, dict):
            yield BadLine(number, "not a JSON object")
            continue
        question = record.get("question")
        if not isinstance(question, str) or not question.strip():
            yield BadLine(number, "missing or empty 'question'")
            continue
        qid = record.get("id", number)
        if isinstance(qid, bool) or not isinstance(qid, str | int | float):
            yield BadLine(number, "'id' must be text or a number")
            continue
        extra = {k: v for k, v in record.items() if k not in ("id", "question")}
        yield BatchQuestion(str(qid), question, extra, number)


def _read_csv(handle, path: Path) -> Iterator[BatchQuestion | BadLine]:
    """Rows of a CSV whose header names a ``question`` column (and maybe ``id``, ``conversation``):
    spreadsheets write "Question" or " id ", and in some locales separate fields with ";" or a tab,
    which the header line shows."""
    header = handle.readline()
    delimiter = max(",;\t", key=header.count)
    reader = csv.DictReader(itertools.chain([header], handle), delimiter=delimiter)
    try:
        fieldnames = list(reader.fieldnames or ())
    except csv.Error as e:
        raise BatchInputError(f"{path.name}: unreadable CSV header ({e})") from e
    loose = [name.strip().lower() for name in fieldnames]
    for wanted in CSV_INPUT_FIELDS:
        if wanted not in fieldnames and wanted in loose:
            fieldnames[loose.index(wanted)] = wanted
    reader.fieldnames = fieldnames
    if "question" not in fieldnames:
        raise BatchInputError(f"{path.name}: CSV needs a 'question' column")
    rows = iter(reader)
    number = 1
    while True:
        number += 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as e:  # the reader goes on with the next line
            yield BadLine(number, f"unreadable CSV row ({e})")
            continue
        question = row.get("question")
        question = question.strip() if isinstance(question, str) else ""
        if any(_undecodable(value) for value in row.values() if isinstance(value, str)):
            yield BadLine(number, NOT_UTF8)
        elif not question:
            yield BadLine(number, "empty 'question'")
        else:
            conversation = row.get("conversation")
            extra = {"conversation": conversation} if isinstance(conversation, str) and conversation else {}
            yield BatchQuestion(str(row.get("id") or number - 1), question, extra, number)


def finished_ids(path: Path) -> set[str]:
    """Ids already written to a batch output (for ``--resume``); a torn last line is ignored.

    A whole JSONL line that is no answer record means the file is not one ``batch`` wrote:
    ``BatchInputError``, since appending to it would leave a file that is neither.
    """
    path = Path(path)
    if not path.exists():
        return set()
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        if path.suffix.lower() == ".csv":
            return {_formula_restored(row["id"]) for row in csv.DictReader(handle) if row.get("id")}
        ids = set()
        for number, line in enumerate(handle, 1):
            try:
                ids.add(str(json.loads(line)["id"]))
            except (ValueError, KeyError, TypeError, RecursionError):
                if line.strip() and line.endswith("\n"):  # a torn last line has no line end yet
                    raise BatchInputError(
                        f"{path}: line {number} is not an answer record, so --resume cannot continue it "
                        "(choose another --out)"
                    ) from None
        return ids


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: object) -> object:
    """A CSV cell that a spreadsheet will not run as a formula: text beginning with ``= + - @``, tab or
    CR gets a leading ``'`` (OWASP's advice for CSV injection). JSONL output stays verbatim."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _formula_restored(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


def partial_path(out: Path) -> Path:
    """Where a batch writes until it has answered everything; renamed to ``out`` at the end."""
    out = Path(out)
    return out.with_name(f"{out.stem}.partial{out.suffix}")


class AnswerWriter:
    """Writes one answer at a time, flushed, so a partial run keeps what it finished.

    A fresh run writes ``OUT``'s ``partial_path`` and renames it to ``OUT`` when ``commit`` is called, so an
    earlier ``OUT`` is replaced only by a complete one; ``append`` continues an existing file in place.
    """

    def __init__(self, path: Path, append: bool = False):
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in (".jsonl", ".csv"):
            raise BatchInputError(f"{self.path.name}: batch output must be .jsonl or .csv")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        resuming = append and self.path.exists() and self.path.stat().st_size > 0
        if resuming and suffix == ".jsonl":
            _drop_torn_last_line(self.path)
        self.writing = self.path if append else partial_path(self.path)
        self._handle = open(self.writing, "a" if resuming else "w", encoding="utf-8", newline="")
        self._csv = csv.DictWriter(self._handle, fieldnames=CSV_FIELDS) if suffix == ".csv" else None
        if self._csv and not resuming:
            self._csv.writeheader()

    def write(self, record: dict) -> None:
        if self._csv is None:
            self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            base = {k: record[k] for k in ("id", "question", "answer", "abstained")}
            for passage in record["passages"] or [{}]:
                row = {**base, **{k: passage.get(k, "") for k in CSV_FIELDS[4:]}}
                self._csv.writerow({k: neutralised(v) for k, v in row.items()})
        self._handle.flush()

    def commit(self, final: Path) -> None:
        """Close, and put what was written at ``final``."""
        self.close()
        if self.writing != final:
            os.replace(self.writing, final)

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

    With ``resume``, ids already in ``out`` are not asked again and new answers are appended. Lines
    with the same ``conversation`` value are one conversation: each is answered with the questions
    of that conversation above it as its history (a follow-up such as "What about China?").
    """
    source, out = Path(source), Path(out)
    if _same_file(source, out) or _same_file(source, partial_path(out)):
        raise BatchInputError(f"{out}: the output would overwrite the input; choose another --out")
    summary = BatchSummary()
    # --resume continues an interrupted run's partial output if there is one, else OUT itself, in place
    target = partial_path(out) if resume and partial_path(out).exists() else out
    done = finished_ids(target) if resume else set()
    pending: list[BatchQuestion] = []
    histories: list[list[str]] = []
    conversations: dict[str, list[str]] = {}
    questions = read_questions(source)
    next_item = next(questions, None)  # the input's own errors (type, CSV header) before any output exists
    with AnswerWriter(target, append=resume) as writer:

        def flush() -> None:
            answers = qa.batch([q.question for q in pending], top_k=top_k, histories=list(histories))
            for item, answer in zip(pending, answers):
                answer.id = item.id
                writer.write(answer.to_dict())
                summary.answered += 1
            pending.clear()
            histories.clear()

        for item in itertools.chain([next_item] if next_item is not None else [], questions):
            if isinstance(item, BadLine):
                on_skip(f"line {item.line}: {item.reason}")
                summary.skipped += 1
                continue
            conversation = item.extra.get("conversation")
            earlier: list[str] = []
            if isinstance(conversation, str | int) and not isinstance(conversation, bool):
                earlier = conversations.setdefault(str(conversation), [])
            history = list(earlier)
            if item.id in done:
                earlier.append(item.question)
                summary.already_done += 1
                continue
            try:
                clean_question(item.question)
            except QuestionError as e:
                on_skip(f"id {item.id}: {e}")
                summary.skipped += 1
                continue
            earlier.append(item.question)
            pending.append(item)
            histories.append(history)
            if len(pending) >= GROUP:
                flush()
        if pending:
            flush()
        writer.commit(out)
    return summary


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False
