"""Canned responses: keep them, and fill in their placeholders for one ticket.

A placeholder is a plain `{{ name }}` marker looked up in a fixed table of
values: the text is never evaluated as a template, so an admin's text can
neither run code nor read anything but these values. Unknown placeholders stay
in the text as written and are reported, so the reply form can flag them
before anything reaches a customer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from support import clock
from support.extensions import db
from support.models import CannedResponse, Status, Ticket, User
from support.tickets import tags as tag_names
from support.tickets.service import Then

TITLE_MAX = 120
BODY_MAX = 20_000

NOTHING = Then()  # a canned response that is only text

# Where a macro may move a ticket: not escalated (it needs a reason), nor new or closed.
MACRO_STATUSES = (Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.RESOLVED)
MACRO_STATUS_LABELS = {
    Status.OPEN: "Open",
    Status.PENDING: "Waiting on customer",
    Status.ON_HOLD: "On hold",
    Status.RESOLVED: "Resolved",
}

# What each placeholder becomes; the admin page lists them as help.
PLACEHOLDERS: dict[str, str] = {
    "customer.first_name": "The customer's first name",
    "customer.name": "The customer's full name",
    "ticket.ref": "The ticket's reference, like SUP-7KQ2MX",
    "ticket.subject": "The ticket's subject",
    "agent.name": "The full name of the agent who sends the reply",
    "agent.first_name": "The first name of the agent who sends the reply",
}

# One line at most, so a stray "{{" can't swallow the rest of the message.
_MARKER = re.compile(r"\{\{([^{}\n]*)\}\}")


class CannedError(ValueError):
    """A canned response that can't be saved; the message is written for the admin."""


@dataclass(frozen=True)
class Filled:
    text: str
    unknown: list[str]  # markers left as written, e.g. "{{ order.id }}", first seen first


def values_for(ticket: Ticket, agent: User) -> dict[str, str]:
    customer = ticket.customer
    return {
        "customer.first_name": customer.first_name,
        "customer.name": customer.name,
        "ticket.ref": ticket.ref,
        "ticket.subject": ticket.subject,
        "agent.name": agent.name,
        "agent.first_name": agent.first_name,
    }


def sample_values(agent: User) -> dict[str, str]:
    """Made-up values for the admin's preview."""
    return {
        "customer.first_name": "Casey",
        "customer.name": "Casey Customer",
        "ticket.ref": "SUP-7KQ2MX",
        "ticket.subject": "Charged twice for order #48213",
        "agent.name": agent.name,
        "agent.first_name": agent.first_name,
    }


def fill(text: str, values: Mapping[str, str]) -> Filled:
    """Replace known placeholders in one pass (values are never scanned again)."""
    unknown: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name in values:
            return values[name]
        if match.group(0) not in unknown:
            unknown.append(match.group(0))
        return match.group(0)

    return Filled(_MARKER.sub(replace, text), unknown)


def unknown_in(text: str) -> list[str]:
    """The placeholders in `text` that nothing would fill."""
    return fill(text, dict.fromkeys(PLACEHOLDERS, "")).unknown


# --- storing them (admins) ------------------------------------------------------------


def all_responses() -> list[CannedResponse]:
    query = (
        select(CannedResponse)
        .options(selectinload(CannedResponse.set_assignee))
        .order_by(func.lower(CannedResponse.title))
    )
    return list(db.session.scalars(query))


def then_of(canned: CannedResponse) -> Then:
    """A macro's actions, as the ticket service takes them with a reply."""
    return Then(
        status=canned.set_status,
        priority=canned.set_priority,
        add_tags=tuple(tag_names.split(canned.add_tags or "")),
        assignee=canned.set_assignee,
    )


def describe(then: Then) -> list[str]:
    """A macro's actions in words: ["set the status to Resolved", "add the tag refund"]."""
    said = []
    if then.status is not None:
        said.append(f"set the status to {MACRO_STATUS_LABELS.get(then.status, then.status.label)}")
    if then.priority is not None:
        said.append(f"set the priority to {then.priority.label}")
    if then.add_tags:
        noun = "tag" if len(then.add_tags) == 1 else "tags"
        said.append(f"add the {noun} {', '.join(then.add_tags)}")
    if then.assignee is not None:
        said.append(f"assign it to {then.assignee.name}")
    return said


def create(*, title: str, body: str, by: User, then: Then = NOTHING) -> CannedResponse:
    canned = CannedResponse(created_by=by, created_at=clock.now())
    _save(canned, title, body, then)
    return canned


def update(canned: CannedResponse, *, title: str, body: str, then: Then = NOTHING) -> None:
    _save(canned, title, body, then)


def _set_actions(canned: CannedResponse, then: Then) -> None:
    if then.status is not None and then.status not in MACRO_STATUSES:
        raise CannedError(f"A macro can't set the status to {then.status.label.lower()}.")
    if then.assignee is not None and not (then.assignee.is_agent and then.assignee.is_active):
        raise CannedError(f"{then.assignee.name} can't take tickets: only active agents can.")
    try:
        tags = tag_names.parse(list(then.add_tags))
    except tag_names.BadTag as exc:
        raise CannedError(str(exc)) from exc
    canned.set_status, canned.set_priority = then.status, then.priority
    canned.add_tags = ", ".join(tags) or None
    canned.set_assignee = then.assignee


def delete(canned: CannedResponse) -> None:
    db.session.delete(canned)
    db.session.commit()


def _save(canned: CannedResponse, title: str, body: str, then: Then) -> None:
    title, body = title.strip(), body.strip()
    if not title or not body:
        raise CannedError("Give the response a title and some text.")
    if len(title) > TITLE_MAX or len(body) > BODY_MAX:
        raise CannedError(
            f"Keep the title under {TITLE_MAX} and the text under {BODY_MAX:,} characters."
        )
    _set_actions(canned, then)
    canned.title, canned.body, canned.updated_at = title, body, clock.now()
    db.session.add(canned)
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise CannedError(f"There is already a canned response called “{title}”.") from exc
