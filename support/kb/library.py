"""The knowledge base as the web app reads it: loaded once, re-checked every few seconds."""

from __future__ import annotations

import threading
import time

from flask import Flask, current_app

from support.kb import articles, settings

_lock = threading.Lock()
_loaded: dict[str, tuple[float, articles.Library]] = {}


def library(app: Flask | None = None) -> articles.Library:
    """Every valid article of the app's `KB_ARTICLES_DIR`, with categories and problems.

    Looks at the files at most every `KB_CHECK_SECONDS`; a changed file is
    parsed again, the others come from the parse cache.
    """
    app = app or current_app
    directory = settings.articles_dir(app)
    key = str(directory)
    now = time.monotonic()
    with _lock:
        cached = _loaded.get(key)
        if cached and now - cached[0] < settings.check_seconds(app):
            return cached[1]
    loaded = articles.load(directory)
    with _lock:
        _loaded[key] = (now, loaded)
    return loaded
