"""The per-ticket facts the sweep keeps (support/reports/facts.py) give every figure,
table and chart exactly as working them out from the tickets and their timelines does,
and a change made after the sweep shows on the page at once.

The data: four weeks of tickets with a mixed history (answered or not, waits for the
customer, escalations, resolved, reopened, resolved again, closed, rated), normal ones
on the plain clock and high ones on business hours, two teams and two agents.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, exists, func, select, update

from support.board import queries as board
from support.extensions import db
from support.models import (
    Category,
    EventKind,
    Priority,
    Rating,
    ReportBacklogSpan,
    ReportEventCount,
    ReportTicketFacts,
    SlaPolicy,
    Status,
    Team,
    Ticket,
    TicketEvent,
    User,
)
from support.models.ticket import Channel
from support.reports import facts, figures, tables
from support.reports.clock import FACTS, RAW, Clock, Kept
from support.reports.clock import TICKETS as TICKETS_TABLE
from support.reports.filters import ReportFilters
from support.tickets import service
from tests.reports.conftest import NOW, add_business_hours_policy

pytestmark = pytest.mark.usefixtures("frozen")
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


def _play(history: History, agent: User, customer: User) -> None:
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


@pytest.fixture
def mixed(app, make) -> Mixed:
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
        _play(history, agent, customer)
        ticket.updated_at = history.at
        made.append(ticket)
    db.session.commit()
    return Mixed(team, alex, bea, customer, made)


def _report(viewer: User, kept: Kept | None = None, **args: str) -> figures.Report:
    filters = ReportFilters.from_args({**RANGE, **args}, NOW.date())
    chosen = board.BoardFilters(
        team=filters.team, category=filters.category, priority=filters.priority
    )
    shared = board.conditions(chosen, viewer, NOW)
    return figures.build(filters, viewer, NOW, shared, kept=kept)


def _everything(report: figures.Report) -> dict:
    """Every figure, every table and every chart of a report."""
    return {
        "figures": asdict(report),
        "tables": tables.tables(report),
        "charts": tables.chart_set(report),
    }


def _tickets_csv(viewer: User) -> list[str]:
    filters = ReportFilters.from_args(RANGE, NOW.date())
    return list(tables.tickets_csv(filters, viewer, NOW))


def _filter_sets(mixed: Mixed) -> list[dict[str, str]]:
    return [
        {},
        {"group": "week"},
        {"channel": "email"},
        {"priority": "high"},
        {"agent": str(mixed.bea.id)},
        {"team": str(mixed.team.id)},
        {"category": "payments"},
        {"team": str(mixed.team.id), "priority": "high", "group": "week"},
        {"channel": "portal", "agent": str(mixed.alex.id)},
        {"from": "2031-03-10", "to": "2031-03-16"},
    ]


def _raw(viewers: list[User], mixed: Mixed) -> dict:
    return {
        (viewer.id, tuple(args.items())): _everything(_report(viewer, RAW, **args))
        for viewer in viewers
        for args in _filter_sets(mixed)
    }


def _kept(viewers: list[User], mixed: Mixed) -> dict:
    return {
        (viewer.id, tuple(args.items())): _everything(_report(viewer, **args))
        for viewer in viewers
        for args in _filter_sets(mixed)
    }


def test_the_data_is_mixed(mixed):
    kinds = dict(
        db.session.execute(select(TicketEvent.kind, func.count()).group_by(TicketEvent.kind)).all()
    )
    statuses = {t.status for t in mixed.tickets}
    assert kinds[EventKind.REOPENED] >= 3 and kinds[EventKind.ESCALATED] >= 3
    assert {Status.RESOLVED, Status.CLOSED, Status.OPEN, Status.PENDING} <= statuses
    assert db.session.scalar(select(func.count()).select_from(Rating)) >= 5


def test_kept_facts_give_every_figure_as_worked_out_raw(mixed, admin):
    viewers = [admin, mixed.alex]
    raw, raw_csv = _raw(viewers, mixed), _tickets_csv(admin)
    # A run cut short (2 batches of 9 tickets) leaves the watermark where it was:
    # the page still works everything out.
    assert facts.refresh(NOW, max_batches=2, batch=9) == 18
    assert Kept.read(Clock.current()) == RAW
    # The next runs carry on from the cursor and finish.
    while facts.refresh(NOW, batch=9):
        pass
    assert Kept.read(Clock.current()).watermark == NOW - facts.MARGIN
    assert db.session.scalar(select(func.count()).select_from(ReportTicketFacts)) == TICKETS
    assert db.session.scalar(select(func.count()).select_from(ReportBacklogSpan)) > TICKETS
    kept = _kept(viewers, mixed)
    assert kept.keys() == raw.keys()
    for key in raw:
        assert kept[key] == raw[key], key
    assert _tickets_csv(admin) == raw_csv


def test_the_page_reads_the_kept_facts(mixed, admin):
    """Not a raw page under another name: a doctored fact shows (and only the sweep
    writes them, from the same SQL)."""
    facts.refresh(NOW)
    before = _report(admin)
    db.session.execute(update(ReportTicketFacts).values(fr=7 * 86400))
    db.session.execute(update(ReportBacklogSpan).values(closed_at=None))
    db.session.commit()
    doctored = _report(admin)
    assert doctored.fr_p50 == 7 * 86400 != before.fr_p50
    assert doctored.days[-1].backlog > before.days[-1].backlog


def test_the_backlog_counts_the_kept_days_of_each_stretch(mixed, admin):
    """The sweep keeps each stretch's days and its ticket's filing time in whole seconds,
    as its timestamps say; the page counts those integers (doctored ones show)."""
    facts.refresh(NOW)
    epoch = datetime(1970, 1, 1)
    kept = db.session.execute(
        select(ReportBacklogSpan, Ticket.created_at).join(
            Ticket, Ticket.id == ReportBacklogSpan.ticket_id
        )
    ).all()
    assert len(kept) > TICKETS
    for span, filed in kept:
        assert span.opened_day == (span.opened_at - epoch).days
        ended = (span.closed_at - epoch).days if span.closed_at else None
        assert span.closed_day == ended
        assert span.filed_s == int((filed - epoch).total_seconds())
    before = _report(admin)
    db.session.execute(update(ReportBacklogSpan).values(filed_s=ReportBacklogSpan.filed_s - 86400))
    db.session.commit()
    doctored = _report(admin)
    assert doctored.days[-1].backlog == before.days[-1].backlog
    assert doctored.days[-1].backlog_age_hours == pytest.approx(
        before.days[-1].backlog_age_hours + 24
    )


def test_the_page_counts_the_kept_days_of_each_ticket(mixed, admin):
    """The sweep keeps the days each ticket was filed, done and rated, as its timestamps
    say; the page counts by those integers (doctored ones show)."""
    facts.refresh(NOW)
    epoch = datetime(1970, 1, 1)

    def day(ts: datetime | None) -> int | None:
        return None if ts is None else (ts - epoch).days

    kept = db.session.scalars(select(ReportTicketFacts)).all()
    assert len(kept) == TICKETS and any(f.rated_day is not None for f in kept)
    for fact in kept:
        assert fact.created_day == day(fact.created_at)
        assert fact.done_day == day(fact.resolved_at or fact.closed_at)
        assert fact.rated_day == day(fact.rated_at)
    before = _report(admin)
    shifted = {
        ReportTicketFacts.created_day: ReportTicketFacts.created_day + 1,
        ReportTicketFacts.done_day: ReportTicketFacts.done_day + 1,
        ReportTicketFacts.rated_day: ReportTicketFacts.rated_day + 1,
    }
    db.session.execute(update(ReportTicketFacts).values(shifted))
    db.session.commit()
    doctored = _report(admin)
    for name in ("created", "resolved", "ratings"):
        counts = [getattr(period, name) for period in before.days]
        assert [getattr(period, name) for period in doctored.days][1:] == counts[:-1], name


def test_the_page_reads_the_kept_copies_alone(mixed, admin):
    """The filters, the ratings and the counted events come from the kept rows' own
    copies, not from the tickets: doctored copies show."""
    facts.refresh(NOW)
    before = _report(admin, channel="chat")
    for model in (ReportTicketFacts, ReportBacklogSpan, ReportEventCount):
        db.session.execute(update(model).values(channel=Channel.CHAT))
    db.session.execute(update(ReportTicketFacts).values(rating_score=1))
    db.session.execute(update(ReportEventCount).values(n=ReportEventCount.n * 10))
    db.session.commit()
    doctored = _report(admin, channel="chat")
    everything = _report(admin)
    assert doctored.created == everything.created > before.created
    assert doctored.days[-1].backlog == everything.days[-1].backlog > before.days[-1].backlog
    assert set(everything.ratings) == {1, 2, 3, 4, 5}
    assert everything.rating_count == everything.ratings[1] > 0
    raw = _report(admin, RAW)
    assert everything.escalations == 10 * raw.escalations > 0


def test_a_condition_on_a_column_not_kept_reads_the_tickets(mixed, admin):
    """A filter on a column the kept rows have no copy of (here the status) makes the
    page read the tickets, and it still agrees with working everything out."""
    facts.refresh(NOW)
    kept = Kept.read(Clock.current())
    on_status = [Ticket.status == Status.RESOLVED]
    assert [source.table for source in kept.sources(on_status, FACTS)] == [TICKETS_TABLE]
    assert [source.table for source in kept.sources([Ticket.priority == "high"], FACTS)] == [
        FACTS,
        TICKETS_TABLE,
    ]
    # A subquery correlated to the ticket (one of its events) cannot follow it either.
    escalated = exists().where(
        TicketEvent.ticket_id == Ticket.id, TicketEvent.kind == EventKind.ESCALATED
    )
    assert [source.table for source in kept.sources([escalated], FACTS)] == [TICKETS_TABLE]
    filters = ReportFilters.from_args(RANGE, NOW.date())
    assert _everything(figures.build(filters, admin, NOW, on_status)) == _everything(
        figures.build(filters, admin, NOW, on_status, kept=RAW)
    )


def test_a_change_after_the_sweep_shows_at_once(client, auth, mixed, admin):
    facts.refresh(NOW)
    auth.login(admin)
    volume = f"/reports/export/volume.csv?from={RANGE['from']}&to={RANGE['to']}"
    first = list(csv.reader(io.StringIO(client.get(volume).get_data(as_text=True))))
    # Reopen a resolved ticket and answer an unanswered one, through the service.
    resolved = next(t for t in mixed.tickets if t.status == Status.RESOLVED)
    waiting = next(
        t for t in mixed.tickets if t.first_responded_at is None and t.status == Status.NEW
    )
    service.reopen(resolved, actor=mixed.alex, reason="Still broken")
    service.reply(waiting, author=mixed.alex, body="On it.")
    # And one moves to the other team, its category and priority changed: the filters
    # read the ticket as it is now, not the kept copy.
    moved = next(t for t in mixed.tickets if t.team_id == mixed.team.id and t.category_id)
    payments = db.session.scalar(select(Category).where(Category.slug == "payments"))
    service.update_fields(
        moved, actor=admin, team=mixed.bea.team, category=payments, priority=Priority.HIGH
    )
    then = list(csv.reader(io.StringIO(client.get(volume).get_data(as_text=True))))
    # Today's backlog: one more (reopened); the answered ticket stays in it.
    assert int(then[-1][3]) == int(first[-1][3]) + 1
    for args in _filter_sets(mixed):
        assert _everything(_report(admin, **args)) == _everything(_report(admin, RAW, **args)), args
    # The sweep catches up (the change is within MARGIN: a run a little later takes it).
    facts.refresh(NOW + facts.MARGIN + timedelta(minutes=1))
    assert Kept.read(Clock.current()).watermark > NOW
    assert _everything(_report(admin)) == _everything(_report(admin, RAW))


def test_another_clock_makes_every_fact_stale(mixed, admin, make):
    facts.refresh(NOW)
    assert Kept.read(Clock.current()) != RAW
    # The normal priority moves to business hours: every kept clock time is wrong now.
    db.session.add(
        SlaPolicy(
            priority="normal",
            first_response_minutes=480,
            update_minutes=480,
            resolution_minutes=4320,
            business_hours=True,
        )
    )
    db.session.commit()
    assert Kept.read(Clock.current()) == RAW
    raw = _everything(_report(admin, RAW))
    assert _everything(_report(admin)) == raw  # worked out raw meanwhile
    while facts.refresh(NOW, batch=25):
        pass
    assert Kept.read(Clock.current()) != RAW
    assert _everything(_report(admin)) == raw


def test_a_ticket_out_of_the_backlog_between_two_stretches(app, make, admin):
    """Worked by hand: resolved Monday 10:00, reopened Wednesday 09:00, still open.
    By its current state (resolved_at cleared by the reopening) it would count in
    every day's backlog; by its history it is out on Monday and Tuesday evenings."""
    customer = make.customer()
    ticket = Ticket(
        ref="SUP-H00001",
        subject="Twice",
        description="Hand-worked.",
        customer_id=customer.id,
        status=Status.OPEN,
        created_at=datetime(2031, 3, 2, 15, 0),  # Sunday, before the range
        updated_at=datetime(2031, 3, 5, 9, 0),
    )
    db.session.add(ticket)
    db.session.flush()
    for when, kind, to in [
        (datetime(2031, 3, 3, 10, 0), EventKind.STATUS_CHANGED, "resolved"),
        (datetime(2031, 3, 5, 9, 0), EventKind.REOPENED, "open"),
    ]:
        db.session.add(
            TicketEvent(ticket_id=ticket.id, kind=kind, created_at=when, data={"to": to})
        )
    db.session.commit()
    filters = ReportFilters(start=date(2031, 3, 3), end=date(2031, 3, 6))
    for kept in (RAW, None):
        if kept is None:
            facts.refresh(NOW)
        report = figures.build(filters, admin, NOW, kept=kept)
        # Mon: out (resolved 10:00); Tue: out; Wed: back (09:00); Thu: in.
        assert [p.backlog for p in report.days] == [0, 0, 1, 1]
        # Its age at the end of Thursday (Fri 00:00): since filed Sun 15:00, 105 h.
        assert report.days[-1].backlog_age_hours == pytest.approx(105)
        spans = db.session.execute(select(ReportBacklogSpan.opened_at)).scalars().all()
        assert len(spans) == (2 if kept is None else 0)


