"""Worker processes for a build's CPU side: BM25 tokens, and USE vectors when e5 runs on a GPU.

With e5 on a GPU, a document's e5 pass takes a fraction of the time its USE pass and Kiwi
tokenising take on a core, and both hold Python's interpreter lock for much of it, so threads of
one process cannot share that work out. Each worker process loads USE and Kiwi once and takes
whole documents, so the GPU embeds one document while the cores work on the ones before it.
The vectors are the same as the in-process path's: each document's USE pass runs on one thread.

On a CPU, one worker runs Kiwi alone (see ``auto_processes``): loading its model holds the
interpreter lock for a second, long enough to stall e5's runs on both cores, while in a worker
started with the first document it loads on a core that the reading leaves idle.

Workers are ``python`` children running ``serve``, fed pickled jobs over their pipes
rather than a ``multiprocessing`` pool, which would re-run the calling script's top level in every
child when that script lacks an ``if __name__ == "__main__"`` guard. A worker ends when its pipe
closes, so none outlives an interrupted build.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future

import numpy as np

from .encoder import load_aux_encoder, vectors_with_spans
from .errors import ReportQAError
from .lexical import load_tokenizer, tokenize

logger = logging.getLogger(__name__)

SideFeatures = tuple[list[list[str]], np.ndarray, np.ndarray]
"""BM25 tokens of each text, USE vectors of the texts and of the spans (zero-width arrays without USE)."""

TOKENS_ONLY = "none"  # the second encoder a Kiwi-only worker loads: none

MAX_PROCESSES = 16  # each holds Kiwi's and USE's models; past this the GPU is the bound
_WORKER = "import sys; from reportqa.side_processes import serve; serve(sys.argv[1], sys.argv[2] or None)"
_ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def auto_processes(setting: int, gpu: bool) -> tuple[int, bool]:
    """(worker processes, whether they run USE too) for a build; ``setting`` is ``build_processes``.

    Automatic (-1): beside a GPU, one per core but the GPU's feeder, each with USE and Kiwi; on a
    CPU, one for Kiwi alone, while USE runs on a thread here (its numpy kernels let go of the lock).
    """
    if setting >= 0:
        return setting, setting > 0
    if not gpu:
        return 1, False
    return min(MAX_PROCESSES, max(0, (os.cpu_count() or 1) - 1)), True


class SidePool:
    """Up to ``processes`` worker processes; ``submit`` hands a document's texts to the next free one.

    A worker starts with each document submitted until there are ``processes`` of them, so adding
    one file starts one worker, not one per core (each loads the models).
    """

    def __init__(self, processes: int, aux_name: str, cache_dir: str | None):
        self.runs_aux = aux_name not in ("", TOKENS_ONLY)
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._most, self._submitted = processes, 0
        self._command = [sys.executable, "-c", _WORKER, aux_name, cache_dir or ""]
        self._started, self._busy, self._done = time.perf_counter(), [0.0] * processes, [0] * processes
        self._children: list[subprocess.Popen] = []
        self._feeders: list[threading.Thread] = []

    def submit(self, texts: list[str], spans: list[tuple[int, int, int]]) -> Future:
        """A future of ``side_features(texts, spans)`` computed in a worker."""
        self._submitted += 1
        if len(self._children) < min(self._most, self._submitted):
            self._start_worker()
        future: Future = Future()
        self._jobs.put((future, (texts, spans)))
        return future

    def warm(self) -> None:
        """Start the first worker now, so that it loads its models while the documents are read."""
        if not self._children:
            self._start_worker()

    def _start_worker(self) -> None:
        env = os.environ | _ONE_THREAD  # the processes share the cores: one BLAS thread each
        child = subprocess.Popen(self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        feeder = threading.Thread(target=self._feed, args=(len(self._children), child), daemon=True)
        self._children.append(child)
        self._feeders.append(feeder)
        feeder.start()

    def close(self) -> None:
        """Cancel what no worker has started, let the running jobs finish, end the workers."""
        while True:
            try:
                future, _ = self._jobs.get_nowait()
            except queue.Empty:
                break
            future.cancel()
        for _ in self._feeders:
            self._jobs.put(None)
        for feeder in self._feeders:
            feeder.join()
        for child in self._children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        wall = time.perf_counter() - self._started
        logger.info(
            "%d build worker processes: %d documents, busy %.0f%% of %.1f s",
            len(self._children),
            sum(self._done),
            100 * sum(self._busy) / max(wall * len(self._children), 1e-9),
            wall,
        )

    def __enter__(self) -> SidePool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _feed(self, index: int, child: subprocess.Popen) -> None:
        """Pass jobs to ``child`` one at a time; a dead worker fails its job and every later one it takes."""
        failure: str | None = None
        with child.stdin, child.stdout:
            while (job := self._jobs.get()) is not None:
                future, payload = job
                if not future.set_running_or_notify_cancel():
                    continue
                if failure is None:
                    started = time.perf_counter()
                    try:
                        pickle.dump(payload, child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                        child.stdin.flush()
                        status, result = pickle.load(child.stdout)
                    except (OSError, EOFError, pickle.UnpicklingError):
                        with contextlib.suppress(subprocess.TimeoutExpired):
                            child.wait(timeout=5)
                        failure = f"a build worker process stopped (exit status {child.returncode})"
                    else:
                        self._busy[index] += time.perf_counter() - started
                        self._done[index] += 1
                        if status == "ok":
                            future.set_result(result)
                            continue
                        failure = f"a build worker process failed: {result}"
                future.set_exception(ReportQAError(failure))


_aux = None


def side_features(texts: list[str], spans: list[tuple[int, int, int]]) -> SideFeatures:
    """Kiwi tokens of ``texts``, and USE vectors of them and of ``spans`` (row, start, end) within them."""
    return [tokenize(text) for text in texts], *vectors_with_spans(_aux, texts, spans)


def serve(aux_name: str, cache_dir: str | None) -> None:
    """A worker: load the models, then answer each pickled job on stdin with a pickled result on stdout."""
    global _aux
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the build's to handle; the closed pipe ends us
    jobs, results = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # anything printed must not land in the results pipe
    try:
        _aux = load_aux_encoder(aux_name, cache_dir)
        load_tokenizer()
        broken = None
    except Exception as e:  # noqa: BLE001 - reported to the build, which fails with it
        broken = f"{type(e).__name__}: {e}"
    while True:
        try:
            texts, spans = pickle.load(jobs)
        except EOFError:
            return
        try:
            reply = ("error", broken) if broken else ("ok", side_features(texts, spans))
        except Exception as e:  # noqa: BLE001 - reported to the build, which fails with it
            reply = ("error", f"{type(e).__name__}: {e}")
        pickle.dump(reply, results, protocol=pickle.HIGHEST_PROTOCOL)
        results.flush()
