"""What a board card says: plain values computed once, so templates only print them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from support import dates
from support.models import Ticket, User
from support.tickets import sla

AVATAR_COLOURS = 8  # board.css has .avatar-0 … .avatar-7
TAGS_SHOWN = 3  # a card's tags; "+2" stands for the rest


@dataclass(frozen=True)
class Card:
    ticket: Ticket
    sla: str  # ok | warning | breach | paused | done: the countdown's colour
    sla_text: str  # "Due in 2h 10m", "Overdue by 3h", "Waiting on customer"
    sla_title: str  # the exact target, for the tooltip
    age: str  # "3d", since the ticket was opened
    tags: tuple[str, ...] = ()  # every tag's name, by name; the card shows the first few

    @property
    def assignee_initials(self) -> str:
        return initials(self.ticket.assignee) if self.ticket.assignee else ""

    @property
    def shown_tags(self) -> tuple[str, ...]:
        return self.tags[:TAGS_SHOWN]

    @property
    def more_tags(self) -> tuple[str, ...]:
        return self.tags[TAGS_SHOWN:]

    @property
    def avatar_colour(self) -> int:
        """The same colour for the same agent on every card (board.css .avatar-N)."""
        return self.ticket.assignee_id % AVATAR_COLOURS if self.ticket.assignee_id else 0


def card_for(ticket: Ticket, now: datetime, tags: tuple[str, ...] = ()) -> Card:
    state, text, title = _countdown(ticket, now)
    return Card(ticket, state, text, title, rough_age(now - ticket.created_at), tags)


def _countdown(ticket: Ticket, now: datetime) -> tuple[str, str, str]:
    if not ticket.status.is_active:
        since = ticket.resolved_at or ticket.updated_at
        title = f"{ticket.status.label} {dates.when_text(since)}"
        return "done", f"✓ {rough_age(now - since)} ago", title
    upcoming = sla.next_due(ticket)
    if upcoming is None:  # waiting on the customer: our clock is stopped
        return "paused", "Paused", "Waiting on the customer: the SLA clock is stopped"
    target, due = upcoming
    title = f"{target.label} due {dates.when_text(due)}"
    if due <= now:
        return "breach", f"Overdue by {short_span(now - due)}", title
    warned = any(point.kind == sla.CheckpointKind.WARNING for point in sla.checkpoints(ticket, now))
    return ("warning" if warned else "ok"), f"Due in {short_span(due - now)}", title


def short_span(span: timedelta) -> str:
    """A compact duration for a card: 45m, 5h 10m, 16h, 3d 4h, 12d."""
    minutes = max(int(span.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days >= 10:
        return f"{days}d"
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours >= 10 or (hours and not mins):  # minutes stop mattering after a few hours
        return f"{hours}h"
    if hours:
        return f"{hours}h {mins}m"
    return f"{mins}m"


def rough_age(span: timedelta) -> str:
    """How long a ticket has been open, to the largest unit: 35m, 6h, 3d."""
    minutes = max(int(span.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 24 * 60:
        return f"{minutes // 60}h"
    return f"{minutes // (24 * 60)}d"


def initials(user: User) -> str:
    parts = user.name.split() or [user.email]
    return "".join(part[0] for part in parts[:2]).upper()
