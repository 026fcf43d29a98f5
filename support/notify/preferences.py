"""Which emails a person wants: one switch per kind of email, on unless turned off.

In-app notifications always come (they cost nothing and are how a person who turned
emails off still hears about their requests). Some emails can't be turned off: the
receipt of a new request (it carries the reference) and emails about the account itself
(reset, verification, email change): these are security notices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ScalarSelect, select

from support.models import EmailKind, User


@dataclass(frozen=True)
class Choice:
    kind: EmailKind
    label: str
    help: str
    staff_only: bool = False


CHOICES = (
    Choice(EmailKind.REPLY, "Replies from our team", "When someone answers on your request."),
    Choice(
        EmailKind.EVENT,
        "Other updates on your requests",
        "Status changes, merges and notices that we may be late.",
    ),
    Choice(
        EmailKind.FOLLOW_UP,
        "Follow-up after a request is resolved",
        "A day after we resolve a request: is it still fixed? With a short survey.",
    ),
    Choice(
        EmailKind.ESCALATION,
        "Tickets escalated to your tier",
        "When a ticket is escalated to your tier and team.",
        staff_only=True,
    ),
)
OPTIONAL = frozenset(choice.kind for choice in CHOICES)


def choices_for(user: User) -> list[Choice]:
    return [c for c in CHOICES if user.is_agent or not c.staff_only]


def opted_out(user: User) -> set[EmailKind]:
    stored = user.email_opt_out or []
    return {EmailKind(value) for value in stored if value in {k.value for k in OPTIONAL}}


def set_opted_out(user: User, kinds: set[EmailKind]) -> None:
    """Save the kinds `user` turned off (the caller commits)."""
    user.email_opt_out = sorted(kind.value for kind in kinds if kind in OPTIONAL)


def stored_opt_outs(address: str) -> ScalarSelect[Any]:
    """What the account at `address` turned off, as a subquery for the caller's
    statement (NULL: no such account, or nothing turned off)."""
    return select(User.email_opt_out).where(User.email == address.lower()).scalar_subquery()


def takes(stored: list[str] | None, kind: EmailKind) -> bool:
    """Whether an account with these stored opt-outs takes emails of this kind. An
    address without an account gets what it asked for: nobody turned anything off."""
    return kind not in OPTIONAL or kind.value not in (stored or [])
