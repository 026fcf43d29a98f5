"""SMTP delivery of one outbox message (settings from MAIL_* in the environment)."""

from __future__ import annotations

import smtplib
import socket
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from functools import cache
from pathlib import Path

from flask import current_app

from support.models import OutboxMessage


def build(message: OutboxMessage) -> EmailMessage:
    config = current_app.config
    email = EmailMessage()
    name, address = parseaddr(config["MAIL_FROM"])
    email["From"] = formataddr((name, address))
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Message-ID"] = message.message_id
    if message.in_reply_to:
        email["In-Reply-To"] = message.in_reply_to
        email["References"] = message.in_reply_to
    # Tell mail servers and autoresponders this is automatic: no vacation-reply loops.
    email["Auto-Submitted"] = "auto-generated"
    email["X-Auto-Response-Suppress"] = "All"
    if message.ticket is not None:
        email["X-Support-Ref"] = message.ticket.ref
    email.set_content(message.body_text)
    return email


@cache
def _hostname() -> str:
    """Our name in EHLO; looked up once per process (smtplib would do it per message)."""
    return socket.getfqdn()


def send(message: OutboxMessage) -> None:
    """Hand the message to the SMTP server; raises on any failure.

    With MAIL_BACKEND=file (what `make run` uses when no MAIL_SERVER is set) the
    message is written to instance/mail/ instead, so a laptop needs no mail server.
    """
    config = current_app.config
    if config["MAIL_BACKEND"] == "file":
        folder = Path(current_app.instance_path) / "mail"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{message.id:06d}-{message.kind}.eml"
        (folder / name).write_bytes(bytes(build(message)))
        return
    server, port = config["MAIL_SERVER"], config["MAIL_PORT"]
    with smtplib.SMTP(server, port, local_hostname=_hostname(), timeout=20) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(build(message))
