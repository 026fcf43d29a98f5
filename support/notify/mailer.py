"""SMTP delivery of one outbox message (settings from MAIL_* in the environment)."""

from __future__ import annotations

import os
import smtplib
import socket
import time
from dataclasses import dataclass
from datetime import UTC
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, formataddr, parseaddr
from functools import cache, lru_cache
from pathlib import Path

from flask import current_app, render_template
from sqlalchemy.exc import SQLAlchemyError

from support import urls
from support.mail import addresses
from support.models import EmailKind, OutboxMessage
from support.text import one_line, plain_to_html


class CannotBuild(Exception):
    """The message can never become an email (building it is deterministic: a retry
    would fail the same way). The outbox gives up on it at once."""


# The headers `build` writes (lower case); see _OwnHeaders.
_VERBATIM = frozenset(
    {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "reply-to",
        "auto-submitted",
        "x-auto-response-suppress",
        "x-support-ref",
    }
)


class _OwnHeaders(EmailPolicy):
    """`email.policy.default`, except for the headers `build` writes when a value is
    ASCII, one line, fits the line and holds no encoded word: stored as written, not
    parsed into a structured header object, and written out as is (what folding it
    would give: nothing to encode, nothing to fold; tests/unit/test_mail_policy.py).
    Parsing them was about a third of building an email. Anything else (non-ASCII,
    long, the MIME headers) takes the default path."""

    def header_store_parse(self, name, value):  # type: ignore[no-untyped-def]
        if (
            name.lower() in _VERBATIM
            and isinstance(value, str)
            and value.isascii()
            and len(name) + 2 + len(value) <= self.max_line_length
            and "\r" not in value
            and "\n" not in value
            and "=?" not in value  # an encoded word typed by someone: the parser decodes it
        ):
            return (name, value)
        if name.lower() in _MIME and isinstance(value, str):
            return (name, _mime_header(self.header_factory, name, value))
        return super().header_store_parse(name, value)


# The MIME headers set_content and add_alternative write: the same few values in
# every email ('text/plain; charset="utf-8"', '7bit', '1.0' …), parsed once. A header
# object never changes once made (a new value is a new object), so sharing is safe;
# the multipart's Content-Type, unique by its boundary, only passes through.
_MIME = frozenset({"content-type", "content-transfer-encoding", "mime-version"})


@lru_cache(maxsize=64)
def _mime_header(factory, name: str, value: str):  # type: ignore[no-untyped-def]
    if "\r" in value or "\n" in value:
        raise ValueError("Header values may not contain linefeed or carriage return characters")
    return factory(name, value)


POLICY = _OwnHeaders()


def build(message: OutboxMessage) -> EmailMessage:
    """The email for an outbox message: text first, then the same text as HTML.

    Every header value goes through `one_line`, so nothing we write (a subject typed by
    a customer, a name, an address) can break a header in two. Automatic email says so
    (`Auto-Submitted`, RFC 3834); an agent's reply does not.
    """
    config = current_app.config
    email = EmailMessage(policy=POLICY)
    name, address = parseaddr(config["MAIL_FROM"])
    _header(email, "From", formataddr((one_line(name), one_line(address))))
    _header(email, "To", message.to_address)
    _header(email, "Subject", message.subject)
    # The time it was written, not sent: a retry hours later keeps its place in the inbox.
    _header(email, "Date", format_datetime(message.created_at.replace(tzinfo=UTC)))
    _header(email, "Message-ID", message.message_id)
    if message.in_reply_to:
        _header(email, "In-Reply-To", message.in_reply_to)
        _header(email, "References", message.in_reply_to)
    if message.ticket is not None:
        # Replies come back to the support mailbox saying which ticket, signed for this
        # recipient (support/mail/addresses.py checks it when the reply arrives).
        reply_to = addresses.reply_address(message.ticket.ref, one_line(message.to_address))
        _header(email, "Reply-To", formataddr((one_line(name), reply_to)))
    auto_submitted = message.kind.auto_submitted
    if auto_submitted is not None:
        # Tell mail servers and autoresponders this is automatic: no vacation-reply loops.
        _header(email, "Auto-Submitted", auto_submitted)
        _header(email, "X-Auto-Response-Suppress", "All")
    if message.ticket is not None:
        _header(email, "X-Support-Ref", message.ticket.ref)
    email.set_content(message.body_text)
    email.add_alternative(_html(message), subtype="html")
    return email


def _header(email: EmailMessage, name: str, value: str) -> None:
    email[name] = one_line(value)


