"""Resident mode: a running process answers the CLI's questions exactly as a local answer would."""

import json
import socket

import pytest

from conftest import copy_corpus
from reportqa import ReportQA, Settings
from reportqa.errors import ReportQAError
from reportqa.render import answer_text
from reportqa.resident import ResidentServer, ask_resident, resident_available, socket_path

SETTINGS = dict(second_encoder="none", abstain_below=-1e9)


def _qa(tmp_path, corpus, encoder):
    settings = Settings(index_dir=tmp_path / "index", corpus_dir=corpus, **SETTINGS)
    return ReportQA(settings=settings, encoder=encoder)


def test_a_resident_process_gives_the_local_record_and_text(tmp_path, small_corpus, hash_encoder):
    qa = _qa(tmp_path, small_corpus, hash_encoder)
    qa.build()
    questions = ["How many GPUs does the cluster have?", "베타 모델의 정확도는?"]
    local = qa.batch(questions, top_k=3)
    with ResidentServer(qa) as server:
        assert socket_path(qa.settings.index_dir).stat().st_mode & 0o077 == 0  # its owner's only
        remote = ask_resident(qa.settings, questions, 3)
        assert server.path.exists()
    assert [r.record for r in remote] == [a.to_dict() for a in local]
    assert [r.text for r in remote] == [answer_text(a) for a in local]
    assert not server.path.exists()
    assert ask_resident(qa.settings, questions, 3) is None  # nobody listens: answer locally


def test_other_settings_a_dead_socket_and_bad_questions(tmp_path, small_corpus, hash_encoder):
    qa = _qa(tmp_path, small_corpus, hash_encoder)
    qa.build()
    with ResidentServer(qa):
        other = qa.settings.with_(corpus_dir=tmp_path / "elsewhere")
        assert ask_resident(other, ["How many GPUs?"], 3) is None  # another corpus: not its answers
        with pytest.raises(ReportQAError, match="the question is empty"):
            ask_resident(qa.settings, ["   "], 3)
        with pytest.raises(ReportQAError, match="top_k must be"):
            ask_resident(qa.settings, ["How many GPUs?"], 0)
        for junk in (b"not json\n", b"[1, 2]\n", b"[" * 100_000 + b"\n"):  # anyone of its owner may write
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.connect(str(socket_path(qa.settings.index_dir)))
                client.sendall(junk)
                reply = json.loads(client.makefile("rb").readline())
            assert reply["error"].startswith("bad request to the resident process")
        assert ask_resident(qa.settings, ["How many GPUs?"], 3) is not None  # still answering
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(socket_path(qa.settings.index_dir)))  # a socket file whose process is gone
    stale.close()
    assert ask_resident(qa.settings, ["How many GPUs?"], 3) is None
    with ResidentServer(qa) as server:  # a new one replaces the dead file
        assert ask_resident(qa.settings, ["How many GPUs?"], 3) is not None and server.path.exists()


def test_a_resident_process_follows_a_build_by_another_process(tmp_path, small_corpus, hash_encoder):
    qa = _qa(tmp_path, small_corpus, hash_encoder)
    qa.build()
    with ResidentServer(qa):
        before = ask_resident(qa.settings, ["penguin navigation rules"], 5)
        note = tmp_path / "penguins.md"
        note.write_text("# Penguins\n\nPenguin navigation rules are three.\n", encoding="utf-8")
        _qa(tmp_path, small_corpus, hash_encoder).add([note])  # another ReportQA: another process's build
        after = ask_resident(qa.settings, ["penguin navigation rules"], 5)
    assert all(p["doc"] != "penguins.md" for p in before[0].record["passages"])
    assert after[0].record["passages"][0]["doc"] == "penguins.md"


@pytest.mark.slow
def test_cli_ask_and_batch_print_the_same_with_and_without_a_resident_process(tmp_path, capsys, encoder):
    from reportqa.cli import main

    corpus = copy_corpus(tmp_path / "corpus")
    dirs = ["--corpus", str(corpus), "--index", str(tmp_path / "index")]
    assert main(["build", "-q", *dirs]) == 0
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"id": "a", "question": "챗GPT 학습에 사용된 전력량은?"}\n{"id": "b", "question": "What did the G7 agree?"}\n',
        encoding="utf-8",
    )

    def run() -> list[str]:
        outputs = []
        for extra in ([], ["--json"]):
            assert main(["ask", "How much power did training ChatGPT use?", *extra, *dirs]) == 0
            outputs.append(capsys.readouterr().out)
        out = tmp_path / f"answers-{len(list(tmp_path.glob('answers-*')))}.jsonl"
        assert main(["batch", str(questions), "--out", str(out), *dirs]) == 0
        capsys.readouterr()
        return [*outputs, out.read_text(encoding="utf-8")]

    local = run()
    qa = ReportQA(index_dir=tmp_path / "index", corpus_dir=corpus)
    with ResidentServer(qa):
        cli_settings = Settings.from_env(index_dir=tmp_path / "index", corpus_dir=corpus)
        assert resident_available(cli_settings)  # the CLI's own settings reach it: no local fallback
        remote = run()
    assert remote == local
    assert "1.287GWh" in local[0] and json.loads(local[1])["passages"]
