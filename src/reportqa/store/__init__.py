"""The index: its content in memory (``data``), on disk (``format``) and what searching builds (``search``)."""

from .data import Features, IndexData
from .format import (
    CURRENT,
    FORMAT_VERSION,
    BuildLock,
    IndexStore,
    current_version,
    file_checksums,
    read_manifest,
    verify,
)
from .search import ANN_LISTS, ANN_PROBES, SearchIndex, build_ivf

__all__ = [
    "ANN_LISTS",
    "ANN_PROBES",
    "CURRENT",
    "FORMAT_VERSION",
    "BuildLock",
    "Features",
    "IndexData",
    "IndexStore",
    "SearchIndex",
    "build_ivf",
    "current_version",
    "file_checksums",
    "read_manifest",
    "verify",
]
