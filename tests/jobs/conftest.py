"""Real parts for background work: the test Redis and RQ workers in burst mode
(in-process, or a real `flask worker` process); the SMTP server is tests/smtp.py's."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from rq import SimpleWorker
from rq.job import Job

from support import clock
from support.extensions import db
from support.jobs import queue
from support.jobs.redis import connection
from tests.conftest import close_database, make_app
from tests.jobs.webhook_receiver import receiver, webhook, webhook_config  # noqa: F401
from tests.smtp import SmtpServer

ROOT = Path(__file__).resolve().parents[2]


# --- processes: a worker's horses and schedulers, a devserver's Redis, worker and cron ---


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name: state, ppid, pgrp, session, …"""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def alive(pid: int) -> bool:
    """Running (a zombie has finished: only its parent's wait is missing)."""
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def children(pid: int) -> list[int]:
    """The direct children of `pid` (RQ's work horse and scheduler, for a worker)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            continue
    return found


def in_session(session: int) -> list[int]:
    """Every live process of a session. A process started with start_new_session=True
    leads its own, and all it starts stays in it, even once orphaned, and even RQ's work
    horse, which moves to a process group of its own (os.setpgrp) but not a new session."""
    pids = [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    return [pid for pid in pids if (stat := _stat(pid)) and int(stat[3]) == session and alive(pid)]


def kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def wait_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    """Wait until none of `pids` runs; returns those still running after `timeout`."""
    deadline = time.monotonic() + timeout
    while (left := [pid for pid in pids if alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def kill_session(process: subprocess.Popen) -> None:
    """SIGKILL a process started with start_new_session=True and everything it started."""
    for _ in range(3):  # a dying parent may still fork: look again
        pids = in_session(process.pid)
        if not pids:
            break
        kill(pids)
        wait_gone(pids)
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


@pytest.fixture
def hung_redis() -> Iterator[str]:
    """The URL of a "Redis" that accepts connections and never answers (a hung server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    stop.set()
    thread.join(timeout=5)
    for connection_ in held:
        connection_.close()
    listener.close()


@pytest.fixture
def app(tmp_path: Path, redis_url: str, smtp: SmtpServer) -> Iterator[Flask]:
    app = make_app(
        tmp_path,
        redis_url,
        **smtp.settings,
        BASE_URL="http://support.test",
    )
    with app.app_context():
        yield app
        redis = connection(app)
        for key in redis.scan_iter(f"rq:*{app.config['RQ_QUEUE']}*"):
            redis.delete(key)
        close_database()


@pytest.fixture
def run_jobs(app: Flask):
    """Run every queued job with a real RQ worker in burst mode; returns how many ran."""

    def done() -> int:
        q = queue.queue(app)
        return q.finished_job_registry.count + q.failed_job_registry.count

    def run() -> int:
        before = done()
        worker = SimpleWorker([queue.queue(app)], connection=connection(app))
        worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
        db.session.expire_all()  # the jobs wrote in their own sessions: read fresh state
        return done() - before

    return run


@pytest.fixture
def worker_process(app: Flask, tmp_path: Path):
    """Start `flask --app app worker` as a real process on the test database."""
    started: list[subprocess.Popen] = []

    def start(*args: str, **extra_env: str) -> subprocess.Popen:
        env = dict(
            os.environ,
            SUPPORT_ENV="testing",
            SECRET_KEY=app.config["SECRET_KEY"],
            DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
            REDIS_URL=app.config["REDIS_URL"],
            RQ_QUEUE=app.config["RQ_QUEUE"],
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=str(app.config["MAIL_PORT"]),
            BASE_URL=app.config["BASE_URL"],
            INSTANCE_PATH=str(tmp_path / "worker-instance"),
            **extra_env,
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "worker", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its horses and scheduler can be found (and killed) later
        )
        started.append(process)
        return process

    yield start
    for process in started:
        kill_session(process)  # the worker and any horse or scheduler it left behind


@pytest.fixture
def frozen(app: Flask, request: pytest.FixtureRequest) -> Iterator[None]:
    """The clock stands still at the test module's T0 (no sleeping in these tests)."""
    clock.freeze(request.module.T0)
    try:
        yield
    finally:
        clock.freeze(None)


@pytest.fixture
def advance(app: Flask, run_jobs):
    """Move the clock to `at`, release the delayed jobs due by then (what RQ's
    scheduler would do at that moment), and run them all with the burst worker."""

    def move(at: datetime) -> int:
        clock.freeze(at)
        q = queue.queue(app)
        registry = q.scheduled_job_registry
        due = registry.get_jobs_to_schedule(int(at.replace(tzinfo=UTC).timestamp()))
        for job in Job.fetch_many(due, connection=q.connection):
            if job is not None:
                registry.remove(job)
                q.enqueue_job(job)
        return run_jobs()

    return move
