"""The IMAP poll as an RQ job (`rq cron` runs it every IMAP_POLL_SECONDS when IMAP_HOST
is set): each message's raw copy is committed by the intake, then marked on the server."""

from __future__ import annotations

import logging
import secrets

from imapclient.exceptions import IMAPClientError, LoginError
from redis.exceptions import RedisError

from support.jobs.redis import connection
from support.jobs.tasks import job
from support.mail import imap
from support.mail.inbound import intake

log = logging.getLogger(__name__)
LOCK_KEY = "support:imap-poll"


def store_from_imap(raw: bytes) -> None:
    """What `poll` delivers to: returns once the raw message is committed (or raises)."""
    intake.store(raw, "imap")


def _lock(key: str, seconds: int) -> str | None:
    """One poll at a time (a slow poll and the next cron run would fetch the same mail;
    harmless, but twice the work). Without Redis the poll runs unlocked."""
    token = secrets.token_hex(8)
    try:
        return token if connection().set(key, token, nx=True, ex=seconds) else None
    except RedisError:
        return token


def _unlock(key: str, token: str) -> None:
    try:
        if connection().get(key) == token.encode():
            connection().delete(key)
    except RedisError:
        pass


@job
def poll_mailbox() -> str:
    """Fetch and store new mail. A mailbox that is unreachable is logged and tried again
    next run; a refused login raises (the job fails visibly on /admin/jobs)."""
    settings = imap.ImapSettings.from_env()
    if settings is None:
        return "IMAP is not configured (IMAP_HOST is empty)"
    key = f"{LOCK_KEY}:{settings.mailbox_key}"
    token = _lock(key, int(settings.timeout * 10))
    if token is None:
        return "another poll is running"
    try:
        result = imap.poll(store_from_imap, settings)
    except LoginError:
        raise
    except (OSError, IMAPClientError) as exc:
        log.warning("IMAP %s unreachable, trying again next run: %s", settings.mailbox_key, exc)
        return f"unreachable: {exc}"
    finally:
        _unlock(key, token)
    log.info("IMAP %s: %s", settings.mailbox_key, result)
    return str(result)
