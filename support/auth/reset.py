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

import secrets
from datetime import timedelta

from flask import current_app

from support import clock, urls
from support.auth import accounts, links
from support.extensions import db
from support.jobs import queue
from support.jobs.tasks import job
from support.models import OutboxMessage, User

PURPOSE = "password-reset"
VALID_FOR = timedelta(hours=1)
SEND = "support.auth.reset.send_link_job"


InvalidLink = links.InvalidLink
ExpiredLink = links.ExpiredLink
# The password hash (each has its own random salt) and the email: a new password ends
# this link and every earlier one.
LINK = links.LinkKind(PURPOSE, VALID_FOR, lambda user: f"{user.email}:{user.password_hash}")


def token_for(user: User) -> str:
    return LINK.token(user)


def reset_url(user: User) -> str:
    return urls.external_url("auth.reset_password", token=token_for(user))


def user_for(token: str) -> User:
    """The account a link may set a new password for; ExpiredLink or InvalidLink if none."""
    return LINK.load(token)[0]


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
    message = links.account_email(
        key=f"{PURPOSE}:{nonce}",
        to=user.email,
        subject=f"Reset your {current_app.config['SITE_NAME']} password",
        template="emails/password_reset.txt",
        reader=user,
        user=user,
        url=reset_url(user),
        valid_until=clock.now() + VALID_FOR,
    )
    db.session.commit()
    return message


@job
def send_link_job(email: str, nonce: str) -> str:
    """The RQ job behind `ask_for_link`. It lives here rather than in support.jobs.tasks
    because the domain packages never import the screens' packages (support.auth is one).
    Its answer never says whether the address has an account (results stay in Redis)."""
    send_link(email, nonce)
    return "done"
