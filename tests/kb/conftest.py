"""Knowledge-base fixtures: the real articles and a real Whoosh index in temporary folders."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from support.kb import index
from support.kb.settings import ROOT
from tests.conftest import close_database, make_app

ARTICLES = ROOT / "kb_articles"


@pytest.fixture(scope="session")
def shared_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One index of the real articles for every test that only reads it."""
    return tmp_path_factory.mktemp("kb") / "kb_index"


def _close(app: Flask) -> None:
    index.close(app)
    close_database()


@pytest.fixture
def app(tmp_path: Path, redis_url: str, shared_index_dir: Path) -> Iterator[Flask]:
    # Freshness checks are explicit in these tests (ensure_fresh(force=True)), so
    # no background rebuild starts behind a test's back.
    app = make_app(tmp_path, redis_url, KB_INDEX_DIR=str(shared_index_dir), KB_CHECK_SECONDS=3600)
    with app.app_context():
        yield app
        _close(app)


@pytest.fixture
def articles_copy(tmp_path: Path) -> Path:
    """A copy of the real articles that a test may change."""
    target = tmp_path / "articles"
    shutil.copytree(ARTICLES, target)
    return target


@pytest.fixture
def own_index_app(tmp_path: Path, redis_url: str, articles_copy: Path) -> Iterator[Flask]:
    """An app with its own copy of the articles and its own index, for tests that change them."""
    (tmp_path / "own").mkdir()
    app = make_app(
        tmp_path / "own",
        redis_url,
        KB_ARTICLES_DIR=str(articles_copy),
        KB_INDEX_DIR=str(tmp_path / "own_index"),
        KB_CHECK_SECONDS=3600,
    )
    with app.app_context():
        yield app
        _close(app)


def write_article(
    folder: Path,
    name: str,
    *,
    title: str = "A test article",
    category: str = "payments",
    body: str = "Some text about payments.",
    extra: str = "",
) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"---\ntitle: {title}\ncategory: {category}\ntags: [test]\n{extra}---\n\n{body}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def article_writer(articles_copy: Path) -> Callable[..., Path]:
    return lambda name, **kw: write_article(articles_copy, name, **kw)
