"""Triage on filing: category suggestion, priority rules and routing (SPEC §7, issue 6).

`on_filing` runs inside `open_ticket`'s transaction; every decision becomes an
internal timeline event with its reason. `preview` answers "what would happen
to this text?" for the admin page without changing anything. `learn_correction`
keeps an agent's change of a suggested category as a training example.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select

from support.extensions import db
from support.models import (
    Category,
    CategoryCorrection,
    EventKind,
    Impact,
    Notification,
    Ticket,
    TicketEvent,
    User,
)
from support.tickets import sla
from support.tickets.triage import initial_priority
from support.triage import priority, routing, suggest

Record = Callable[..., TicketEvent]


def suggester() -> suggest.Model:
    """The model, retrained when agents have added corrections since it was built."""
    count, last = db.session.execute(
        select(func.count(CategoryCorrection.id), func.max(CategoryCorrection.id))
    ).one()
    key = (count, last)
    if count == 0:
        return suggest.model((), key)
    rows = db.session.execute(select(CategoryCorrection.category, CategoryCorrection.text)).all()
    return suggest.model(tuple((c, t) for c, t in rows), key)


@dataclass(frozen=True)
class CategoryChoice:
    category: Category | None
    suggestion: suggest.Suggestion
    reason: str


def suggest_category(subject: str, description: str) -> CategoryChoice:
    result = suggester().suggest(f"{subject}\n{description}")
    if result.category is None:
        guess = f"; best guess {result.best}" if result.best else ""
        return CategoryChoice(None, result, f"not sure ({result.reason}{guess})")
    category = db.session.scalar(select(Category).where(Category.slug == result.category))
    if category is None or not category.is_active:
        return CategoryChoice(
            None, result, f"not sure (the category {result.category} no longer exists)"
        )
    return CategoryChoice(
        category, result, f"suggested: {category.name} (confidence {result.confidence:.2f})"
    )


def on_filing(ticket: Ticket, *, record: Record) -> None:
    """Categorise (when the customer was not sure), prioritise and route a new ticket.

    Nothing is flushed meanwhile: the ticket is inserted once, complete, at the
    commit (an early insert and an update would bump its version).
    """
    with db.session.no_autoflush:
        _on_filing(ticket, record)


def _on_filing(ticket: Ticket, record: Record) -> None:
    suggested = ticket.category is None
    if suggested:
        choice = suggest_category(ticket.subject, ticket.description)
        ticket.category = choice.category
        record(
            ticket,
            EventKind.CATEGORY_SUGGESTED,
            actor=None,
            public=False,
            data={
                "to": choice.category.slug if choice.category else None,
                "to_name": choice.category.name if choice.category else None,
                "confidence": round(choice.suggestion.confidence, 2),
                "reason": choice.reason,
            },
        )
    decision = priority.decide(ticket.subject, ticket.description, ticket.impact)
    if decision.priority != ticket.priority:
        ticket.priority = decision.priority
        sla.start_clock(ticket, ticket.created_at)
    if _worth_an_event(decision, ticket.impact):
        _record_priority(ticket, decision, record)
    route = routing.route(ticket.category, tier=ticket.tier or routing.NEW_TICKET_TIER, lock=True)
    ticket.team = route.team if route.team is not None else ticket.team
    ticket.assignee = route.agent
    if route.team is None and not suggested:
        return  # no team owns the customer's category: nothing was decided, nothing to say
    record_route(ticket, route, record)


def _worth_an_event(decision: priority.Decision, impact: Impact) -> bool:
    """A rule beyond today's plain impact mapping decided (a signal, an admin's own rule).

    "Just me → Normal" on every ticket would only clutter the timeline.
    """
    winner = decision.winner
    return (
        winner is None or bool(winner.rule.signals) or decision.priority != initial_priority(impact)
    )


def _record_priority(ticket: Ticket, decision: priority.Decision, record: Record) -> None:
    record(
        ticket,
        EventKind.PRIORITY_SET,
        actor=None,
        public=False,
        data={
            "to": decision.priority.value,
            "to_name": decision.priority.label,
            "rule": decision.winner.rule.name if decision.winner else None,
            "reason": decision.reason,
        },
    )


def record_route(ticket: Ticket, route: routing.Route, record: Record) -> TicketEvent:
    """The routing decision as an internal event; the agent (or else the team) is told."""
    event = record(
        ticket,
        EventKind.ROUTED,
        actor=None,
        public=False,
        data={
            "team": route.team.id if route.team else None,
            "team_name": route.team.name if route.team else None,
            "to": route.agent.id if route.agent else None,
            "to_name": route.agent.name if route.agent else None,
            "reason": route.reason,
        },
    )
    if route.agent is not None:
        _notify([route.agent], ticket, event, f"{ticket.ref} was routed to you: {ticket.subject}")
    elif route.team is not None:
        _notify(
            routing.team_members(route.team),
            ticket,
            event,
            f"{ticket.ref} is waiting for someone in {route.team.name}: nobody could take it.",
        )
    return event


def _notify(users: list[User], ticket: Ticket, event: TicketEvent, text: str) -> None:
    for user in users:
        db.session.add(Notification(user=user, ticket=ticket, event=event, text=text[:300]))


@dataclass(frozen=True)
class Preview:
    category: CategoryChoice | None  # None: the customer chose one
    chosen: Category | None
    priority: priority.Decision
    route: routing.Route


def preview(
    subject: str, description: str, impact: Impact, chosen: Category | None = None
) -> Preview:
    """What `on_filing` would decide for this text, changing nothing."""
    choice = None if chosen is not None else suggest_category(subject, description)
    category = chosen if chosen is not None else choice.category if choice else None
    return Preview(
        category=choice,
        chosen=chosen,
        priority=priority.decide(subject, description, impact),
        route=routing.route(category),
    )


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
