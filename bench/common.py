"""Shared by the bench scripts: a throw-away app on a temp SQLite file, and timing."""

from __future__ import annotations

import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from sqlalchemy import Engine, event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from support import create_app, freeze_startup_objects
from support.extensions import db
from support.tickets.categories import ensure_default_categories

ROOT = Path(__file__).resolve().parent.parent


def bench_app(**overrides) -> tuple[Flask, tempfile.TemporaryDirectory]:
    """A fresh app and schema in a temporary directory (kept alive by the returned handle).

    No Redis: seeding enqueues nothing and the pages read the settings from the database
    (the warnings about both are silenced); nothing else the pages measure touches Redis.
    """
    logging.getLogger("support.jobs.queue").setLevel(logging.ERROR)
    # No Redis: the settings are read from the database, as the warning would say each time.
    logging.getLogger("support.settings_cache").setLevel(logging.ERROR)
    tmp = tempfile.TemporaryDirectory(prefix="support-bench-")
    config = {
        "SUPPORT_ENV": "testing",
        "SECRET_KEY": "bench",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp.name) / 'bench.db'}",
        "UPLOAD_FOLDER": str(Path(tmp.name) / "uploads"),
        "REDIS_URL": "redis://127.0.0.1:1/0",  # not used by the pages measured
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,  # measured: the pages, not the limiter
    }
    config.update(overrides)
    app = create_app(config)
    with app.app_context():
        db.create_all()
        ensure_default_categories()
    freeze_startup_objects()  # as app.py does in every web process
    return app, tmp


def worker_env(app: Flask, instance: Path, **settings: str) -> dict[str, str]:
    """The environment of a `flask worker` process the bench starts: this app's secret,
    database, Redis and queue, its own instance folder, and `settings` on top."""
    return dict(
        os.environ,
        SUPPORT_ENV="testing",
        SECRET_KEY=app.config["SECRET_KEY"],
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=app.config["REDIS_URL"],
        RQ_QUEUE=app.config["RQ_QUEUE"],
        BASE_URL=app.config["BASE_URL"],
        INSTANCE_PATH=str(instance),
        **settings,
    )


def burst_worker(
    env: dict[str, str], *options: str, wrapper: list[str] | None = None
) -> tuple[float, float]:
    """Run one `flask worker --burst` process (with `options`, under `wrapper` such as a
    profiler) until the queue is empty; returns its wall and CPU seconds (user + system,
    with any work horses it forked)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        (wrapper or [])
        + [sys.executable, "-m", "flask", "--app", "app", "worker", "--burst", *options],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=3600,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def timed(call: Callable[[], object], runs: int, warmup: int = 20) -> list[float]:
    """Milliseconds per call, after `warmup` untimed calls."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[94]


def report(name: str, samples: list[float]) -> None:
    print(f"{name}_median: {statistics.median(samples):.2f} ms")
    print(f"{name}_p95: {p95(samples):.2f} ms")


class QueryCounter:
    """Counts SQL statements while active (to print queries per request)."""

    def __init__(self, engine: Engine | None = None) -> None:
        """`engine`: counts there without an app context (else the app's, in one)."""
        self.count = 0
        self.engine = engine

    def __enter__(self) -> QueryCounter:
        self.engine = self.engine or db.engine
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, *args: object) -> None:
        self.count += 1
