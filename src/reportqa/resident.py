"""Resident mode: a running ``reportqa serve`` or ``reportqa daemon`` answers the CLI's questions.

A one-off ``reportqa ask`` spends most of its time loading models and the index. When a resident
process holds them for the same index, ``ask`` and ``batch`` send their questions over a Unix
socket in the index folder (``.reportqa.sock``, readable and writable by its owner only) and print
what it sends back: the same JSON record and the same text a local answer gives. Without one, or
when it answers for other settings, they load and answer locally as before.

The client side imports nothing heavy, so a question through a resident process costs the
interpreter's start-up and a socket round trip.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import threading
from dataclasses import dataclass
from pathlib import Path

from .config import Settings
from .errors import ReportQAError

logger = logging.getLogger(__name__)

SOCKET_NAME = ".reportqa.sock"
MAX_REQUEST_BYTES = 16_000_000
CONNECT_TIMEOUT_S = 0.5


def socket_path(index_dir: Path) -> Path:
    return Path(index_dir) / SOCKET_NAME


def _identity(settings: Settings) -> dict:
    """What a resident process must share with a client to give it the client's own answers."""
    return {
        "index": str(Path(settings.index_dir).resolve()),
        "corpus": str(Path(settings.corpus_dir).resolve()),
        "model": settings.model,
        "second_encoder": settings.second_encoder,
        "encoder_backend": settings.encoder_backend,
    }


@dataclass
class RemoteAnswer:
    """An answer as a resident process sent it: its batch record and its terminal text."""

    record: dict
    text: str
    markdown: str = ""
    id: str | None = None

    def to_dict(self) -> dict:
        return {**self.record, "id": self.id}


def ask_resident(
    settings: Settings, questions: list[str], top_k: int | None, histories: list[list[str]] | None = None
) -> list[RemoteAnswer] | None:
    """Answers from a resident process for these settings, or None when there is none to ask.

    A question the resident process refuses (an empty question, a bad ``top_k``) raises the same
    ``ReportQAError`` message a local answer would.
    """
    path = socket_path(settings.index_dir)
    if not path.exists():
        return None
    request = {"identity": _identity(settings), "questions": questions, "top_k": top_k, "histories": histories}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(CONNECT_TIMEOUT_S)
            client.connect(str(path))
            client.settimeout(None)  # connected: the answers take as long as they take
            client.sendall(json.dumps(request, ensure_ascii=False).encode() + b"\n")
            reply = json.loads(_read_line(client))
    except (OSError, ValueError):
        return None  # none listening (a stale socket file), or it went away: answer locally
    if reply.get("error") is not None:
        raise ReportQAError(reply["error"])
    if reply.get("mismatch"):
        return None
    return [RemoteAnswer(a["record"], a["text"], a.get("markdown", "")) for a in reply["answers"]]


class RemoteQA:
    """The ``batch`` of a ``ReportQA``, answered by a resident process (for ``batchio.run_batch``)."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def batch(
        self, questions: list[str], top_k: int | None = None, histories: list[list[str]] | None = None
    ) -> list[RemoteAnswer]:
        answers = ask_resident(self.settings, questions, top_k, histories)
        if answers is None:
            raise ReportQAError("the resident process went away during the batch; run it again")
        return answers


def resident_available(settings: Settings) -> bool:
    """Whether a resident process answers for these settings (one empty round trip)."""
    try:
        return ask_resident(settings, [], None) is not None
    except ReportQAError:
        return False


def _read_line(connection: socket.socket) -> bytes:
    data = bytearray()
    while not data.endswith(b"\n"):
        block = connection.recv(1 << 16)
        if not block:
            break
        data += block
        if len(data) > MAX_REQUEST_BYTES:
            raise ValueError("message too long")
    return bytes(data)


class ResidentServer:
    """Answers the CLI's questions from ``qa`` on the index folder's socket, in a thread of its own.

    Each request first follows the index to its current version, so answers never come from a
    version that a build has replaced.
    """

    def __init__(self, qa):
        self.qa = qa
        self.path = socket_path(qa.settings.index_dir)
        self._server: socketserver.ThreadingUnixStreamServer | None = None

    def start(self) -> bool:
        """Listen, unless another live process already does or the path is too long for a socket."""
        if self.path.exists():
            if resident_available(self.qa.settings):
                logger.warning("another resident process answers for %s", self.qa.settings.index_dir)
                return False
            self.path.unlink(missing_ok=True)  # left by a process that died
        qa = self.qa

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                try:
                    request = json.loads(self.rfile.readline(MAX_REQUEST_BYTES))
                    reply = _answer(qa, request)
                except (ValueError, KeyError, TypeError, RecursionError) as e:  # RecursionError: "[[[[…"
                    reply = {"error": f"bad request to the resident process ({type(e).__name__})"}
                self.wfile.write(json.dumps(reply, ensure_ascii=False).encode() + b"\n")

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            old_mask = os.umask(0o177)  # the socket is its owner's only, from its first moment
            try:
                self._server = socketserver.ThreadingUnixStreamServer(str(self.path), Handler)
            finally:
                os.umask(old_mask)
        except OSError as e:  # e.g. a path past the 107 bytes a Unix socket name may have
            logger.warning("no resident mode for %s: %s", self.qa.settings.index_dir, e)
            return False
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="reportqa-resident", daemon=True).start()
        return True

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self.path.unlink(missing_ok=True)
            self._server = None

    def __enter__(self) -> ResidentServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _answer(qa, request: dict) -> dict:
    from .render import answer_markdown, answer_text

    if request["identity"] != _identity(qa.settings):
        return {"mismatch": True}
    if not request["questions"]:
        return {"answers": []}
    try:
        qa.follow_index()
        answers = qa.batch(request["questions"], top_k=request["top_k"], histories=request.get("histories"))
    except ReportQAError as e:
        return {"error": str(e)}
    return {
        "answers": [{"record": a.to_dict(), "text": answer_text(a), "markdown": answer_markdown(a)} for a in answers]
    }
