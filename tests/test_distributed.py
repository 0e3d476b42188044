"""Builds on a real local Ray cluster (127.0.0.1, two CPUs): the same index as a local build, a killed
worker retried, a bad document skipped with the local build's reason."""

import contextlib
import hashlib
import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

from conftest import PHI1_PDF, copy_corpus
from reportqa import ReportQA
from reportqa.config import Settings

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not PHI1_PDF.exists(), reason="shared phi-1 PDF not present")]


def test_an_unreachable_cluster_is_one_clear_error(tmp_path, corpus, capsys):
    """Runs before the cluster below starts (a running one would be used whatever the address)."""
    from reportqa.cli import main

    pytest.importorskip("ray")
    dirs = ["--index", str(tmp_path / "index"), "--corpus", str(corpus)]
    assert main(["build", "--ray", "127.0.0.1:1", "-q", *dirs]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot join the Ray cluster at '127.0.0.1:1'" in err
    assert main(["build", "--ray", "nowhere", "-q", *dirs]) == 1
    assert "expected 'auto', 'local' or HOST:PORT" in capsys.readouterr().err
    assert not (tmp_path / "index" / "current").exists()


@pytest.fixture(scope="module")
def ray_cluster(model_cache):
    """A Ray cluster on this machine; its workers inherit this process's model cache."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    corpus = copy_corpus(tmp_path_factory.mktemp("corpus"))
    shutil.copy(PHI1_PDF, corpus / PHI1_PDF.name)
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    return corpus


@pytest.fixture(scope="module")
def local_build(tmp_path_factory, corpus, encoder):
    index = tmp_path_factory.mktemp("local-index")
    report = ReportQA(index_dir=index, corpus_dir=corpus, encoder=encoder).build()
    return index, report


def _files(index: Path) -> dict[str, str]:
    """sha256 of each index file, the build's clock left out (the manifest and the documents' "added")."""
    version = (index / "current").resolve()
    digests = {}
    for path in sorted(version.iterdir()):
        if path.name == "manifest.json":
            continue
        data = path.read_bytes()
        if path.name == "documents.json":
            data = json.dumps([{**d, "added": ""} for d in json.loads(data)]).encode()
        digests[path.name] = hashlib.sha256(data).hexdigest()
    return digests


def _ray_build(index: Path, corpus: Path):
    settings = Settings.from_env().with_(index_dir=index, corpus_dir=corpus, ray="auto")
    return ReportQA(settings=settings).build(force=True)


def test_a_ray_build_writes_the_local_bytes_and_skips_the_same_bad_file(ray_cluster, tmp_path, corpus, local_build):
    local_index, local_report = local_build
    report = _ray_build(tmp_path / "index", corpus)
    assert sorted(report.added) == sorted(local_report.added) == sorted(["spri-2023-ai-competition.txt", PHI1_PDF.name])
    assert report.skipped == local_report.skipped and "broken.pdf" in report.skipped[0][1]
    ray_files, local_files = _files(tmp_path / "index"), _files(local_index)
    assert {"vectors.npy", "aux_sentence_vectors.npy", "bm25-data.npy", "chunks.jsonl"} <= set(ray_files)
    assert ray_files == local_files
    settings = Settings.from_env().with_(index_dir=tmp_path / "index", corpus_dir=corpus, ray="auto")
    again = ReportQA(settings=settings).build()  # nothing new: nothing is sent to the cluster
    assert again.added == [] and sorted(again.unchanged) == sorted(report.added)
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=corpus)
    answer = qa.ask("How many GPU hours did it take to train phi-1?")
    assert any("770 GPU hours" in p.chunk.text for p in answer.passages)


def _worker_pids(busy: bool) -> list[int]:
    """Ray worker processes running our document worker (``ray::DocumentWorker.embed`` while at work)."""
    wanted = "DocumentWorker.embed" if busy else "DocumentWorker"
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if wanted in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def test_a_worker_killed_mid_build_is_retried_and_the_index_is_the_same(ray_cluster, tmp_path, corpus, local_build):
    killed: list[int] = []

    def kill_one_busy_worker() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            busy = _worker_pids(busy=True)
            if busy:
                time.sleep(1.0)  # inside the document's embedding
                os.kill(busy[0], signal.SIGKILL)
                killed.append(busy[0])
            time.sleep(0.1)

    killer = threading.Thread(target=kill_one_busy_worker)
    killer.start()
    report = _ray_build(tmp_path / "index", corpus)
    killer.join()
    assert killed, "no busy worker was seen to kill"
    assert sorted(report.added) == sorted(["spri-2023-ai-competition.txt", PHI1_PDF.name])
    assert _files(tmp_path / "index") == _files(local_build[0])


def test_a_document_whose_worker_keeps_dying_is_skipped_with_the_reason(ray_cluster, tmp_path):
    from reportqa.distributed import WORKER_RESTARTS

    corpus = copy_corpus(tmp_path / "corpus")
    killed: list[int] = []
    finished = threading.Event()

    def kill_every_busy_worker() -> None:
        while not finished.is_set() and len(killed) < 10:
            busy = [pid for pid in _worker_pids(busy=True) if pid not in killed]
            if busy:
                time.sleep(0.5)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(busy[0], signal.SIGKILL)
                killed.append(busy[0])
            time.sleep(0.05)

    killer = threading.Thread(target=kill_every_busy_worker)
    killer.start()
    try:
        report = _ray_build(tmp_path / "index", corpus)
    finally:
        finished.set()
        killer.join()
    assert len(killed) == WORKER_RESTARTS + 1
    assert report.added == []
    assert report.skipped == [
        (
            "spri-2023-ai-competition.txt",
            f"spri-2023-ai-competition.txt: the Ray worker embedding it died {WORKER_RESTARTS + 1} times",
        )
    ]
