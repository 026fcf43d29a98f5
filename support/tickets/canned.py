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

from support import clock
from support.extensions import db
from support.models import CannedResponse, Ticket, User

TITLE_MAX = 120
BODY_MAX = 20_000

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
    return list(
        db.session.scalars(select(CannedResponse).order_by(func.lower(CannedResponse.title)))
    )


def create(*, title: str, body: str, by: User) -> CannedResponse:
    canned = CannedResponse(created_by=by, created_at=clock.now())
    _save(canned, title, body)
    return canned


def update(canned: CannedResponse, *, title: str, body: str) -> None:
    _save(canned, title, body)


def delete(canned: CannedResponse) -> None:
    db.session.delete(canned)
    db.session.commit()


def _save(canned: CannedResponse, title: str, body: str) -> None:
    title, body = title.strip(), body.strip()
    if not title or not body:
        raise CannedError("Give the response a title and some text.")
    if len(title) > TITLE_MAX or len(body) > BODY_MAX:
        raise CannedError(
            f"Keep the title under {TITLE_MAX} and the text under {BODY_MAX:,} characters."
        )
    canned.title, canned.body, canned.updated_at = title, body, clock.now()
    db.session.add(canned)
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise CannedError(f"There is already a canned response called “{title}”.") from exc
