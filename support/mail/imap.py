"""IMAP polling: fetch new messages from the support mailbox and hand each one over.

`poll(deliver)` calls `deliver(raw_bytes)` for every message not handled yet, and only
after `deliver` returned (the raw copy is committed) marks the message on the server:
moved to `IMAP_DONE_FOLDER` when that is set, else flagged `\\Seen` and
`$SupportDeskFiled`. Nothing is lost and nothing is fetched twice in normal operation:

- a UID watermark per mailbox and UIDVALIDITY (`ImapMailboxState`) means each poll
  searches only above it; a message whose `deliver` raised holds the watermark back, so
  it is fetched again next poll while the flag keeps the ones after it from coming back;
- when the server changes UIDVALIDITY the watermark starts again at 0 and the flags say
  what was done (if the server lost those too, everything is delivered again, which the
  idempotent intake turns into nothing);
- a crash between `deliver` and the flag only means one harmless re-fetch;
- one bad message (unreadable, or `deliver` raising) is logged and skipped for this
  poll; the rest of the mailbox goes on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from imapclient import IMAPClient
from sqlalchemy import select

from support import clock
from support.extensions import db
from support.models.imap import ImapMailboxState

log = logging.getLogger(__name__)

FILED_KEYWORD = b"$SupportDeskFiled"
SEEN = b"\\Seen"
# A fetch asks for at most this many messages, or this many bytes, at once.
BATCH_MESSAGES = 50
BATCH_BYTES = 8 * 1024 * 1024
TLS_MODES = ("ssl", "starttls", "off")


@dataclass(frozen=True)
class ImapSettings:
    host: str
    user: str
    password: str = field(repr=False)
    port: int = 993
    tls: str = "ssl"
    folder: str = "INBOX"
    done_folder: str = ""
    timeout: float = 30.0

    @property
    def mailbox_key(self) -> str:
        """Names the mailbox in `ImapMailboxState`: another account or folder starts afresh."""
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> ImapSettings | None:
        """The settings from the environment, or None when IMAP_HOST is not set (polling off)."""
        env = os.environ if environ is None else environ
        host = env.get("IMAP_HOST", "").strip()
        if not host:
            return None
        tls = env.get("IMAP_TLS", "ssl").strip().lower() or "ssl"
        if tls not in TLS_MODES:
            raise ValueError(f"IMAP_TLS must be one of {', '.join(TLS_MODES)}, not {tls!r}")
        default_port = 993 if tls == "ssl" else 143
        return cls(
            host=host,
            port=_number(env, "IMAP_PORT", default_port),
            tls=tls,
            user=env.get("IMAP_USER", ""),
            password=env.get("IMAP_PASSWORD", ""),
            folder=env.get("IMAP_FOLDER") or "INBOX",
            done_folder=env.get("IMAP_DONE_FOLDER", ""),
            timeout=_number(env, "IMAP_TIMEOUT_SECONDS", 30),
        )


def _number(env: dict[str, str] | os._Environ[str], name: str, default: int) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) == 0:
        raise ValueError(f"{name} must be a whole number above 0, not {raw!r}")
    return int(raw)


@dataclass
class PollResult:
    delivered: int = 0
    failed: int = 0
    uidvalidity_changed: bool = False

    def __str__(self) -> str:
        return f"{self.delivered} delivered, {self.failed} failed"


class StateStore(Protocol):
    def load(self, mailbox: str) -> tuple[int, int]: ...

    def save(self, mailbox: str, uidvalidity: int, last_uid: int) -> None: ...


class DatabaseState:
    """The watermark in the database (needs an app context)."""

    def load(self, mailbox: str) -> tuple[int, int]:
        row = db.session.scalar(select(ImapMailboxState).filter_by(mailbox=mailbox))
        return (row.uidvalidity, row.last_uid) if row else (0, 0)

    def save(self, mailbox: str, uidvalidity: int, last_uid: int) -> None:
        row = db.session.scalar(select(ImapMailboxState).filter_by(mailbox=mailbox))
        if row is None:
            row = ImapMailboxState(mailbox=mailbox)
            db.session.add(row)
        row.uidvalidity, row.last_uid, row.polled_at = uidvalidity, last_uid, clock.now()
        db.session.commit()


def connect(settings: ImapSettings) -> IMAPClient:
    context = ssl.create_default_context()
    client = IMAPClient(
        settings.host,
        port=settings.port,
        ssl=settings.tls == "ssl",
        ssl_context=context if settings.tls == "ssl" else None,
        timeout=settings.timeout,
    )
    try:
        if settings.tls == "starttls":
            client.starttls(context)
        client.login(settings.user, settings.password)
    except Exception:
        _close(client)
        raise
    return client


def poll(
    deliver: Callable[[bytes], Any],
    settings: ImapSettings | None = None,
    state: StateStore | None = None,
) -> PollResult:
    """Deliver every new message of the configured folder once; see the module docstring.

    Connection errors propagate (after the progress so far is saved): the next poll
    carries on from there.
    """
    settings = settings or ImapSettings.from_env()
    if settings is None:
        raise RuntimeError("IMAP is not configured: set IMAP_HOST (see README, Configuration)")
    state = state or DatabaseState()
    client = connect(settings)
    try:
        return _poll_folder(client, settings, state, deliver)
    finally:
        _close(client)


def _poll_folder(
    client: IMAPClient, settings: ImapSettings, state: StateStore, deliver: Callable[[bytes], Any]
) -> PollResult:
    selected = client.select_folder(settings.folder)
    uidvalidity = int(selected[b"UIDVALIDITY"])
    use_keyword = b"\\*" in selected.get(b"PERMANENTFLAGS", ())
    known_validity, watermark = state.load(settings.mailbox_key)
    result = PollResult()
    if known_validity != uidvalidity:
        if known_validity:
            log.warning(
                "IMAP %s: UIDVALIDITY changed (%s -> %s); starting again from the flags",
                settings.mailbox_key,
                known_validity,
                uidvalidity,
            )
            result.uidvalidity_changed = True
        watermark = 0
    criteria: list[Any] = ["UID", f"{watermark + 1}:*", "NOT", "DELETED"]
    if use_keyword and not settings.done_folder:
        criteria += ["UNKEYWORD", FILED_KEYWORD.decode()]
    # "n:*" also matches the highest UID when it is below n: filter on our side.
    pending = sorted(uid for uid in client.search(criteria) if uid > watermark)
    progress = _Progress(watermark)
    try:
        for uid, raw in _fetch(client, pending):
            if raw is None:
                log.error("IMAP %s: message UID %s could not be read", settings.mailbox_key, uid)
                progress.failed(uid)
                result.failed += 1
                continue
            try:
                deliver(raw)
            except Exception:
                # One bad message never blocks the others; it stays and comes back next poll.
                log.exception("IMAP %s: delivering UID %s failed", settings.mailbox_key, uid)
                progress.failed(uid)
                result.failed += 1
                continue
            _mark_done(client, uid, settings, use_keyword)
            progress.done(uid)
            result.delivered += 1
    finally:
        _save(state, settings.mailbox_key, uidvalidity, progress.watermark)
    return result


class _Progress:
    """The highest UID up to which every message was delivered."""

    def __init__(self, watermark: int) -> None:
        self.watermark = watermark
        self.blocked = False

    def done(self, uid: int) -> None:
        if not self.blocked:
            self.watermark = max(self.watermark, uid)

    def failed(self, uid: int) -> None:
        self.blocked = True


def _fetch(client: IMAPClient, uids: list[int]) -> Iterator[tuple[int, bytes | None]]:
    """(uid, raw) in UID order, a batch of bounded size at a time; None when unreadable."""
    if not uids:
        return
    sizes = client.fetch(uids, ["RFC822.SIZE"])
    for batch in _batches(
        uids, {uid: int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0)) for uid in uids}
    ):
        bodies = client.fetch(batch, ["BODY.PEEK[]"])
        for uid in batch:
            yield uid, bodies.get(uid, {}).get(b"BODY[]")


def _batches(uids: list[int], sizes: dict[int, int]) -> Iterator[list[int]]:
    batch: list[int] = []
    total = 0
    for uid in uids:
        if batch and (len(batch) >= BATCH_MESSAGES or total + sizes[uid] > BATCH_BYTES):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += sizes[uid]
    if batch:
        yield batch


def _mark_done(client: IMAPClient, uid: int, settings: ImapSettings, use_keyword: bool) -> None:
    if settings.done_folder:
        if client.has_capability("MOVE"):
            client.move([uid], settings.done_folder)
        else:  # RFC 6851's fallback: copy, then remove just this one (UIDPLUS) or flag it
            client.copy([uid], settings.done_folder)
            client.add_flags([uid], [SEEN, b"\\Deleted"])
            if client.has_capability("UIDPLUS"):
                client.uid_expunge([uid])
        return
    client.add_flags([uid], [SEEN, FILED_KEYWORD] if use_keyword else [SEEN])


def _save(state: StateStore, mailbox: str, uidvalidity: int, watermark: int) -> None:
    try:
        state.save(mailbox, uidvalidity, watermark)
    except Exception:
        # Losing the watermark only costs a re-fetch (harmless); a lost message would not.
        log.exception("IMAP %s: could not save the UID watermark", mailbox)
        db.session.rollback()


def _close(client: IMAPClient) -> None:
    """Log out, or just drop the socket when the connection is already gone."""
    try:
        client.logout()
    except Exception:
        with contextlib.suppress(Exception):
            client.shutdown()
