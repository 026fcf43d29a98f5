"""`make run`: the whole product on one laptop, with nothing installed beforehand.

Starts an embedded Redis (unless REDIS_URL is set), applies migrations, loads
the demo data, then runs the web server, one RQ worker (with RQ's scheduler)
and `rq cron` together; Ctrl+C, SIGTERM or SIGHUP (a closed terminal, `kill`, a
process manager) stops all of them, Redis included.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import click
from flask import Flask
from werkzeug.serving import run_simple

from support import demo, migrating
from support.jobs.embedded import EmbeddedRedis


@contextmanager
def _redis(app: Flask) -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    with EmbeddedRedis() as embedded:
        app.config["REDIS_URL"] = embedded.url
        app.extensions.pop("redis", None)
        click.echo("Started an embedded Redis (set REDIS_URL to use your own).")
        yield embedded.url


def _child_env(app: Flask, redis_url: str, host: str, port: int) -> dict[str, str]:
    env = dict(os.environ, REDIS_URL=redis_url, INSTANCE_PATH=app.instance_path)
    env.setdefault("BASE_URL", f"http://{host}:{port}")
    if not os.environ.get("MAIL_SERVER"):
        # No mail server on a laptop: emails land in instance/mail/ as .eml files.
        env.setdefault("MAIL_BACKEND", "file")
    return env


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP stop the devserver the way Ctrl+C (SIGINT) does: as
    KeyboardInterrupt, which the web server ends on and every `with` below unwinds
    from. Once stopping, any further one of them is ignored, so a second Ctrl+C or
    SIGTERM cannot cut the clean-up short and leave Redis or a worker running."""
    stopping = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def stop(signum: int, _frame: object) -> None:
        for number in stopping:
            signal.signal(number, signal.SIG_IGN)
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {number: signal.signal(number, stop) for number in stopping}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM (RQ's warm shutdown: the current job finishes), then SIGTERM again (its
    cold shutdown, which also kills the work horse), then SIGKILL."""
    for grace in (10, 5):
        running = [p for p in processes if p.poll() is None]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + grace
        for process in running:
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


@contextmanager
def _background(env: dict[str, str]) -> Iterator[None]:
    python = sys.executable
    commands = [
        [python, "-m", "flask", "--app", "app", "worker"],
        [python, "-m", "rq.cli", "cron", "support.jobs.cron", "--url", env["REDIS_URL"]],
    ]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for command in commands:
            # Their own process group: Ctrl+C in the terminal signals the foreground
            # group, and a worker interrupted mid-job prints pages of tracebacks. Only
            # this process gets it, and stops them as it does on SIGTERM (_stop).
            processes.append(subprocess.Popen(command, env=env, process_group=0))  # noqa: S603
        yield
    finally:
        _stop(processes)


def serve(app: Flask, host: str, port: int) -> None:
    with _stop_on_signals(), _redis(app) as redis_url:
        migrating.upgrade(app)
        result = demo.seed()
        if result["tickets"]:
            click.echo(f"Demo data: {result['tickets']} tickets; the README lists the logins.")
        with _background(_child_env(app, redis_url, host, port)):
            click.secho(f"\n  Support Desk is running at http://{host}:{port}/\n", fg="green")
            run_simple(host, port, app, threaded=True, use_reloader=False)
