"""Where the knowledge base lives, from the app's config (with laptop defaults)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent.parent

DEFAULT_CHECK_SECONDS = 3.0


def articles_dir(app: Flask) -> Path:
    """`KB_ARTICLES_DIR`, by default the repository's `kb_articles/`."""
    return Path(app.config.get("KB_ARTICLES_DIR") or ROOT / "kb_articles")


def index_dir(app: Flask) -> Path:
    """`KB_INDEX_DIR`, by default `kb_index/` in the instance folder."""
    return Path(app.config.get("KB_INDEX_DIR") or Path(app.instance_path) / "kb_index")


def check_seconds(app: Flask) -> float:
    """How often a request may look at the disk for changed articles."""
    return float(app.config.get("KB_CHECK_SECONDS", DEFAULT_CHECK_SECONDS))
