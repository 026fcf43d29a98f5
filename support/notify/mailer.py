"""SMTP delivery of one outbox message (settings from MAIL_* in the environment)."""

from __future__ import annotations

import io
import os
import re
import secrets
import smtplib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from email.generator import BytesGenerator
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, formataddr, getaddresses
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


class _Registry(HeaderRegistry):
    """The stdlib's registry makes a new header class (`type(...)`) at every lookup, and
    the email package looks one up for every header it sets or writes: a quarter of a
    millisecond per email. Each name's class is made once here (classes never change)."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        made = self._made.get(name)
        if made is None:
            made = self._made[name] = super().__getitem__(name)
        return made


POLICY = _OwnHeaders(header_factory=_Registry())


def build(message: OutboxMessage) -> EmailMessage:
    """The email for an outbox message: text first, then the same text as HTML.

    Every header value goes through `one_line`, so nothing we write (a subject typed by
    a customer, a name, an address) can break a header in two. Automatic email says so
    (`Auto-Submitted`, RFC 3834); an agent's reply does not.
    """
    email = EmailMessage(policy=POLICY)
    name = one_line(addresses.parsed(current_app.config["MAIL_FROM"])[0])
    _header(email, "From", _from_header())
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
        _header(email, "Reply-To", formataddr((name, reply_to)))
    auto_submitted = message.kind.auto_submitted
    if auto_submitted is not None:
        # Tell mail servers and autoresponders this is automatic: no vacation-reply loops.
        _header(email, "Auto-Submitted", auto_submitted)
        _header(email, "X-Auto-Response-Suppress", "All")
    if message.ticket is not None:
        _header(email, "X-Support-Ref", message.ticket.ref)
    html = _html(message)
    email.set_content(message.body_text)
    email.make_alternative(boundary=_boundary(message.body_text, html))
    email.add_alternative(html, subtype="html")
    return email


# The multipart boundary: one per process, so the part's Content-Type header is the same
# in every email and parsed once (_MIME). Left unset, the generator made a new one per
# email and compiled a regular expression to check the text against it. Ours is checked
# too: a text that holds it (someone who read an earlier email and pasted the boundary
# into a reply) gets a fresh random one. Encoded parts can't hold it ("=" and "-").
_PROCESS_BOUNDARY = f"==support-{secrets.token_hex(16)}=="


def _boundary(*texts: str) -> str:
    if any(_PROCESS_BOUNDARY in text for text in texts):
        return f"==support-{secrets.token_hex(16)}=="
    return _PROCESS_BOUNDARY


def _from_header() -> str:
    name, address = addresses.parsed(current_app.config["MAIL_FROM"])
    return formataddr((one_line(name), one_line(address)))


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


@dataclass(frozen=True)
class Settings:
    """Where and how email goes (MAIL_*), read once in the app context, so that
    threads without one (the drain's senders) can send too."""

    backend: str
    folder: Path  # MAIL_BACKEND=file writes here
    server: str
    port: int
    tls: bool
    username: str
    password: str


def settings() -> Settings:
    config = current_app.config
    return Settings(
        backend=config["MAIL_BACKEND"],
        folder=Path(current_app.instance_path) / "mail",
        server=config["MAIL_SERVER"],
        port=config["MAIL_PORT"],
        tls=bool(config.get("MAIL_USE_TLS")),
        username=config.get("MAIL_USERNAME") or "",
        password=config.get("MAIL_PASSWORD") or "",
    )


@dataclass(frozen=True)
class Outgoing:
    """A built email as it goes on the wire: the envelope and the bytes, what smtplib's
    `send_message` would send for it; `name` is its file for MAIL_BACKEND=file."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes
    name: str
    international: bool = False  # an address is not ASCII: the server must offer SMTPUTF8


def prepare(message: OutboxMessage) -> Outgoing:
    """Build the email for `message`, ready for the wire (raises CannotBuild when it never
    can be: building is deterministic). The database's and the disk's failures pass as
    they are: they say nothing about the message, and the next attempt may well work."""
    try:
        email = build(message)
        sender = _envelope("From", _from_header())
        recipients = _envelope("To", one_line(message.to_address))
        name = f"{message.id:06d}-{message.kind}.eml"
        return wire(email, sender[0] if sender else "", recipients, name)
    except (SQLAlchemyError, OSError):
        raise
    except Exception as exc:
        raise CannotBuild(f"{type(exc).__name__}: {exc}") from exc


def wire(email: EmailMessage, sender: str, recipients: tuple[str, ...], name: str) -> Outgoing:
    """`email` flattened as `smtplib.SMTP.send_message` flattens it (CRLF line ends;
    UTF-8 headers when an address needs them), done here, in the thread that built
    it, so a sender thread only talks to the server."""
    international = not "".join([sender, *recipients]).isascii()
    policy = email.policy.clone(utf8=True) if international else None
    with io.BytesIO() as data:
        BytesGenerator(data, policy=policy).flatten(email, linesep="\r\n")
        return Outgoing(sender, recipients, data.getvalue(), name, international)


@lru_cache(maxsize=1024)
def _envelope(name: str, value: str) -> tuple[str, ...]:
    """The addresses of a From or To header as `send_message` takes them: from the parsed
    header (a stray "Cc:" typed into an address stays text, never a recipient), not the
    raw value. Cached: a ticket's emails go to the same few people."""
    header = POLICY.header_factory(name, value)
    return tuple(address for _, address in getaddresses([str(header)]))


def send(message: OutboxMessage) -> None:
    """Build and hand over one message (`transmit`); raises on any failure."""
    transmit(prepare(message))


class _Client(smtplib.SMTP):
    """smtplib's client, with a hook at the moment the server may accept a message:
    after its answer to DATA, before the message and its final dot go out.

    The drain lets one connection at a time past that point and commits the message
    `sent` before the next may pass (support/notify/drain.py), so that sending on
    several connections at once leaves no more than one message accepted by the
    server and not yet marked sent, as with one connection."""

    before_end: Callable[[], None] | None = None
    ended = False  # the message went out: the server may have accepted it

    def data(self, msg: bytes) -> tuple[int, bytes]:  # type: ignore[override]
        # smtplib.SMTP.data, with the hook (`msg` is always bytes here).
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        if self.before_end is not None:
            self.before_end()
        quoted = _LEADING_DOT.sub(b"..", msg)
        if not quoted.endswith(b"\r\n"):
            quoted += b"\r\n"
        self.ended = True
        self.send(quoted + b".\r\n")
        return self.getreply()


_LEADING_DOT = re.compile(rb"(?m)^\.")  # doubled in the data (RFC 5321 4.5.2)


class Connection:
    """One SMTP connection, kept open for the next email; used by one thread at a time
    (the pool below hands each to one sender)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pid = os.getpid()
        self._smtp: _Client | None = None
        self._last_used = 0.0

    @property
    def is_open(self) -> bool:
        return self._smtp is not None

    def send(self, outgoing: Outgoing, before_end: Callable[[], None] | None = None) -> None:
        """Hand the email to the server; raises on any failure (and closes: the next
        email starts afresh). A connection the server closed while it was idle is
        replaced once, if it closed before the message went out: nothing can have been
        accepted, so the retry sends it once. `before_end`: see _Client."""
        smtp, reused = self._connected()
        try:
            _send(smtp, outgoing, before_end)
        except smtplib.SMTPServerDisconnected:
            self.close()
            if not reused or smtp.ended:
                raise
            smtp, _ = self._connected()
            try:
                _send(smtp, outgoing, before_end)
            except BaseException:
                self.close()
                raise
        except BaseException:
            self.close()
            raise
        self._last_used = time.monotonic()

    def _connected(self) -> tuple[_Client, bool]:
        """The open connection (and True), else a new one (and False)."""
        if self._smtp is not None and time.monotonic() - self._last_used > IDLE_CHECK_SECONDS:
            try:
                self._smtp.noop()
            except (smtplib.SMTPException, OSError):
                self.close()
        if self._smtp is not None:
            return self._smtp, True
        s = self.settings
        smtp = _Client(s.server, s.port, local_hostname=_hostname(), timeout=20)
        try:
            if s.tls:
                smtp.starttls()
            if s.username:
                smtp.login(s.username, s.password)
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp, False

    def close(self) -> None:
        """QUIT and close (in a forked child: only forget the parent's socket)."""
        smtp, self._smtp = self._smtp, None
        if smtp is None or self.pid != os.getpid():
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def _send(smtp: _Client, outgoing: Outgoing, before_end: Callable[[], None] | None) -> None:
    options: tuple[str, ...] = ()
    if outgoing.international:
        smtp.ehlo_or_helo_if_needed()
        if not smtp.has_extn("smtputf8"):
            raise smtplib.SMTPNotSupportedError(
                "One or more source or delivery addresses require internationalized"
                " email support, but the server does not advertise SMTPUTF8"
            )
        options = ("SMTPUTF8", "BODY=8BITMIME")
    smtp.before_end, smtp.ended = before_end, False
    try:
        smtp.sendmail(outgoing.sender, list(outgoing.recipients), outgoing.data, options)
    finally:
        smtp.before_end = None


# This process's idle connections, the most recently used last: an in-process worker
# sends one email after another on the same one, and the drain's senders each take
# one (so there are never more open than senders at once).
_idle: list[Connection] = []
_idle_lock = threading.Lock()


def transmit(
    outgoing: Outgoing,
    to: Settings | None = None,
    before_end: Callable[[], None] | None = None,
) -> None:
    """Hand a built email to the SMTP server (`to`: settings read earlier, for a thread
    without an app context; `before_end`: see _Client); raises on any failure.

    With MAIL_BACKEND=file (what `make run` uses when no MAIL_SERVER is set) the
    message is written to instance/mail/ instead, so a laptop needs no mail server.
    """
    to = to or settings()
    if to.backend == "file":
        to.folder.mkdir(parents=True, exist_ok=True)
        (to.folder / outgoing.name).write_bytes(outgoing.data)
        return
    connection = _checkout(to)
    try:
        connection.send(outgoing, before_end)
    finally:
        with _idle_lock:
            _idle.append(connection)


def _checkout(to: Settings) -> Connection:
    """An idle connection of this process for these settings, else a new one."""
    with _idle_lock:
        while _idle:
            connection = _idle.pop()
            if connection.settings == to and connection.pid == os.getpid():
                return connection
            connection.close()  # other settings (or a forked child: forgotten)
    return Connection(to)


def open_connections() -> int:
    """How many SMTP connections this process holds open (idle ones)."""
    with _idle_lock:
        return sum(c.is_open and c.pid == os.getpid() for c in _idle)


def close() -> None:
    """Close this process's connections (a forked child only forgets its parent's)."""
    with _idle_lock:
        idle = list(_idle)
        _idle.clear()
    for connection in idle:
        connection.close()
