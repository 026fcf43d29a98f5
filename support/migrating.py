"""Flask-Migrate (Alembic), loaded only when something migrates: `flask db ...`,
`flask setup`, the dev server.

Importing Flask-Migrate imports Alembic, about a third of a second of CPU that every
other process building the app (each web worker, `flask worker`, any other `flask`
command) would pay at start-up for commands it never runs. `flask db ...` works as
before: its group is Flask-Migrate's own, fetched when `db` is typed.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Flask

from support.extensions import db


def attach(app: Flask) -> None:
    """Bind Flask-Migrate to the app, once: what its commands, `upgrade()` and
    migrations/env.py read (app.extensions["migrate"])."""
    if "migrate" in app.extensions:
        return
    from flask_migrate import Migrate

    from support import ROOT
    from support.tickets import search

    # The ticket search table is made by its own SQL (support/tickets/search.py):
    # autogenerate leaves it alone.
    Migrate(
        app,
        db,
        directory=str(ROOT / "migrations"),
        render_as_batch=True,
        include_name=search.outside_models,
    )


def upgrade(app: Flask) -> None:
    """Apply every migration (Flask-Migrate's `upgrade`, in an app context)."""
    attach(app)
    from flask_migrate import upgrade as alembic_upgrade

    alembic_upgrade()


class _MigrationCommands(click.Group):
    """Stands in for Flask-Migrate's `db` group until `flask db ...` is run: then
    hands over to the real group (its options, subcommands and help)."""

    def __init__(self, app: Flask) -> None:
        super().__init__("db", help="Perform database migrations.")
        self.app = app

    def _real(self) -> click.Group:
        attach(self.app)  # adds Flask-Migrate's group to app.cli in place of this one
        from flask_migrate.cli import db as commands

        return commands

    def make_context(self, info_name: str | None, args: list[str], **extra: Any) -> click.Context:
        return self._real().make_context(info_name, args, **extra)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._real().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._real().list_commands(ctx)


def init_app(app: Flask) -> None:
    app.cli.add_command(_MigrationCommands(app))
