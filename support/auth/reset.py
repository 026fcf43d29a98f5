"""Forgot password: a signed link by email that works once, for an hour.

The token is signed (itsdangerous, with this purpose's own salt, so no other token of
ours can pass for one) and carries the account's id and a fingerprint of its current
password hash and email. Setting a new password changes the hash (each hash has its
own random salt), so a link stops working once used, and any other password change
makes every earlier link stale too: single use without a table of tokens.

Asking for a link answers the same whether or not the address has an account, and
takes the same time: the request only puts a job on the queue; the job looks the
address up and, for an active account, writes the email to the outbox.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, timedelta

from flask import current_app, render_template
from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from support import clock, urls
from support.auth import accounts
from support.extensions import db
from support.jobs import queue
from support.jobs.tasks import job
from support.models import EmailKind, OutboxMessage, User
from support.notify import outbox

PURPOSE = "password-reset"
VALID_FOR = timedelta(hours=1)
SEND = "support.auth.reset.send_link_job"


class InvalidLink(Exception):
    """Tampered with, made up, already used, or for an account that can't sign in."""


class ExpiredLink(InvalidLink):
    """Genuine, but older than VALID_FOR."""


class _ClockSigner(TimestampSigner):
    """Timestamps from support.clock, so tests can move time (itsdangerous reads time.time)."""

    def get_timestamp(self) -> int:
        return int(clock.now().replace(tzinfo=UTC).timestamp())


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=PURPOSE, signer=_ClockSigner
    )


def _fingerprint(user: User) -> str:
    """Changes when the password (or the email) does; keyed, so the token, which anyone
    holding it can decode, says nothing about the hash."""
    key = current_app.config["SECRET_KEY"].encode()
    material = f"{user.id}:{user.email}:{user.password_hash}".encode()
    return hmac.new(key, material, hashlib.sha256).hexdigest()[:32]


def token_for(user: User) -> str:
    return _serializer().dumps([user.id, _fingerprint(user)])


def reset_url(user: User) -> str:
    return urls.external_url("auth.reset_password", token=token_for(user))


def user_for(token: str) -> User:
    """The account a link may set a new password for; ExpiredLink or InvalidLink if none."""
    try:
        payload = _serializer().loads(token, max_age=int(VALID_FOR.total_seconds()))
    except SignatureExpired as exc:
        raise ExpiredLink from exc
    except (BadData, UnicodeError, ValueError) as exc:
        raise InvalidLink from exc
    if not (isinstance(payload, list) and len(payload) == 2):
        raise InvalidLink
    user_id, fingerprint = payload
    if not isinstance(user_id, int) or not isinstance(fingerprint, str):
        raise InvalidLink
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        raise InvalidLink
    if not hmac.compare_digest(fingerprint, _fingerprint(user)):
        raise InvalidLink  # used already, or the password changed since the link was sent
    return user


def set_new_password(user: User, password: str) -> None:
    """The new password; every session and "keep me signed in" cookie so far ends, and
    every outstanding link (this one included) stops working."""
    user.set_password(password)
    user.end_sessions()
    db.session.commit()


def ask_for_link(email: str) -> None:
    """Someone asked for a link for `email`. The same work whether or not it has an
    account: one job. With Redis down, the job's work is done here (the sweep delivers
    the email later), which is slower only while Redis is down."""
    email = accounts.normalise_email(email)
    nonce = secrets.token_urlsafe(16)
    if not queue.enqueue(SEND, email, nonce, job_id=f"password-reset-{nonce}"):
        send_link(email, nonce)


def send_link(email: str, nonce: str) -> OutboxMessage | None:
    """Write the reset email to the outbox for an active account with this address, and
    deliver it after the commit; None for anyone else. Once per `nonce` (a retried job
    sends nothing twice)."""
    user = accounts.find_by_email(email)
    if user is None or not user.is_active:
        return None
    site_name = current_app.config["SITE_NAME"]
    message = outbox.queue_email(
        key=f"{PURPOSE}:{nonce}",
        kind=EmailKind.ACCOUNT,
        to=user.email,
        subject=f"Reset your {site_name} password",
        body=render_template(
            "emails/password_reset.txt",
            user=user,
            url=reset_url(user),
            valid_until=clock.now() + VALID_FOR,
            site_name=site_name,
        ),
    )
    if message is not None:
        key = message.idempotency_key
        queue.after_commit(outbox.DELIVER, key, job_id=outbox.job_id(key))
    db.session.commit()
    return message


@job
def send_link_job(email: str, nonce: str) -> str:
    """The RQ job behind `ask_for_link`. It lives here rather than in support.jobs.tasks
    because the domain packages never import the screens' packages (support.auth is one).
    Its answer never says whether the address has an account (results stay in Redis)."""
    send_link(email, nonce)
    return "done"
