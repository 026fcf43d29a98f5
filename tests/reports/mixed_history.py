"""The reports' test data with a mixed history (tests/reports/test_facts.py and
tests/reports/test_kept_days.py): four weeks of tickets answered or not, waiting for the
customer, escalated, resolved, reopened, resolved again, closed, rated; normal ones on
the plain clock and high ones on business hours, two teams and two agents."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from support.board import queries as board
from support.extensions import db
from support.models import (
    Category,
    EventKind,
    Priority,
    Rating,
    Status,
    Team,
    Ticket,
    TicketEvent,
    User,
)
from support.models.ticket import Channel
from support.reports import figures, tables
from support.reports.clock import Kept
from support.reports.filters import ReportFilters
from tests.factories import Factory
from tests.reports.conftest import NOW, add_business_hours_policy

START = datetime(2031, 2, 20)
RANGE = {"from": "2031-02-23", "to": "2031-03-20"}
TICKETS = 70


@dataclass
class Mixed:
    team: Team
    alex: User
    bea: User
    customer: User
    tickets: list[Ticket]


class History:
    """One ticket's timeline, written as the ticket service writes it."""

    def __init__(self, ticket: Ticket, rng: random.Random) -> None:
        self.ticket, self.rng, self.at = ticket, rng, ticket.created_at
        self.status = Status.NEW

    def later(self, hours: float) -> bool:
        """Move time on; False once that would pass NOW (the history stops there)."""
        moment = self.at + timedelta(hours=hours * self.rng.uniform(0.3, 1.7))
        if moment >= NOW - timedelta(hours=1):
            return False
        self.at = moment
        return True

    def event(self, kind: EventKind, actor: User | None = None, to: Status | None = None) -> None:
        data = {"from": self.status.value, "to": to.value} if to else None
        db.session.add(
            TicketEvent(
                ticket_id=self.ticket.id,
                kind=kind,
                actor_id=actor.id if actor else None,
                is_public=True,
                created_at=self.at,
                data=data,
            )
        )
        if to is not None:
            self.move(to)

    def move(self, to: Status) -> None:
        ticket = self.ticket
        if to in (Status.PENDING, Status.RESOLVED):
            ticket.sla_paused_at = self.at
        elif self.status in (Status.PENDING, Status.RESOLVED):
            ticket.sla_paused_at = None
        if to == Status.RESOLVED:
            ticket.resolved_at = self.at
        elif to == Status.CLOSED:
            ticket.closed_at = self.at
        elif self.status == Status.RESOLVED:
            ticket.resolved_at = None
        self.status = ticket.status = to


def play(history: History, agent: User, customer: User) -> None:
    """A random but plausible life: escalated, answered, waiting, resolved, reopened…"""
    rng, ticket = history.rng, history.ticket
    if rng.random() < 0.2 and history.later(2):
        history.event(EventKind.ESCALATED, to=Status.ESCALATED)
    if rng.random() < 0.15 or not history.later(5):
        return  # never answered
    history.event(EventKind.REPLY, agent)
    ticket.first_responded_at = history.at
    history.event(EventKind.STATUS_CHANGED, agent, Status.OPEN)
    if rng.random() < 0.4:
        history.event(EventKind.STATUS_CHANGED, agent, Status.PENDING)
        if rng.random() < 0.2 or not history.later(20):
            return  # still waiting for the customer
        history.event(EventKind.REPLY, customer)
        history.event(EventKind.STATUS_CHANGED, None, Status.OPEN)
    for round_ in range(3):
        if rng.random() < 0.25 or not history.later(15):
            return  # still being worked on
        history.event(EventKind.STATUS_CHANGED, agent, Status.RESOLVED)
        if round_ == 0 and rng.random() < 0.4 and history.later(30):
            db.session.add(
                Rating(
                    ticket_id=ticket.id,
                    score=rng.randint(1, 5),
                    comment=rng.choice(["Thanks", None, "Slow"]),
                    created_at=history.at,
                    updated_at=history.at,
                )
            )
        if rng.random() < 0.35 and history.later(30):
            history.event(EventKind.REOPENED, customer, Status.OPEN)
            continue
        if rng.random() < 0.3 and history.later(48):
            history.event(EventKind.STATUS_CHANGED, None, Status.CLOSED)
        return


def make_mixed(make: Factory) -> Mixed:
    """Four weeks of tickets with mixed histories (the module docstring of test_facts.py)."""
    team, other = Team(name="Customer Care"), Team(name="Payments & Trust")
    db.session.add_all([team, other])
    add_business_hours_policy()
    alex = make.agent(name="Alex Agent", team_id=team.id)
    bea = make.agent(name="Bea Agent", team_id=other.id)
    customer = make.customer(name="Casey Customer")
    rng = random.Random(21)
    topics = random.Random(5)  # its own, so the histories stay as they were
    categories = db.session.scalars(select(Category).order_by(Category.slug)).all()
    made = []
    for i in range(TICKETS):
        created = START + timedelta(minutes=rng.randrange(27 * 24 * 60))
        agent = rng.choice([alex, bea])
        ticket = Ticket(
            ref=f"SUP-M{i:05d}",
            subject="Mixed history",
            description="Built for the kept facts' test.",
            customer_id=customer.id,
            team_id=agent.team_id,
            assignee_id=agent.id if rng.random() < 0.85 else None,
            priority=rng.choice([Priority.NORMAL, Priority.NORMAL, Priority.HIGH, Priority.LOW]),
            channel=rng.choice(list(Channel)),
            status=Status.NEW,
            category_id=topics.choice(categories).id if topics.random() < 0.9 else None,
            created_at=created,
            first_response_due=created + timedelta(hours=rng.choice([4, 8, 30])),
            resolution_due=created + timedelta(hours=rng.choice([16, 72, 100])),
        )
        db.session.add(ticket)
        db.session.flush()
        db.session.add(TicketEvent(ticket_id=ticket.id, kind=EventKind.CREATED, created_at=created))
        history = History(ticket, rng)
        play(history, agent, customer)
        ticket.updated_at = history.at
        made.append(ticket)
    db.session.commit()
    return Mixed(team, alex, bea, customer, made)


def report(viewer: User, kept: Kept | None = None, **args: str) -> figures.Report:
    filters = ReportFilters.from_args({**RANGE, **args}, NOW.date())
    chosen = board.BoardFilters(
        team=filters.team, category=filters.category, priority=filters.priority
    )
    shared = board.conditions(chosen, viewer, NOW)
    return figures.build(filters, viewer, NOW, shared, kept=kept)


def everything(report: figures.Report) -> dict:
    """Every figure, every table and every chart of a report."""
    return {
        "figures": asdict(report),
        "tables": tables.tables(report),
        "charts": tables.chart_set(report),
    }
