"""Agents' corrections of a suggested category, kept as training examples."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from support.extensions import db
from support.models import Category, CategoryCorrection, EventKind, Ticket, TicketEvent, User
from support.triage import suggest


def latest_suggestion(ticket: Ticket) -> dict[str, Any] | None:
    """The category suggested when the ticket was filed ({"to", "to_name", "confidence",
    "reason"}), or None when the customer chose one."""
    event = db.session.scalar(
        select(TicketEvent)
        .where(
            TicketEvent.ticket_id == ticket.id,
            TicketEvent.kind == EventKind.CATEGORY_SUGGESTED,
        )
        .order_by(TicketEvent.id.desc())
        .limit(1)
    )
    return dict(event.data or {}) if event is not None else None


def learn_correction(ticket: Ticket, category: Category | None, agent: User | None) -> None:
    """An agent changed the category of a ticket that had a suggestion: remember it.

    One correction per ticket, the latest: an agent's earlier choice for the same
    ticket is replaced, so A → B → A does not teach both. Back to the suggested
    category (or no category at all) leaves nothing to learn, and nothing is kept.
    """
    if agent is None:
        return
    # Read and write without flushing the ticket's pending change early: a second
    # flush would bump its version twice for one change.
    with db.session.no_autoflush:
        _replace_correction(ticket, category, agent)


def _replace_correction(ticket: Ticket, category: Category | None, agent: User) -> None:
    suggested = latest_suggestion(ticket)
    if suggested is None:
        return
    db.session.execute(
        delete(CategoryCorrection).where(CategoryCorrection.ticket_id == ticket.id),
        execution_options={"synchronize_session": False},
    )
    if category is None or category.slug == suggested.get("to"):
        return
    db.session.add(
        CategoryCorrection(
            ticket_id=ticket.id,
            text=f"{ticket.subject}\n{ticket.description}"[: suggest.MAX_CHARS],
            suggested=suggested.get("to"),
            category=category.slug,
            agent_id=agent.id,
        )
    )
