"""Changes a person makes to their own account at /account (the views stay thin)."""

from __future__ import annotations

from support.extensions import db
from support.models import EmailKind, User
from support.notify import preferences
from support.tickets import search


def save_profile(user: User, *, name: str, time_zone: str) -> None:
    renamed = user.name != name.strip()
    user.name = name.strip()
    user.time_zone = time_zone
    if renamed:
        db.session.flush()
        search.refresh_customer(db.session.connection(), user.id)
    db.session.commit()


def change_password(user: User, *, current: str, new: str) -> bool:
    """False (and nothing changed) when `current` is wrong. Otherwise the new password,
    and every session and "keep me signed in" cookie so far ends (the caller signs this
    browser in again)."""
    if not user.check_password(current):
        return False
    user.set_password(new)
    user.end_sessions()
    db.session.commit()
    return True


def save_notifications(user: User, emails_on: dict[EmailKind, bool]) -> None:
    preferences.set_opted_out(user, {kind for kind, on in emails_on.items() if not on})
    db.session.commit()


def sign_out_everywhere(user: User) -> None:
    """Every session and remember cookie ends (the caller signs this browser in again)."""
    user.end_sessions()
    db.session.commit()