def _html(message: OutboxMessage) -> str:
    """The text part as HTML (escaped, paragraphs, clickable links) in the email layout:
    one source (templates/emails/*.txt) for both parts."""
    link, label = None, None
    if message.ticket is not None:
        if message.kind == EmailKind.ESCALATION:  # to agents: their panel, not the portal
            link, label = urls.external_url("board.ticket", ref=message.ticket.ref), "the ticket"
        else:
            link = urls.external_url("portal.detail", ref=message.ticket.ref)
            label = "your request"
    return render_template(
        "emails/layout.html",
        subject=one_line(message.subject),
        body=plain_to_html(message.body_text),
        site_name=current_app.config["SITE_NAME"],
        link=link,
        link_label=label,
    )


@cache
def _hostname() -> str:
    """Our name in EHLO; looked up once per process (smtplib would do it per message)."""
    return socket.getfqdn()


# An idle connection older than this is checked (NOOP) before it is used again:
# servers drop idle clients after a while, and a stale socket fails only when written to.
IDLE_CHECK_SECONDS = 30


@dataclass
class _Open:
    """This process's SMTP connection, reused by the next email (one worker, one job
    at a time: the connection is never shared between threads)."""

    smtp: smtplib.SMTP
    settings: tuple
    pid: int
    last_used: float


_open: _Open | None = None


@dataclass(frozen=True)
class Outgoing:
    """A built email, ready to hand over; `name` is its file for MAIL_BACKEND=file."""

    email: EmailMessage
    name: str


def prepare(message: OutboxMessage) -> Outgoing:
    """Build the email for `message` (raises CannotBuild when it never can be)."""
    return Outgoing(_built(message), f"{message.id:06d}-{message.kind}.eml")


def send(message: OutboxMessage) -> None:
    """Build and hand over one message (`transmit`); raises on any failure."""
    transmit(prepare(message))


def transmit(outgoing: Outgoing) -> None:
    """Hand a built email to the SMTP server; raises on any failure.

    The connection stays open for the next message (an in-process worker sends
    one email after another); a connection the server closed meanwhile is
    replaced once. With MAIL_BACKEND=file (what `make run` uses when no
    MAIL_SERVER is set) the message is written to instance/mail/ instead, so a
    laptop needs no mail server.
    """
    config = current_app.config
    email = outgoing.email
    if config["MAIL_BACKEND"] == "file":
        folder = Path(current_app.instance_path) / "mail"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / outgoing.name).write_bytes(bytes(email))
        return
    smtp, reused = _connection()
    try:
        smtp.send_message(email)
    except smtplib.SMTPServerDisconnected:
        close()
        if not reused:
            raise
        # The server hung up on an idle connection before our first command got an
        # answer: nothing was accepted, so one more try on a fresh one sends it once.
        smtp, _ = _connection()
        _send_or_close(smtp, email)
    except BaseException:
        close()  # in an unknown state: the next message starts afresh
        raise
    if _open is not None:
        _open.last_used = time.monotonic()


def _built(message: OutboxMessage) -> EmailMessage:
    """`build`, with its failures as CannotBuild, except the database's and the disk's:
    those say nothing about the message, and pass (the next attempt may well work)."""
    try:
        return build(message)
    except (SQLAlchemyError, OSError):
        raise
    except Exception as exc:
        raise CannotBuild(f"{type(exc).__name__}: {exc}") from exc


def _send_or_close(smtp: smtplib.SMTP, email: EmailMessage) -> None:
    try:
        smtp.send_message(email)
    except BaseException:
        close()
        raise


def _settings() -> tuple:
    config = current_app.config
    return (
        config["MAIL_SERVER"],
        config["MAIL_PORT"],
        bool(config.get("MAIL_USE_TLS")),
        config.get("MAIL_USERNAME") or "",
        config.get("MAIL_PASSWORD") or "",
    )


def _connection() -> tuple[smtplib.SMTP, bool]:
    """This process's open connection for the current settings (and whether it was
    open already), else a new one."""
    global _open
    settings = _settings()
    if _open is not None and (_open.pid != os.getpid() or _open.settings != settings):
        close()
    if _open is not None and time.monotonic() - _open.last_used > IDLE_CHECK_SECONDS:
        try:
            _open.smtp.noop()
        except (smtplib.SMTPException, OSError):
            close()
    if _open is not None:
        return _open.smtp, True
    server, port, tls, username, password = settings
    smtp = smtplib.SMTP(server, port, local_hostname=_hostname(), timeout=20)
    try:
        if tls:
            smtp.starttls()
        if username:
            smtp.login(username, password)
    except BaseException:
        smtp.close()
        raise
    _open = _Open(smtp, settings, os.getpid(), time.monotonic())
    return smtp, False


def close() -> None:
    """Close this process's connection (a forked child only forgets its parent's)."""
    global _open
    current, _open = _open, None
    if current is None or current.pid != os.getpid():
        return
    try:
        current.smtp.quit()
    except (smtplib.SMTPException, OSError):
        current.smtp.close()
