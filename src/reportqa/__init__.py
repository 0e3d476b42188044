"""ReportQA: cited answers to Korean and English questions over a report and its sources."""

from .config import Settings
from .errors import ReportQAError
from .pipeline import BuildReport, ReportQA
from .records import Answer, Chunk, Document, Passage, Quote

__all__ = ["Answer", "BuildReport", "Chunk", "Document", "Passage", "Quote", "ReportQA", "ReportQAError", "Settings"]
__version__ = "0.1.0"
