"""What this machine offers and how to be a good neighbour on it: GPU checks, BLAS threads, freed memory."""

from __future__ import annotations

import ctypes
import functools
import os
from pathlib import Path


def gpu_driver_present() -> bool:
    """Whether a CUDA GPU may be there, known without importing torch (slow to import on a GPU machine)."""
    return Path("/proc/driver/nvidia/version").exists() or bool(os.environ.get("CUDA_VISIBLE_DEVICES"))


@functools.lru_cache(maxsize=1)
def cuda_available() -> bool:
    """True when a CUDA GPU can be used; checks the driver before paying for importing torch."""
    if not gpu_driver_present():
        return False
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


def one_blas_thread():
    """A context in which numpy's matrix products run on one BLAS thread.

    A question's products are small, and BLAS threads left spinning after one take the cores that
    e5 and USE need next (bench/README.md, "Where the time goes"). threadpoolctl lets one thread at a time set
    the limit and hands that right on when its block ends, so the block must begin and end in the
    same thread.
    """
    return _blas_controller().limit(limits=1, user_api="blas")


@functools.lru_cache(maxsize=1)
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # finds the BLAS libraries once, not at every limit


def return_free_memory() -> None:
    """Hand freed heap pages back to the system (glibc only). A document's arrays are small enough
    to live in the heap, so without this their freed pages stay in the process and the joined
    arrays, mapped afresh, come on top of them."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
