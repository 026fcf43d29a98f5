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
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import exists, func, select, update

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
from tests.reports.conftest import NOW
from tests.reports.mixed_history import RANGE, TICKETS, Mixed
from tests.reports.mixed_history import everything as _everything
from tests.reports.mixed_history import report as _report

pytestmark = pytest.mark.usefixtures("frozen")


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
