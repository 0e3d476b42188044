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
