import os
import subprocess
import sys
from pathlib import Path

import pytest

from reportqa.config import Settings


def test_env_then_overrides(monkeypatch):
    monkeypatch.setenv("REPORTQA_INDEX", "/tmp/x-index")
    monkeypatch.setenv("REPORTQA_TOP_K", "7")
    s = Settings.from_env(top_k=3)
    assert s.index_dir == Path("/tmp/x-index") and s.top_k == 3


def test_unknown_and_invalid_settings_are_refused():
    with pytest.raises(ValueError, match="unknown"):
        Settings().with_(chunk_sise=3)
    with pytest.raises(ValueError, match="top_k"):
        Settings().with_(top_k=0)


def test_every_field_is_described():
    from dataclasses import fields

    assert {f.name for f in fields(Settings)} == set(Settings.describe())


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("REPORTQA_MAX_FILE_MB", "abc", "max_file_mb (REPORTQA_MAX_FILE_MB) must be a number, got 'abc'"),
        ("REPORTQA_MAX_FILE_MB", "-5", "max_file_mb (REPORTQA_MAX_FILE_MB) must be more than 0, got -5.0"),
        ("REPORTQA_MAX_FILE_MB", "nan", "max_file_mb (REPORTQA_MAX_FILE_MB) must be a finite number, got 'nan'"),
        ("REPORTQA_TOP_K", "five", "top_k (REPORTQA_TOP_K) must be a whole number, got 'five'"),
        ("REPORTQA_BATCH_SIZE", "0", "batch_size (REPORTQA_BATCH_SIZE) must be more than 0, got 0"),
    ],
)
def test_a_bad_number_in_the_environment_is_named(monkeypatch, variable, value, message):
    """A negative size limit used to skip every file, so that a build dropped every document."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError) as refused:
        Settings.from_env()
    assert str(refused.value) == message


def test_a_bad_size_limit_stops_a_build_before_it_touches_the_index(tmp_path, small_corpus):
    env = {**os.environ, "REPORTQA_MAX_FILE_MB": "-5"}
    args = [
        sys.executable,
        "-m",
        "reportqa.cli",
        "build",
        "--index",
        str(tmp_path / "i"),
        "--corpus",
        str(small_corpus),
    ]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert (
        done.stderr.strip().splitlines()[-1]
        == "error: max_file_mb (REPORTQA_MAX_FILE_MB) must be more than 0, got -5.0"
    )
    assert not (tmp_path / "i").exists()
