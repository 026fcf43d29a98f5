"""The Redis connection the app and its workers share (from REDIS_URL)."""

from __future__ import annotations

from flask import Flask, current_app
from redis import Redis


def connection(app: Flask | None = None) -> Redis:
    """One client per app; redis-py pools connections and is thread-safe."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    client = app.extensions.get("redis")
    if client is None:
        client = Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5)
        app.extensions["redis"] = client
    return client
