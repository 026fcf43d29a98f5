"""A small support week built by hand, whose figures were worked out on paper.

The week is Monday 3 to Sunday 9 March 2031. "normal" tickets run on the plain
clock (first response 8 h, resolution 72 h, the defaults); "high" tickets on a
business-hours policy (Monday to Friday, 09:00–17:00; first response 4 business
hours, resolution 16). Due times are stored as the SLA machinery would have
left them (moved on by every pause, see support/tickets/sla.py), and each pause
is a status event, as the ticket service writes them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime

import pytest

from support import clock
from support.extensions import db
from support.models import (
    EventKind,
    Priority,
    Rating,
    SlaPolicy,
    Status,
    Team,
    Ticket,
    TicketEvent,
    User,
)
from support.models.ticket import Channel

NOW = datetime(2031, 3, 20, 12, 0)
_refs = itertools.count(1)


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2031, month, day, hour, minute)


@dataclass
class Week:
    team: Team
    other_team: Team
    alex: User  # agent A
    bea: User  # agent B
    customer: User
    tickets: dict[str, Ticket]


def _ticket(customer: User, team: Team, **fields) -> Ticket:
    ticket = Ticket(
        ref=f"SUP-T{next(_refs):05d}",
        subject=fields.pop("subject", "Where is my refund?"),
        description="Hand-built for the reports tests.",
        customer_id=customer.id,
        team_id=team.id,
        **fields,
    )
    db.session.add(ticket)
    db.session.flush()
    return ticket


def _status(ticket: Ticket, when: datetime, to: Status, kind=EventKind.STATUS_CHANGED) -> None:
    db.session.add(
        TicketEvent(
            ticket_id=ticket.id,
            kind=kind,
            is_public=True,
            created_at=when,
            data={"from": "open", "to": to.value},
        )
    )


def _reply(ticket: Ticket, when: datetime, who: User) -> None:
    db.session.add(
        TicketEvent(
            ticket_id=ticket.id,
            kind=EventKind.REPLY,
            actor_id=who.id,
            is_public=True,
            created_at=when,
            body_text="An answer.",
        )
    )


def _rating(ticket: Ticket, when: datetime, score: int, comment: str | None = None) -> None:
    db.session.add(
        Rating(ticket_id=ticket.id, score=score, comment=comment, created_at=when, updated_at=when)
    )


def add_business_hours_policy() -> None:
    """ "high" on business hours: first response 4 business hours, resolution 16."""
    db.session.add(
        SlaPolicy(
            priority="high",
            first_response_minutes=240,
            update_minutes=480,
            resolution_minutes=960,
            business_hours=True,
        )
    )
    db.session.flush()


@pytest.fixture
def admin(make) -> User:
    return make.admin(name="Ada Admin")


@pytest.fixture
def frozen():
    """The clock stopped at NOW (tests that use it: pytest.mark.usefixtures)."""
    clock.freeze(NOW)
    yield
    clock.freeze(None)


@pytest.fixture
def week(app, make) -> Week:
    team = Team(name="Customer Care")
    other = Team(name="Payments & Trust")
    db.session.add_all([team, other])
    add_business_hours_policy()
    alex = make.agent(name="Alex Agent", team_id=team.id)
    bea = make.agent(name="Bea Agent", team_id=team.id)
    customer = make.customer(name="Casey Customer")
    new = lambda **f: _ticket(customer, team, **f)  # noqa: E731
    normal, high = Priority.NORMAL, Priority.HIGH
    t = {}
    # T1: answered after 1 h; resolved Tue 09:00, reopened Wed 10:00 (25 h paused),
    # resolved again Wed 12:00: 51 h − 25 h = 26 h. Resolution due Thu 09:00 moved
    # on by the pause (48 h were left at Tue 09:00) to Fri 10:00.
    t["T1"] = new(
        priority=normal,
        channel=Channel.PORTAL,
        assignee_id=alex.id,
        status=Status.RESOLVED,
        created_at=at(3, 9),
        first_responded_at=at(3, 10),
        first_response_due=at(3, 17),
        resolution_due=at(7, 10),
        resolved_at=at(5, 12),
        sla_paused_at=at(5, 12),
    )
    _reply(t["T1"], at(3, 10), alex)
    _status(t["T1"], at(4, 9), Status.RESOLVED)
    _status(t["T1"], at(5, 10), Status.OPEN, EventKind.REOPENED)
    _status(t["T1"], at(5, 12), Status.RESOLVED)
    _rating(t["T1"], at(4, 12), 5, "Quick and kind")
    # T2: 2 h to answer, 12 h to resolve; closed on Sunday (closing resumes the clock,
    # which moves the resolution due: 60 h were left at Mon 22:00 → Sun 10:00 + 60 h).
    t["T2"] = new(
        priority=normal,
        channel=Channel.EMAIL,
        assignee_id=alex.id,
        status=Status.CLOSED,
        created_at=at(3, 10),
        first_responded_at=at(3, 12),
        first_response_due=at(3, 18),
        resolution_due=at(11, 22),
        resolved_at=at(3, 22),
        closed_at=at(9, 10),
    )
    _reply(t["T2"], at(3, 12), alex)
    _status(t["T2"], at(3, 22), Status.RESOLVED)
    _status(t["T2"], at(9, 10), Status.CLOSED)
    _rating(t["T2"], at(4, 10), 4)
    # T3: late twice: answered after 10 h (due 16:00), resolved after 73 h (due Fri 08:00).
    t["T3"] = new(
        priority=normal,
        channel=Channel.PORTAL,
        assignee_id=bea.id,
        status=Status.RESOLVED,
        created_at=at(4, 8),
        first_responded_at=at(4, 18),
        first_response_due=at(4, 16),
        resolution_due=at(7, 8),
        resolved_at=at(7, 9),
        sla_paused_at=at(7, 9),
        tier=2,
    )
    _reply(t["T3"], at(4, 18), bea)
    _status(t["T3"], at(4, 17), Status.ESCALATED, EventKind.ESCALATED)
    _status(t["T3"], at(7, 9), Status.RESOLVED)
    _rating(t["T3"], at(7, 12), 2, "Took too long")
    # T4: answered after 2 h, then waiting on the customer Wed 11:00 → Thu 11:00 (24 h),
    # resolved Thu 15:00: 30 h − 24 h = 6 h. Dues moved on by the pause: first response
    # Wed 17:00 → Thu 17:00, resolution Sat 09:00 → Sun 09:00.
    t["T4"] = new(
        priority=normal,
        channel=Channel.PORTAL,
        assignee_id=bea.id,
        status=Status.RESOLVED,
        created_at=at(5, 9),
        first_responded_at=at(5, 11),
        first_response_due=at(6, 17),
        resolution_due=at(9, 9),
        resolved_at=at(6, 15),
        sla_paused_at=at(6, 15),
    )
    _reply(t["T4"], at(5, 11), bea)
    _status(t["T4"], at(5, 11), Status.PENDING)
    _reply(t["T4"], at(6, 11), customer)  # the customer's own reply is not the team's
    _status(t["T4"], at(6, 11), Status.OPEN)
    _status(t["T4"], at(6, 15), Status.RESOLVED)
    _rating(t["T4"], at(6, 16), 5, "<b>Great</b> help")
    # T5 (business hours): filed Fri 15:00, answered Mon 10:00: Fri 2 h + Mon 1 h = 3 h;
    # resolved Mon 16:00: 2 h + 7 h = 9 h. Dues: Mon 11:00 and Tue 15:00.
    t["T5"] = new(
        priority=high,
        channel=Channel.PHONE,
        assignee_id=alex.id,
        status=Status.RESOLVED,
        created_at=at(7, 15),
        first_responded_at=at(10, 10),
        first_response_due=at(10, 11),
        resolution_due=at(11, 15),
        resolved_at=at(10, 16),
        sla_paused_at=at(10, 16),
    )
    _reply(t["T5"], at(10, 10), alex)  # after the range: not counted as a reply
    _status(t["T5"], at(10, 16), Status.RESOLVED)
    # T6 (business hours, paused): filed Thu 16:00, answered 16:30 (0.5 h); waiting on
    # the customer Thu 16:30 → Mon 09:30 (0.5 + 8 + 0.5 = 9 business hours); resolved
    # Mon 10:30: Thu 1 h + Fri 8 h + Mon 1.5 h = 10.5 h, less 9 h = 1.5 h.
    # Dues: first response Fri 12:00 (3.5 h left at the pause) → Mon 13:00;
    # resolution Mon 16:00 (15.5 h left) → Tue 17:00.
    t["T6"] = new(
        priority=high,
        channel=Channel.EMAIL,
        assignee_id=bea.id,
        status=Status.RESOLVED,
        created_at=at(6, 16),
        first_responded_at=at(6, 16, 30),
        first_response_due=at(10, 13),
        resolution_due=at(11, 17),
        resolved_at=at(10, 10, 30),
        sla_paused_at=at(10, 10, 30),
    )
    _reply(t["T6"], at(6, 16, 30), bea)
    _status(t["T6"], at(6, 16, 30), Status.PENDING)
    _status(t["T6"], at(10, 9, 30), Status.OPEN)
    _status(t["T6"], at(10, 10, 30), Status.RESOLVED)
    # T7: filed Saturday, never answered: both targets passed (Sat 18:00, Tue 10:00).
    t["T7"] = new(
        priority=normal,
        channel=Channel.CHAT,
        status=Status.NEW,
        created_at=at(8, 10),
        first_response_due=at(8, 18),
        resolution_due=at(11, 10),
    )
    # Before the range: T8 still open (backlog from the start), T9 resolved on Monday.
    t["T8"] = new(
        priority=normal,
        channel=Channel.PORTAL,
        status=Status.OPEN,
        created_at=at(28, 12, month=2),
        first_response_due=at(28, 20, month=2),
        resolution_due=at(3, 12),
    )
    t["T9"] = new(
        priority=normal,
        channel=Channel.PORTAL,
        status=Status.RESOLVED,
        created_at=at(2, 12),
        first_responded_at=at(2, 13),
        first_response_due=at(2, 20),
        resolution_due=at(5, 12),
        resolved_at=at(3, 12),
        sla_paused_at=at(3, 12),
    )
    _status(t["T9"], at(3, 12), Status.RESOLVED)
    _rating(t["T9"], at(2, 23), 3, "Before the range")
    db.session.commit()
    return Week(team, other, alex, bea, customer, t)


@pytest.fixture
def mixed(app, make):
    """Four weeks of tickets with mixed histories (tests/reports/mixed_history.py)."""
    from tests.reports.mixed_history import make_mixed

    return make_mixed(make)
