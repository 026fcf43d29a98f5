"""Flask CLI commands: thin wrappers over the services."""

from __future__ import annotations

import os

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_migrate import upgrade

from support import demo
from support.kb.cli import build_index, kb_cli
from support.tickets.categories import ensure_default_categories

demo_cli = AppGroup("demo", help="Demo data for trying Support Desk out.")


@demo_cli.command("seed")
def demo_seed() -> None:
    """Create the demo accounts and a few dozen tickets (development only)."""
    try:
        result = demo.seed()
    except demo.DemoRefused as exc:
        raise click.ClickException(str(exc)) from exc
    if result["tickets"]:
        click.echo(f"Created {result['users']} accounts and {result['tickets']} tickets.")
    else:
        click.echo("Demo data is already there; nothing to do.")


@click.command("setup")
def setup() -> None:
    """Apply migrations and create the starter categories (safe to run on every deploy)."""
    upgrade()
    ensure_default_categories()
    click.echo("Database is up to date.")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--no-scheduler", is_flag=True, help="Do not run delayed jobs in this worker.")
def worker(burst: bool, no_scheduler: bool) -> None:
    """Run an RQ worker (with RQ's scheduler for delayed jobs) for this app."""
    from support.jobs.worker import run

    run(current_app._get_current_object(), burst=burst, with_scheduler=not no_scheduler)


@click.command("devserver")
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", "5000")))
@click.option("--host", default="127.0.0.1", show_default=True)
def devserver(port: int, host: str) -> None:
    """Run web + worker + cron with demo data on the embedded defaults (SQLite, Redis)."""
    from support import devserver as dev

    build_index(current_app._get_current_object())
    dev.serve(current_app._get_current_object(), host, port)


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_cli)
    app.cli.add_command(kb_cli)
    app.cli.add_command(setup)
    app.cli.add_command(devserver)
    app.cli.add_command(worker)
