"""A web worker compiles every template as it starts (deploy/gunicorn.conf.py), so its
first visitors do not wait for Jinja."""

from __future__ import annotations

import gc
import logging
import runpy
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask

from support import compile_templates

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"


def cached_names(app: Flask) -> set[str]:
    """The templates Jinja has compiled and kept (its cache keys are (loader, name))."""
    return {name for _, name in app.jinja_env.cache}


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """The hook freezes what exists for the garbage collector, as in a worker; the test
    process gets its collector back afterwards."""
    yield
    gc.unfreeze()


def test_every_template_is_compiled_ahead(app: Flask) -> None:
    names = set(app.jinja_env.list_templates())
    assert not names <= cached_names(app)  # a new app compiles on first use

    compiled = compile_templates(app)

    assert compiled == len(names) > 50
    assert names <= cached_names(app)
    assert "emails/acknowledgement.txt" in names and "board/_card.html" in names


def test_a_starting_worker_compiles_them(app: Flask, unfrozen: None) -> None:
    hooks = runpy.run_path(str(CONFIG))
    worker = SimpleNamespace(wsgi=app, log=logging.getLogger("test.gunicorn"))

    hooks["post_worker_init"](worker)

    assert set(app.jinja_env.list_templates()) <= cached_names(app)


def test_a_worker_whose_templates_fail_to_compile_still_starts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hooks = runpy.run_path(str(CONFIG))
    worker = SimpleNamespace(wsgi=object(), log=logging.getLogger("test.gunicorn"))

    with caplog.at_level(logging.ERROR, logger="test.gunicorn"):
        hooks["post_worker_init"](worker)  # no exception: the worker goes on to serve

    assert "compile on first use" in caplog.text
