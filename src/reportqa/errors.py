"""Errors the shells turn into one-line messages; each says what failed and how to fix it."""

import unicodedata

_UNPRINTABLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def printable(name: str) -> str:
    """``name`` with control characters escaped (``\\n``, ``\\x1b``), so a message naming it stays one line."""
    return "".join(ascii(ch)[1:-1] if unicodedata.category(ch) in _UNPRINTABLE else ch for ch in name)


class ReportQAError(Exception):
    """Base class: anything the CLI prints as ``error: …`` and exits non-zero for."""


class ModelError(ReportQAError):
    """The encoder could not be loaded or converted."""


class IndexMissingError(ReportQAError):
    """No index at the given path."""


class IndexMismatchError(ReportQAError):
    """The index was built with another model or chunker settings."""


class IndexLockedError(ReportQAError):
    """Another build holds the index's lock."""


class IndexCorruptError(ReportQAError):
    """An index file is missing or damaged."""


class DocumentError(ReportQAError):
    """A document could not be read; ingestion skips it and reports why."""


class QuestionError(ReportQAError):
    """The question is empty or unusable."""


class BatchInputError(ReportQAError):
    """The batch input file cannot be read at all."""


class BuildCancelled(ReportQAError):
    """A build or add was cancelled (from the web page); nothing it did was kept."""
