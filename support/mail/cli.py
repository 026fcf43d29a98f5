"""`flask mail ingest [FILE...|-]`: the MTA pipe (Postfix, procmail) and mail imports.

Each message is stored, then filed in this process (no worker needed), and gets one
line: `<file>: <outcome> <reference or reason>`. Exit 0 when every message was stored
(a quarantined one counts: it is kept for an admin), 1 on an internal error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from support.extensions import db
from support.mail.inbound import intake
from support.models import InboundMessage

mail_cli = AppGroup("mail", help="Inbound email: the MTA pipe and mail imports.")


@mail_cli.command("ingest")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
def ingest(files: tuple[str, ...]) -> None:
    """Store and file each FILE (an RFC 822 message; `-` or none: standard input)."""
    failed = False
    for name in files or ("-",):
        try:
            line = _ingest_one(name)
        except Exception as exc:  # an internal error: said, and the exit status says it
            db.session.rollback()
            click.echo(f"{name}: error {type(exc).__name__}: {exc}", err=True)
            failed = True
            continue
        click.echo(f"{name}: {line}")
    sys.exit(1 if failed else 0)


def _ingest_one(name: str) -> str:
    raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    stored = intake.store(raw, "pipe", enqueue=False)
    outcome = intake.file_message(stored.id)
    db.session.expire_all()
    row = db.session.get(InboundMessage, stored.id)
    return f"{outcome.value} {row.reason or ''}".rstrip()
