"""The days the sweep keeps with each fact (the page counts by them), and the order
SQLite reads the kept facts in."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import event, select, update

from support.extensions import db
from support.models import ReportBacklogSpan, ReportTicketFacts, Ticket
from support.reports import facts
from support.reports.clock import RAW
from tests.reports.conftest import NOW
from tests.reports.mixed_history import TICKETS, everything
from tests.reports.mixed_history import report as report_of

pytestmark = pytest.mark.usefixtures("frozen")


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
    before = report_of(admin)
    db.session.execute(update(ReportBacklogSpan).values(filed_s=ReportBacklogSpan.filed_s - 86400))
    db.session.commit()
    doctored = report_of(admin)
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
    before = report_of(admin)
    shifted = {
        ReportTicketFacts.created_day: ReportTicketFacts.created_day + 1,
        ReportTicketFacts.done_day: ReportTicketFacts.done_day + 1,
        ReportTicketFacts.rated_day: ReportTicketFacts.rated_day + 1,
    }
    db.session.execute(update(ReportTicketFacts).values(shifted))
    db.session.commit()
    doctored = report_of(admin)
    for name in ("created", "resolved", "ratings"):
        counts = [getattr(period, name) for period in before.days]
        assert [getattr(period, name) for period in doctored.days][1:] == counts[:-1], name


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
        report = report_of(admin)
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
    assert everything(report) == everything(report_of(admin, RAW))
