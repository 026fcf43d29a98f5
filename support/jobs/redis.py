"""The Redis connection the app and its workers share (from REDIS_URL)."""

from __future__ import annotations

from flask import Flask, current_app
from redis import Redis

# Short: a web request that enqueues waits at most this long for a Redis that is
# down or hung (accepts, never answers), then leaves the work to the sweep. Commands
# here are single, quick ones; RQ's worker raises the read timeout on its own
# connection for its blocking dequeue (see support.jobs.worker).
CONNECT_TIMEOUT = 1.0
READ_TIMEOUT = 1.0


def _client(app: Flask) -> Redis:
    return Redis.from_url(
        app.config["REDIS_URL"],
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=READ_TIMEOUT,
    )


def connection(app: Flask | None = None) -> Redis:
    """One client per app; redis-py pools connections and is thread-safe."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    client = app.extensions.get("redis")
    if client is None:
        client = _client(app)
        app.extensions["redis"] = client
    return client


def worker_connection(app: Flask) -> Redis:
    """A client of the worker's own: RQ lengthens its read timeout (for the blocking
    dequeue) in place, which must not leak into the client the jobs enqueue with."""
    return _client(app)
