"""What a board card says: plain values computed once, so templates only print them.

The board shows 150 cards a request, so its cards are built from plain rows (the
columns a card shows, support/board/queries.py), never from ORM objects, with every
string worked out here once: the template is one loop that prints them.

A board card's text is HTML-escaped here, once (`as_html`), and its template prints it
without autoescaping: escaping each value where it was printed (a card prints its
reference eight times: ~3,800 escapes a board) cost about a tenth of a board.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import has_request_context
from flask_login import current_user
from markupsafe import escape

from support import timezones
from support.models import Priority, Status, Ticket
from support.models.ticket import Channel
from support.tickets import sla

AVATAR_COLOURS = 8  # board.css has .avatar-0 … .avatar-7
TAGS_SHOWN = 3  # a card's tags; "+2" stands for the rest
TOOLTIP = "%a %d %b, %H:%M"  # an SLA tooltip's time


@dataclass(frozen=True)
class Card:
    """A ticket's SLA countdown and age, for lists of ORM tickets (the agents' queue)."""

    ticket: Ticket
    sla: str  # ok | warning | breach | paused | done: the countdown's colour
    sla_text: str  # "Due in 2h 10m", "Overdue by 3h", "Waiting on customer"
    sla_title: str  # the exact target, for the tooltip
    age: str  # "3d", since the ticket was opened
    tags: tuple[str, ...] = ()  # every tag's name, by name


def card_for(
    ticket: Ticket,
    now: datetime,
    tags: tuple[str, ...] = (),
    targets: dict[Priority, sla.Targets] | None = None,
) -> Card:
    """`targets`: sla.all_targets(), once for a list of cards."""
    state, text, title = countdown(ticket, now, _viewer_zone(), targets)
    return Card(ticket, state, text, title, rough_age(now - ticket.created_at), tags)


@dataclass(frozen=True, slots=True)
class BoardCard:
    """Everything one board card prints (templates/board/_card.html), as plain values.

    Every text is HTML already (as_html): the card's template prints them as they are.
    Only `tags` are plain names (the tag list escapes them, and the board's tag filter
    suggests them)."""

    ref: str
    subject: str
    version: int
    status: Status
    priority: str  # Priority's value: the card's class
    priority_badge: str  # its label, or "" for normal priority (no badge)
    opened: str  # the open time in the viewer's zone, for the age's tooltip
    age: str  # "3d", since the ticket was opened
    customer: str
    category: str  # "" when it has none
    by_email: bool
    assignee: str  # the assignee's name, "" when unassigned
    assignee_initials: str
    avatar_colour: int  # the same colour for the same agent on every card (.avatar-N)
    sla: str  # ok | warning | breach | paused | done: the countdown's colour
    sla_text: str  # "Due in 2h 10m", "Overdue by 3h", "Paused"
    sla_title: str  # the exact target, for the tooltip
    tags: tuple[str, ...] = ()  # every tag's name, by name; the card shows the first few

    @property
    def shown_tags(self) -> tuple[str, ...]:
        return self.tags[:TAGS_SHOWN]

    @property
    def more_tags(self) -> tuple[str, ...]:
        return self.tags[TAGS_SHOWN:]


def as_html(text: str) -> str:
    """`text` escaped for HTML, as markupsafe escapes it; most card texts have nothing to
    escape, and are kept as they are (markupsafe's escape costs ~1 µs, 13 a card)."""
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        return escape(text)
    return text


def board_card(
    row: Any,
    now: datetime,
    zone: str,
    tags: tuple[str, ...] = (),
    targets: dict[Priority, sla.Targets] | None = None,
) -> BoardCard:
    """A card from one of the board's rows (queries.CARD_COLUMNS; the SLA fields carry
    Ticket's names, so support/tickets/sla.py reads the row as it reads a ticket).
    `targets`: sla.all_targets(), once for the whole board."""
    state, text, title = countdown(row, now, zone, targets)
    priority: Priority = row.priority
    assignee = row.assignee_name or ""
    return BoardCard(
        ref=as_html(row.ref),
        subject=as_html(row.subject),
        version=row.version,
        status=row.status,
        priority=as_html(priority.value),
        priority_badge=as_html("" if priority is Priority.NORMAL else priority.label),
        opened=as_html(timezones.local(row.created_at, zone)),
        age=as_html(rough_age(now - row.created_at)),
        customer=as_html(row.customer_name),
        category=as_html(row.category_name or ""),
        by_email=row.channel is Channel.EMAIL,
        assignee=as_html(assignee),
        assignee_initials=as_html(initials_of(assignee, row.assignee_email) if assignee else ""),
        avatar_colour=row.assignee_id % AVATAR_COLOURS if row.assignee_id else 0,
        sla=as_html(state),
        sla_text=as_html(text),
        sla_title=as_html(title),
        tags=tags,
    )


def countdown(
    ticket: Any, now: datetime, zone: str, targets: dict[Priority, sla.Targets] | None = None
) -> tuple[str, str, str]:
    """(colour, text, tooltip) of a ticket's SLA countdown; `ticket` is a Ticket or a row
    with its SLA columns (status, priority, tier, the due and done times)."""
    if not ticket.status.is_active:
        since = ticket.resolved_at or ticket.updated_at
        title = f"{ticket.status.label} {timezones.local(since, zone, TOOLTIP)}"
        return "done", f"✓ {rough_age(now - since)} ago", title
    spans = targets[ticket.priority] if targets else None
    upcoming = sla.countdown(ticket, now, spans)
    if upcoming is None:  # waiting on the customer: our clock is stopped
        return "paused", "Paused", "Waiting on the customer: the SLA clock is stopped"
    target, due, warned = upcoming
    title = f"{target.label} due {timezones.local(due, zone, TOOLTIP)}"
    if due <= now:
        return "breach", f"Overdue by {short_span(now - due)}", title
    return ("warning" if warned else "ok"), f"Due in {short_span(due - now)}", title


def _viewer_zone() -> str:
    """The signed-in agent's zone (support/timezones.py): once per list, not per card."""
    return timezones.zone_name_for(current_user if has_request_context() else None)


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


def initials_of(name: str, email: str) -> str:
    parts = name.split() or [email]
    return "".join(part[0] for part in parts[:2]).upper()
