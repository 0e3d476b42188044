"""JSON lines read one row at a time: a memory-mapped file and the byte offset of each line.

An index of a million chunks holds a gigabyte of chunk text and token lists; parsing all of it takes
longer than answering thousands of questions, and a question reads a few dozen rows. ``JsonLines``
parses a row when it is asked for (keeping the most recent ones), so opening costs nothing per row.
The file stays mapped, so its rows stay readable after a newer build deletes the version.
"""

from __future__ import annotations

import json
import mmap
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np

from ..errors import IndexCorruptError

T = TypeVar("T")
CACHED_ROWS = 4096


def write_lines(path: Path, rows: Iterable[object], encode: Callable[[object], object]) -> np.ndarray:
    """Write one JSON line per row and return the ``n + 1`` byte offsets of the lines' starts and the end."""
    offsets = [0]
    with open(path, "wb") as f:
        for row in rows:
            line = json.dumps(encode(row), ensure_ascii=False).encode("utf-8") + b"\n"
            f.write(line)
            offsets.append(offsets[-1] + len(line))
        f.flush()
        os.fsync(f.fileno())
    return np.array(offsets, dtype=np.int64)


class JsonLines(Sequence, Generic[T]):
    """Row ``i`` of a JSON-lines file, decoded by ``decode`` on first use."""

    def __init__(self, path: Path, offsets: np.ndarray, decode: Callable[[object], T]):
        size = path.stat().st_size
        offsets = np.asarray(offsets)
        if (
            offsets.ndim != 1
            or not len(offsets)
            or offsets[0] != 0
            or offsets[-1] != size
            or (len(offsets) > 1 and np.any(np.diff(offsets) <= 0))
        ):
            raise ValueError(f"{path.name}: line offsets do not match the file")
        self.path = path
        self._offsets = offsets
        self._decode = decode
        self._recent: OrderedDict[int, T] = OrderedDict()
        self._map: mmap.mmap | bytes = b""
        if size:
            with open(path, "rb") as f:
                self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        i = int(index)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(index)
        row = self._recent.get(i)
        if row is None:
            row = self._row(i)
            self._recent[i] = row
            if len(self._recent) > CACHED_ROWS:
                self._recent.popitem(last=False)
        else:
            self._recent.move_to_end(i)
        return row

    def __iter__(self) -> Iterator[T]:
        for i in range(len(self)):  # not cached: a full pass would only push the useful rows out
            yield self._recent.get(i) or self._row(i)

    def _row(self, i: int) -> T:
        start, end = int(self._offsets[i]), int(self._offsets[i + 1])
        try:
            return self._decode(json.loads(self._map[start:end]))
        except (ValueError, TypeError, KeyError, RecursionError) as e:
            raise IndexCorruptError(
                f"index file {self.path.name} in {self.path.parent} is damaged at line {i + 1} "
                f"({type(e).__name__}): run 'reportqa build --force'"
            ) from e
