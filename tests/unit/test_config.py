"""Secrets come only from the environment, and production refuses to start without a good one."""

from __future__ import annotations

import pytest

from support.config import MIN_SECRET_KEY_LENGTH, load_config


def test_production_without_a_secret_key_refuses_to_start(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        load_config(tmp_path, {"SUPPORT_ENV": "production"})


def test_production_refuses_a_short_secret_key(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "change-me")
    with pytest.raises(RuntimeError, match="too short"):
        load_config(tmp_path, {"SUPPORT_ENV": "production"})


def test_production_takes_a_long_secret_key_from_the_environment(tmp_path, monkeypatch) -> None:
    key = "k" * MIN_SECRET_KEY_LENGTH
    monkeypatch.setenv("SECRET_KEY", key)
    assert load_config(tmp_path, {"SUPPORT_ENV": "production"})["SECRET_KEY"] == key
    assert not (tmp_path / "secret_key").exists()


def test_development_keeps_one_random_key_in_the_instance_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_config(tmp_path, {"SUPPORT_ENV": "development"})["SECRET_KEY"]
    again = load_config(tmp_path, {"SUPPORT_ENV": "development"})["SECRET_KEY"]
    assert first == again and len(first) >= MIN_SECRET_KEY_LENGTH
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # readable by the owner only
