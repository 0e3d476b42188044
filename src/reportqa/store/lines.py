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
import weakref
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
            if hasattr(mmap, "MADV_RANDOM"):  # a row here and a row there: no read-ahead around each
                self._map.madvise(mmap.MADV_RANDOM)

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


class RowFile:
    """Rows of a saved ``.npy`` matrix read by ``pread``: a question's few hundred rows are copied out
    and nothing stays mapped (the kernel maps a whole large page-cache folio on each touch of a
    memory map, so a server reading scattered rows through one would soon map whole files)."""

    def __init__(self, array: np.memmap):
        self._fd = os.open(array.filename, os.O_RDONLY)  # held: readable after a newer build deletes the file
        weakref.finalize(self, os.close, self._fd)
        self.offset, self.dtype, self.dim = int(array.offset), array.dtype, int(array.shape[1])
        self.rows = len(array)
        self.row_bytes = self.dim * self.dtype.itemsize

    def take(self, rows: np.ndarray) -> np.ndarray:
        """The matrix's ``rows``, in the order given; each run of consecutive rows is one read."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.dim), self.dtype)
        if not len(rows):
            return out
        if rows.min() < 0 or rows.max() >= self.rows:
            raise IndexError("row out of range")
        buffer = memoryview(out).cast("B")
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        for start, end in zip(np.r_[0, breaks].tolist(), np.r_[breaks, len(rows)].tolist()):
            size = (end - start) * self.row_bytes
            got = os.preadv(
                self._fd,
                [buffer[start * self.row_bytes : end * self.row_bytes]],
                self.offset + int(rows[start]) * self.row_bytes,
            )
            if got != size:
                raise OSError(f"short read of {size} bytes")
        return out
