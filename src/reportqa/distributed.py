"""Builds on a Ray cluster: new documents are read, chunked and embedded by workers across the
cluster's CPUs (one worker per GPU where nodes have them), and the index is written here, as a
local build writes it.

Each worker is a Ray actor holding its own encoders and Kiwi, so models load once per worker, not
once per document; it runs ``SerialRunner`` on one file at a time, which makes exactly the chunks,
vectors and tokens a local build makes (one text per encoder run: a vector never depends on the
machine's batching). Actors are restarted and their document retried when a worker process dies,
so a killed worker costs time, not the build; a document its worker dies on three times is skipped
with that reason, as a file a local build cannot read is. Only the files the index lacks are sent.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from .config import Settings
from .errors import DocumentError, ReportQAError, printable
from .models import Models
from .records import Chunk, Document
from .runners import Embedded, NewFile, Reader, SerialRunner, read_new_file
from .store import Features

logger = logging.getLogger(__name__)

WORKER_RESTARTS = 2  # a worker that dies (killed, out of memory) is restarted and its document retried this often


@dataclass
class Finished:
    """What a worker sends back for one file: its document, chunks and features, or why it was skipped."""

    position: int
    name: str
    doc_id: str
    document: Document | None
    chunks: list[Chunk] | None
    features: Features | None
    error: DocumentError | None


class DocumentWorker:
    """One worker's models and the steps a local build takes for one file (made a Ray actor by ``RayRunner``)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.models = Models(settings)

    def embed(self, position: int, file: NewFile, read: Reader) -> Finished:
        item = next(SerialRunner(self.models, self.settings).embedded([file], read, lambda: None))
        features = item.features() if item.error is None else None
        return Finished(position, item.name, item.doc_id, item.document, item.chunks, features, item.error)

    def pid(self) -> int:
        return os.getpid()


class RayRunner:
    """A build runner (see ``runners``) that hands each new file to a worker of a Ray cluster."""

    def __init__(self, models: Models, settings: Settings, progress: bool = False):
        self.settings = settings
        self._started_here = False

    def __enter__(self) -> RayRunner:
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ReportQAError("building on Ray needs the ray package: pip install 'reportqa[ray]'") from None
        return self

    def _connect(self) -> None:
        """Join (or start) the cluster: only once there is a document to send."""
        import ray

        if ray.is_initialized():
            return
        address = self.settings.ray
        options = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
        try:
            if address == "local":
                ray.init(**options)
            else:
                _reachable(address)
                ray.init(address=address, **options)
        except (ConnectionError, ValueError, RuntimeError, OSError) as e:
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ReportQAError(f"cannot join the Ray cluster at '{address}': {reason}") from e
        self._started_here = True

    def __exit__(self, *exc) -> None:
        if self._started_here:
            import ray

            ray.shutdown()

    def embedded(self, files: Iterable[NewFile], read: Reader, check: Callable[[], None]) -> Iterator[Embedded]:
        """Each file's result as its worker finishes it (the build puts them back in corpus order).

        ``read`` is the caller's reader; the workers read with ``read_new_file`` and this build's
        settings, the function behind it, since a bound method would carry its process's models along.
        """
        import ray

        files = list(files)
        if not files:
            return
        self._connect()
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        actor = ray.remote(DocumentWorker).options(
            num_cpus=1, num_gpus=1 if gpus else 0, max_restarts=WORKER_RESTARTS, max_task_retries=WORKER_RESTARTS
        )
        idle = [actor.remote(self.settings) for _ in range(max(1, min(len(files), gpus or int(resources["CPU"]))))]
        reader = functools.partial(read_new_file, self.settings)
        waiting = list(enumerate(files))[::-1]
        running: dict = {}  # result ref → (position, file, worker)
        while waiting or running:
            while waiting and idle:
                position, file = waiting.pop()
                worker = idle.pop()
                running[worker.embed.remote(position, file, reader)] = (position, file, worker)
            (ref,), _ = ray.wait(list(running), num_returns=1)
            position, (name, doc_id, *_), worker = running.pop(ref)
            check()
            try:
                done: Finished = ray.get(ref)
            except ray.exceptions.RayActorError:
                # its worker died on it WORKER_RESTARTS + 1 times: the file is skipped, a new worker takes its place
                idle.append(actor.remote(self.settings))
                reason = f"{printable(name)}: the Ray worker embedding it died {WORKER_RESTARTS + 1} times"
                yield Embedded(position, name, doc_id, error=DocumentError(reason))
                continue
            idle.append(worker)
            if done.error is not None:
                yield Embedded(done.position, done.name, done.doc_id, error=done.error)
            else:
                features = done.features
                yield Embedded(done.position, done.name, done.doc_id, done.document, done.chunks, lambda f=features: f)

    def finish(self) -> None:
        pass


def _reachable(address: str, timeout_s: float = 3.0) -> None:
    """Refuse at once a ``host:port`` nobody listens on: Ray itself would keep retrying for minutes."""
    if address == "auto":
        return  # Ray finds the running cluster on this machine, or says at once that there is none
    host, _, port = address.split("://")[-1].rpartition(":")
    if not host or not port.isdigit():
        raise ValueError("expected 'auto', 'local' or HOST:PORT")
    with socket.create_connection((host, int(port)), timeout=timeout_s):
        pass
