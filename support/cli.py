"""Flask CLI commands: thin wrappers over the services."""

from __future__ import annotations

import os
from datetime import timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from support import clock, demo, migrating
from support.api import tokens
from support.auth import accounts
from support.auth.passwords import password_problem
from support.kb.cli import build_index, kb_cli
from support.mail.cli import mail_cli
from support.models import Role, TokenScope
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


user_cli = AppGroup("user", help="Staff accounts: the first admin, agents and their roles.")
ROLES = click.Choice([r.value for r in Role])


@user_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Full name, as customers will see it.")
@click.option("--role", type=ROLES, default=Role.AGENT.value, show_default=True)
@click.option("--tier", type=click.IntRange(1, 3), default=None, help="Support tier (staff).")
@click.password_option(
    envvar="SUPPORT_NEW_PASSWORD", help="Prompted for (twice) unless SUPPORT_NEW_PASSWORD is set."
)
def user_create(email: str, name: str, role: str, tier: int | None, password: str) -> None:
    """Create an account, e.g. the first admin after `flask setup`."""
    problem = password_problem(password, email)
    if problem:
        raise click.BadParameter(problem, param_hint="password")
    try:
        user = accounts.create_user(email=email, name=name, password=password, role=Role(role))
    except accounts.EmailTaken as exc:
        raise click.ClickException(
            f"{email} already has an account; change its role with `flask user role`."
        ) from exc
    if user.is_agent:
        accounts.set_role(user, user.role, tier=tier)
    click.echo(f"Created {user.email} ({user.role.value}{_tier(user)}).")


@user_cli.command("role")
@click.argument("email")
@click.argument("role", type=ROLES)
@click.option("--tier", type=click.IntRange(1, 3), default=None, help="Support tier (staff).")
def user_role(email: str, role: str, tier: int | None) -> None:
    """Change what an account may do: customer, agent or admin."""
    user = accounts.find_by_email(email)
    if user is None:
        raise click.ClickException(f"No account for {email}.")
    accounts.set_role(user, Role(role), tier=tier)
    click.echo(f"{user.email} is now {user.role.value}{_tier(user)}.")


@user_cli.command("token")
@click.argument("email")
@click.option("--name", default="Command line", show_default=True, help="To recognise it later.")
@click.option("--read-only", is_flag=True, help="GET requests only.")
@click.option("--days", type=click.IntRange(1, 3650), default=None, help="Expires after N days.")
def user_token(email: str, name: str, read_only: bool, days: int | None) -> None:
    """Create a personal API token for an agent or admin and print it (shown once)."""
    user = accounts.find_by_email(email)
    if user is None or not user.is_agent or not user.is_active:
        raise click.ClickException(
            f"{email} is not an active agent or admin: tokens are theirs only."
        )
    scope = TokenScope.READ if read_only else TokenScope.WRITE
    expires = clock.now() + timedelta(days=days) if days else None
    created = tokens.create(user, name=name, scope=scope, expires_at=expires)
    click.echo(f"{created.secret}")
    click.echo(f"({scope.label}; revoke it at /account/tokens.)", err=True)


def _tier(user) -> str:
    return f", tier {user.tier}" if user.tier else ""


@click.command("setup")
def setup() -> None:
    """Apply migrations and create the starter categories (safe to run on every deploy)."""
    migrating.upgrade(current_app)
    ensure_default_categories()
    click.echo("Database is up to date.")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--no-scheduler", is_flag=True, help="Do not run delayed jobs in this worker.")
@click.option("--fork", is_flag=True, help="Fork a process per job (slower, more isolated).")
@click.option(
    "--max-jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Exit after this many jobs, for the supervisor to start a fresh worker.",
)
def worker(burst: bool, no_scheduler: bool, fork: bool, max_jobs: int | None) -> None:
    """Run an RQ worker (with RQ's scheduler for delayed jobs) for this app."""
    from support.jobs.worker import run

    run(
        current_app._get_current_object(),
        burst=burst,
        with_scheduler=not no_scheduler,
        fork=fork,
        max_jobs=max_jobs,
    )


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
    app.cli.add_command(user_cli)
    app.cli.add_command(kb_cli)
    app.cli.add_command(setup)
    app.cli.add_command(devserver)
    app.cli.add_command(worker)
    app.cli.add_command(mail_cli)
