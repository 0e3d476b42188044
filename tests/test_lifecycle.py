"""A build killed with SIGKILL at any moment leaves the previous index whole and usable."""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import PHI1_PDF, copy_corpus
from reportqa import ReportQA

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not PHI1_PDF.exists(), reason="shared phi-1 PDF not present")]


def test_sigkill_during_build_leaves_the_old_index_usable(tmp_path, encoder, model_cache):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    copy_corpus(corpus)
    ReportQA(index_dir=index, corpus_dir=corpus, encoder=encoder).build()
    before = sorted(p.name for p in index.iterdir() if p.name.startswith("v-"))
    shutil.copy(PHI1_PDF, corpus / PHI1_PDF.name)
    env = {**os.environ, "REPORTQA_CACHE": str(model_cache)}

    def start_build(index_dir):
        return subprocess.Popen(
            [sys.executable, "-m", "reportqa.cli", "build", "--index", str(index_dir), "--corpus", str(corpus), "-q"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    # how long this build takes here, on a copy, so the kills below land inside it on any machine
    shutil.copytree(index, tmp_path / "scratch", symlinks=True)
    started = time.perf_counter()
    assert start_build(tmp_path / "scratch").wait() == 0
    whole = time.perf_counter() - started

    # killed while importing, while embedding, and late in embedding the new PDF
    for share in (0.15, 0.45, 0.75):
        build = start_build(index)
        time.sleep(share * whole)
        assert build.poll() is None, f"the build ended before {share:.0%} of its usual {whole:.1f} s"
        build.send_signal(signal.SIGKILL)
        build.wait()

        qa = ReportQA(index_dir=index, corpus_dir=corpus, encoder=encoder)
        assert [d.path for d in qa.documents()] == ["spri-2023-ai-competition.txt"], share
        assert sorted(p.name for p in index.iterdir() if p.name.startswith("v-")) == before
        assert "1.287GWh" in qa.ask("챗GPT 학습에 사용된 전력량은?").passages[0].chunk.text

    # the next build takes the lock the killed ones held, cleans up after them and finishes
    report = qa.build()
    assert report.added == [PHI1_PDF.name]
    assert not [p for p in index.iterdir() if p.name.startswith(".build-")]
