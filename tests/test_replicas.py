"""Replicas: two ``reportqa serve`` processes on one index follow a build by a third process."""

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from conftest import copy_corpus
from reportqa import ReportQA

pytestmark = pytest.mark.slow

NOTE = """# Zorblax 항해 규정

## 규정

Zorblax 항해 규정은 모든 펭귄 선박이 일곱 단계의 점검을 거치도록 정한다. 점검은 매년 3월에 실시한다.
"""
QUESTION = "Zorblax 항해 규정의 점검은 몇 단계인가?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"replica exited: {process.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not come up")


def test_two_replicas_answer_from_complete_versions_and_both_pick_up_a_build(tmp_path, encoder):
    from gradio_client import Client

    corpus, index = copy_corpus(tmp_path / "corpus"), tmp_path / "index"
    ReportQA(index_dir=index, corpus_dir=corpus, encoder=encoder).build()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    ports = [_free_port(), _free_port()]
    command = [sys.executable, "-m", "reportqa.cli", "serve", "--index", str(index), "--corpus", str(corpus)]
    replicas = [
        subprocess.Popen([*command, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for port in ports
    ]
    try:
        urls = [f"http://127.0.0.1:{port}/" for port in ports]
        for url, replica in zip(urls, replicas):
            _wait_until_up(url, replica)
        clients = [Client(url, verbose=False) for url in urls]
        answers: dict[int, list[tuple[float, str]]] = {0: [], 1: []}
        stop = threading.Event()

        def keep_asking(n: int) -> None:
            while not stop.is_set():
                html = clients[n].predict(QUESTION, 3, api_name="/ask")[0]
                answers[n].append((time.monotonic(), html))

        askers = [threading.Thread(target=keep_asking, args=(n,)) for n in (0, 1)]
        for asker in askers:
            asker.start()
        time.sleep(3)
        note = tmp_path / "zorblax.md"
        note.write_text(NOTE, encoding="utf-8")
        added = subprocess.run(
            [
                sys.executable,
                "-m",
                "reportqa.cli",
                "add",
                str(note),
                "-q",
                "--index",
                str(index),
                "--corpus",
                str(corpus),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert added.returncode == 0, added.stderr
        switched = time.monotonic()
        time.sleep(8)
        stop.set()
        for asker in askers:
            asker.join(timeout=60)
        for n in (0, 1):
            seen = ["펭귄 선박" in html for _, html in answers[n]]  # the new document's text, not the question's
            assert all("rq-card" in html and "rq-error" not in html for _, html in answers[n]), "an answer failed"
            assert not seen[0] and seen[-1], f"replica {n} did not pick up the new document"
            first_seen = seen.index(True)
            assert all(seen[first_seen:]), f"replica {n} went back to the old version"
            delay = answers[n][first_seen][0] - switched
            print(f"replica {n}: {len(seen)} answers, the new document {delay:.2f} s after the build returned")
            assert delay < 5, f"replica {n} took over 5 s after the switch"
    finally:
        for replica in replicas:
            replica.terminate()
        for replica in replicas:
            replica.wait(timeout=30)
