"""ReportQA: cited answers to Korean and English questions over a report and its sources.

The public names load on first use, so ``reportqa``'s command line starts without numpy and the
models' libraries when a resident process answers for it.
"""

from __future__ import annotations

import importlib

__all__ = ["Answer", "BuildReport", "Chunk", "Document", "Passage", "Quote", "ReportQA", "ReportQAError", "Settings"]
__version__ = "0.1.0"

_HOMES = {
    "Settings": "config",
    "ReportQAError": "errors",
    "ReportQA": "pipeline",
    "BuildReport": "records",
    "Answer": "records",
    "Chunk": "records",
    "Document": "records",
    "Passage": "records",
    "Quote": "records",
}


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module 'reportqa' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