def test_statements_kept_for_one_report_give_the_next_its_own_figures(mixed, admin):
    """figures keeps the statements it builds and runs them again with the next report's
    dates, moment and the sweep's watermark: each report equals one built afresh."""
    asked = [  # the address, now, the sweep's last run
        (RANGE, NOW, NOW - timedelta(days=12)),
        ({"from": "2031-03-02", "to": "2031-03-09"}, NOW - timedelta(days=3), NOW),
        ({"from": "2031-03-10", "to": "2031-03-10", "channel": "chat"}, NOW, NOW),
        ({"from": "2031-02-25", "to": "2031-03-16", "channel": "chat"}, NOW, NOW),
    ]
    figures._built.clear()
    for i, (args, now, swept) in enumerate(asked):
        facts.refresh(swept)
        filters = ReportFilters.from_args(args, NOW.date())
        shared = board.conditions(board.BoardFilters(), admin, now)
        shapes = set(figures._built)
        kept = figures.build(filters, admin, now, shared)
        assert (set(figures._built) == shapes) == (i in (1, 3))  # reused, or new
        figures._built.clear()
        fresh = figures.build(filters, admin, now, shared)
        assert _everything(kept) == _everything(fresh), args
        assert fresh.created or fresh.backlog_end


def test_sqlite_reads_the_kept_facts_in_the_order_it_counts_them(mixed, admin):
    """Each percentile of kept clock times is read by walking an index in value order
    (merged with the fresh ones), never by sorting them, and the backlog's stretches are
    counted by day through indexes led by their days: EXPLAIN names those indexes,
    read alone (covering), and a merge of the two parts."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the walk is SQLite's form (PostgreSQL sorts: percentile_cont)")
    facts.refresh(NOW)
    statements: list[tuple[str, tuple]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "INDEXED BY" in statement:
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        report = _report(admin)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert report.fr_p50 is not None and any(row.fr_median for row in report.agents)
    plan = "\n".join(
        row[3]
        for statement, parameters in statements
        for row in db.session.connection().exec_driver_sql(
            f"EXPLAIN QUERY PLAN {statement}", parameters
        )
    )
    for index in ("fr", "res", "agent_fr", "channel_fr"):
        assert f"USING COVERING INDEX ix_report_ticket_facts_{index} " in plan, index
    for index in ("began", "ended"):
        assert f"USING COVERING INDEX ix_report_backlog_spans_{index} " in plan, index
    assert "MERGE (UNION ALL)" in plan
    assert _everything(report) == _everything(_report(admin, RAW))
