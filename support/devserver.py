"""`make run`: the whole product on one laptop, with nothing installed beforehand.

Starts an embedded Redis (unless REDIS_URL is set), applies migrations, loads
the demo data, then runs the web server, one RQ worker (with RQ's scheduler)
and `rq cron` together; Ctrl+C stops all of them, Redis included.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask
from flask_migrate import upgrade
from werkzeug.serving import run_simple

from support import demo
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
def _background(env: dict[str, str]) -> Iterator[None]:
    python = sys.executable
    commands = [
        [python, "-m", "flask", "--app", "app", "worker"],
        [python, "-m", "rq.cli", "cron", "support.jobs.cron", "--url", env["REDIS_URL"]],
    ]
    processes = [subprocess.Popen(command, env=env) for command in commands]  # noqa: S603
    try:
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def serve(app: Flask, host: str, port: int) -> None:
    with _redis(app) as redis_url:
        upgrade()
        result = demo.seed()
        if result["tickets"]:
            click.echo(f"Demo data: {result['tickets']} tickets; the README lists the logins.")
        with _background(_child_env(app, redis_url, host, port)):
            click.secho(f"\n  Support Desk is running at http://{host}:{port}/\n", fg="green")
            run_simple(host, port, app, threaded=True, use_reloader=False)
