"""Embedding tables read row by row: a question needs a few dozen rows of a table, not the table.

e5's word table (96 MB) and USE's (65 MB) are most of what a cold question would load and keep.
Rows are read with ``pread``: memory-mapping the file would map whole page-cache folios (up to
megabytes) for each row touched. Once a process has asked for many rows (a build embeds
thousands of texts) the table is read whole, once, and indexed in memory from then on.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from .errors import ModelError

# rows read one by one before the whole table is read instead: at a few microseconds a row, about
# what reading a 100 MB table costs once
WHOLE_AFTER_ROWS = 20_000


class TableRows:
    """The rows of a 2-D ``.npy`` table, indexed like an array (``rows[ids]``) without loading it."""

    def __init__(self, path: Path, whole_after: int = WHOLE_AFTER_ROWS):
        self.path = Path(path)
        with open(self.path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(f)
            self._offset = f.tell()
        if len(shape) != 2 or fortran_order:
            raise ValueError(f"{self.path}: not a 2-D row-major table")
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(dtype)
        self._row_bytes = self.shape[1] * self.dtype.itemsize
        expected, size = self._offset + self.shape[0] * self._row_bytes, self.path.stat().st_size
        if size != expected:  # a cut-short copy would fail only at a rare row
            raise ModelError(
                f"{self.path} is damaged ({size} bytes, not {expected}): "
                f"delete {self.path.parent} and it is made again on next use"
            )
        self._whole_after = whole_after
        self._asked = 0
        self._whole: np.ndarray | None = None
        self._lock = threading.Lock()

    def __getitem__(self, ids: np.ndarray) -> np.ndarray:
        """Rows ``ids`` (an integer array of any shape) as an array of shape ``ids.shape + (width,)``."""
        ids = np.asarray(ids)
        if ids.size and (ids.min() < 0 or ids.max() >= self.shape[0]):
            raise IndexError(f"row ids outside 0..{self.shape[0] - 1} of {self.path.name}")
        whole = self._whole if self._whole is not None else self._count(ids.size)
        if whole is not None:
            return whole[ids]
        used, positions = np.unique(ids, return_inverse=True)
        rows = np.empty((len(used), self.shape[1]), self.dtype)
        with open(self.path, "rb", buffering=0) as f:
            fd = f.fileno()
            for k, row in enumerate(used.tolist()):
                rows[k] = np.frombuffer(os.pread(fd, self._row_bytes, self._offset + row * self._row_bytes), self.dtype)
        return rows[positions.reshape(ids.shape)]

    def _count(self, asked: int) -> np.ndarray | None:
        with self._lock:
            self._asked += asked
            if self._whole is None and self._asked > self._whole_after:
                count = self.shape[0] * self.shape[1]
                whole = np.fromfile(self.path, self.dtype, count=count, offset=self._offset)
                self._whole = whole.reshape(self.shape)
            return self._whole
