"""Signed links by email that work once and expire: reset, verify, claim, email change.

A token is signed (itsdangerous) with its purpose as the salt, so no token of ours can
pass for another kind, and carries the account's id, a keyed fingerprint of what the
link may change (the password hash, the email, whether it is verified), and any extra
values. Once the link has done its work the fingerprint no longer matches: single use
without a table of tokens.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from flask import current_app, render_template
from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from support import clock
from support.extensions import db
from support.jobs import queue
from support.models import EmailKind, OutboxMessage, User
from support.notify import outbox


class InvalidLink(Exception):
    """Tampered with, made up, already used, or for an account that can't sign in."""


class ExpiredLink(InvalidLink):
    """Genuine, but older than the link's lifetime."""


class UsedLink(InvalidLink):
    """Genuine and in time, but what it was for has happened (or changed) since."""


class _ClockSigner(TimestampSigner):
    """Timestamps from support.clock, so tests can move time (itsdangerous reads time.time)."""

    def get_timestamp(self) -> int:
        return int(clock.now().replace(tzinfo=UTC).timestamp())


@dataclass(frozen=True)
class LinkKind:
    purpose: str  # the salt: a token for one purpose is worthless for another
    valid_for: timedelta
    material: Callable[[User], str]  # what the link may change; it must change once used

    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(
            current_app.config["SECRET_KEY"], salt=self.purpose, signer=_ClockSigner
        )

    def fingerprint(self, user: User) -> str:
        """Keyed, so the token, which anyone holding it can decode, says nothing of it."""
        key = current_app.config["SECRET_KEY"].encode()
        text = f"{self.purpose}:{user.id}:{self.material(user)}".encode()
        return hmac.new(key, text, hashlib.sha256).hexdigest()[:32]

    def token(self, user: User, *extra: str) -> str:
        return self._serializer().dumps([user.id, self.fingerprint(user), *extra])

    def load(self, token: str, extras: int = 0) -> tuple[User, list[Any]]:
        """The active account a token is for, and its extra values; ExpiredLink, UsedLink
        or InvalidLink otherwise."""
        try:
            payload = self._serializer().loads(token, max_age=int(self.valid_for.total_seconds()))
        except SignatureExpired as exc:
            raise ExpiredLink from exc
        except (BadData, UnicodeError, ValueError) as exc:
            raise InvalidLink from exc
        if not (isinstance(payload, list) and len(payload) == 2 + extras):
            raise InvalidLink
        user_id, fingerprint, *rest = payload
        if not isinstance(user_id, int) or not all(isinstance(v, str) for v in payload[1:]):
            raise InvalidLink
        user = db.session.get(User, user_id)
        if user is None or not user.is_active:
            raise InvalidLink
        if not hmac.compare_digest(fingerprint, self.fingerprint(user)):
            raise UsedLink
        return user, rest


def account_email(
    *, key: str, to: str, subject: str, template: str, reader: User | None, **context: Any
) -> OutboxMessage | None:
    """Write an email about an account (never turned off) to the outbox, once per `key`,
    and deliver it after the commit (the caller commits). Times in it are in `reader`'s
    zone; every template gets the site's name."""
    site_name = current_app.config["SITE_NAME"]
    message = outbox.queue_email(
        key=key,
        kind=EmailKind.ACCOUNT,
        to=to,
        subject=subject,
        body=render_template(template, reader=reader, site_name=site_name, **context),
    )
    if message is not None:
        queue.after_commit(outbox.DELIVER, key, job_id=outbox.job_id(key))
    return message
