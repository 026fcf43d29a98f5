"""Proving an address: verify it after registering, claim an account made for it, change
to a new one. Each is a signed link by email that works once (support/auth/links.py).

Registration and email changes never say whether an address has an account: an address
that is taken gets the same answer on the page, and its owner gets a notice instead of
a link.

`send_claim_link` is how an account made for someone who never registered (an email to
support, an agent, the API) is handed to them: the link lets them choose a password.
Domain packages must not import this screen package; they enqueue CLAIM_JOB with the
account's id instead.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from support import clock, urls
from support.auth import accounts, links
from support.extensions import db
from support.jobs.tasks import job
from support.models import User
from support.tickets import search

VERIFY = links.LinkKind(
    "email-verify", timedelta(days=7), lambda user: f"{user.email}:{user.email_verified_at}"
)
CLAIM = links.LinkKind(
    "account-claim", timedelta(days=7), lambda user: f"{user.email}:{user.password_hash}"
)
# The new address travels in the token; the fingerprint covers the current one, so the
# link dies once the change is made (or the password changes meanwhile).
EMAIL_CHANGE = links.LinkKind(
    "email-change", timedelta(hours=24), lambda user: f"{user.email}:{user.password_hash}"
)
CLAIM_JOB = "support.auth.verify.send_claim_link_job"


def _site() -> str:
    return current_app.config["SITE_NAME"]


def _key(purpose: str) -> str:
    return f"{purpose}:{secrets.token_urlsafe(16)}"


def _until(kind: links.LinkKind):
    return clock.now() + kind.valid_for


# --- registering ----------------------------------------------------------------------------


def register(*, email: str, name: str, password: str) -> User | None:
    """A new account, with a link to verify its address; for an address that has one
    already, a notice to its owner instead, or a claim link when the account was made for
    them by email and never claimed (and a password hashed all the same, so every path
    takes as long). The caller shows the same page either way. None when taken."""
    existing = accounts.find_by_email(email)
    if existing is None:
        try:
            user = accounts.create_user(email=email, name=name, password=password)
        except accounts.EmailTaken:  # registered by a concurrent request meanwhile
            existing = accounts.find_by_email(email)
        else:
            send_verification(user)
            return user
    generate_password_hash(password)
    if existing is not None and existing.is_unclaimed:
        # Made for them by their first email to us: a link to choose a password claims it.
        send_claim_link(existing)
    elif existing is not None:
        _tell_owner(existing, "emails/already_registered.txt", "Someone tried to register")
    db.session.commit()
    return None


def _tell_owner(user: User, template: str, subject: str) -> None:
    links.account_email(
        key=_key("taken-notice"),
        to=user.email,
        subject=f"{subject} with your {_site()} address",
        template=template,
        reader=user,
        user=user,
        login_url=urls.external_url("auth.login"),
        reset_url=urls.external_url("auth.forgot_password"),
    )


# --- verifying an address --------------------------------------------------------------------


def send_verification(user: User) -> None:
    """Email `user` a link that confirms their address (works once, for 7 days); commits."""
    links.account_email(
        key=_key("verify"),
        to=user.email,
        subject=f"Confirm your email address for {_site()}",
        template="emails/verify_email.txt",
        reader=user,
        user=user,
        url=urls.external_url("auth.verify_email", token=VERIFY.token(user)),
        valid_until=_until(VERIFY),
    )
    db.session.commit()


def verify(token: str) -> User:
    """Mark the address of the link's account as proven; the link's errors otherwise
    (UsedLink once it is verified: the view says so)."""
    user = VERIFY.load(token)[0]
    user.email_verified_at = clock.now()
    db.session.commit()
    return user


# --- claiming an account made for someone -----------------------------------------------------


def send_claim_link(user: User) -> None:
    """Email the owner of an account made for them (inbound email, an agent, the API) a
    link to choose a password; it works once, for 7 days. Commits."""
    links.account_email(
        key=_key("claim"),
        to=user.email,
        subject=f"Your {_site()} account: choose a password",
        template="emails/claim_account.txt",
        reader=user,
        user=user,
        url=urls.external_url("auth.claim_account", token=CLAIM.token(user)),
        valid_until=_until(CLAIM),
    )
    db.session.commit()


@job
def send_claim_link_job(user_id: int) -> str:
    """CLAIM_JOB: `send_claim_link` for code that must not import support.auth."""
    user = db.session.get(User, user_id)
    if user is not None and user.is_active:
        send_claim_link(user)
    return "done"


def claim(user: User, password: str) -> None:
    """The owner chose a password through their claim link: the address is proven, every
    earlier session ends, and the link (a fingerprint of the old hash) stops working."""
    user.set_password(password)
    user.email_verified_at = user.email_verified_at or clock.now()
    user.end_sessions()
    db.session.commit()


# --- changing the address ----------------------------------------------------------------------


def request_email_change(user: User, new_email: str) -> None:
    """A link to `new_email` that makes it the account's address. When another account
    has that address its owner gets a notice instead: the page answers the same."""
    new_email = accounts.normalise_email(new_email)
    owner = accounts.find_by_email(new_email)
    if owner is not None and owner.id != user.id:
        _tell_owner(owner, "emails/address_in_use.txt", "Someone tried to use")
    elif owner is None:
        links.account_email(
            key=_key("email-change"),
            to=new_email,
            subject=f"Confirm your new email address for {_site()}",
            template="emails/email_change.txt",
            reader=user,
            user=user,
            new_email=new_email,
            url=urls.external_url(
                "auth.confirm_email_change", token=EMAIL_CHANGE.token(user, new_email)
            ),
            valid_until=_until(EMAIL_CHANGE),
        )
    db.session.commit()


def email_change_for(token: str) -> tuple[User, str]:
    """The account and the new address a change link is for; the link's errors otherwise."""
    user, (new_email,) = EMAIL_CHANGE.load(token, extras=1)
    return user, new_email


def change_email(user: User, new_email: str) -> str:
    """Make `new_email` (proven by its link) the account's address; the old one gets a
    notice. Returns the old address. EmailTaken when someone took it meanwhile."""
    taken = db.session.scalar(
        select(User.id).where(func.lower(User.email) == new_email, User.id != user.id)
    )
    if taken is not None:
        raise accounts.EmailTaken(new_email)
    old_email = user.email
    user.email = new_email
    user.email_verified_at = clock.now()
    db.session.flush()
    search.refresh_customer(db.session.connection(), user.id)  # found by the new address
    links.account_email(
        key=_key("email-changed"),
        to=old_email,
        subject=f"Your {_site()} email address was changed",
        template="emails/email_changed.txt",
        reader=user,
        user=user,
        old_email=old_email,
        new_email=new_email,
    )
    db.session.commit()
    return old_email
