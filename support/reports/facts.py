"""The sweep keeps the reports' costly per-ticket facts: clock times, stretches in the
backlog and the counted events by day (support/models/report.py), copied by INSERT …
SELECT from the SQL that defines them (support/reports/clock.py `clock_rows`,
`span_rows` and `event_rows`), never ticket by ticket in Python, each row with a copy
of the ticket's columns the reports filter by.

Tickets are taken in (updated_at, id) order from the last watermark up to a moment a
little in the past (MARGIN: a change written just before but committed after that
moment is still ahead of the watermark), in batches, each committed on its own; a run
that stops after `max_batches` carries on from its cursor next time. A new clock
(another fingerprint: policies or business hours edited) starts them all over, and
pages work everything out meanwhile. Pages read facts only for tickets last updated
before the watermark (clock.Kept), so a change shows at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, Table, and_, delete, func, insert, literal, or_, select

from support.extensions import db
from support.models import Rating, ReportFactsState, Ticket
from support.reports import sql
from support.reports.backlog import span_days, span_rows
from support.reports.clock import (
    EVENT_COUNTS,
    FACTS,
    SPANS,
    TICKETS,
    Clock,
    clock_rows,
    done_at,
    event_rows,
    fingerprint,
)

BATCH = 2000  # tickets per statement: their events are read through the ticket index
MAX_BATCHES = 25  # per sweep run (every minute): 50,000 tickets at most
MARGIN = timedelta(minutes=5)  # longer than any transaction that writes a ticket


def refresh(now: datetime, max_batches: int = MAX_BATCHES, batch: int = BATCH) -> int:
    """Bring the kept facts up to `now` − MARGIN (or `max_batches` closer to it);
    returns how many tickets were worked out. Commits after each batch."""
    clock = Clock.current()
    kept_under = fingerprint(clock)
    state = db.session.get(ReportFactsState, 1, with_for_update=True)
    if state is None:
        state = ReportFactsState(id=1)
        db.session.add(state)
    if state.fingerprint != kept_under:  # everything was worked out under another clock
        state.fingerprint, state.watermark = kept_under, None
        state.cursor_updated_at = state.cursor_id = state.target = None
    if state.target is None:
        state.target = now - MARGIN
    worked = 0
    for _ in range(max_batches):
        ids = db.session.execute(_next_batch(state, batch)).all()
        if not ids:
            state.watermark, state.target = state.target, None
            state.cursor_updated_at = state.cursor_id = None
            break
        _rebuild([ticket_id for ticket_id, _ in ids], clock, kept_under)
        state.cursor_id, state.cursor_updated_at = ids[-1]
        worked += len(ids)
        db.session.commit()
        state = db.session.get(ReportFactsState, 1, with_for_update=True)
    db.session.commit()
    return worked


def _next_batch(state: ReportFactsState, batch: int):
    """The next tickets to work out: updated in [watermark, target), after the cursor."""
    where = [Ticket.updated_at < state.target]
    if state.watermark is not None:
        where.append(Ticket.updated_at >= state.watermark)
    if state.cursor_id is not None:
        at = state.cursor_updated_at
        where.append(
            or_(Ticket.updated_at > at, and_(Ticket.updated_at == at, Ticket.id > state.cursor_id))
        )
    return (
        select(Ticket.id, Ticket.updated_at)
        .where(*where)
        .order_by(Ticket.updated_at, Ticket.id)
        .limit(batch)
    )


def _rebuild(ids: list[int], clock: Clock, kept_under: str) -> None:
    """Replace the facts of the tickets `ids` with what the figures' SQL says now, each
    row with its copy of the ticket's columns (support/models/report.py)."""
    cohort = [Ticket.id.in_(ids)]
    for table in (FACTS, SPANS, EVENT_COUNTS):
        db.session.execute(delete(table).where(table.c.ticket_id.in_(ids)))
    times = clock_rows(cohort, clock).subquery("times")
    own = ["ticket_id", "fingerprint", "fr", "res", "rated_at", "rating_score"]
    days = ["created_day", "done_day", "rated_day"]
    copied = _copied(FACTS, own)
    db.session.execute(
        insert(FACTS).from_select(
            [*own, *days, *copied],
            select(
                times.c.id,
                literal(kept_under),
                times.c.fr,
                times.c.res,
                Rating.created_at,
                Rating.score,
                sql.day_number(TICKETS.c.created_at),
                sql.day_number(done_at()),
                sql.day_number(Rating.created_at),
                *[TICKETS.c[name] for name in copied],
            )
            .join(TICKETS, TICKETS.c.id == times.c.id)
            .outerjoin(Rating, Rating.ticket_id == times.c.id),
        )
    )
    for table, rows in (
        (SPANS, _counted(span_rows(cohort))),
        (EVENT_COUNTS, _numbered(event_rows(cohort))),
    ):
        found = rows.subquery("found")
        own = [column.name for column in found.c]
        copied = _copied(table, own)
        db.session.execute(
            insert(table).from_select(
                [*own, *copied],
                select(*found.c, *[TICKETS.c[name] for name in copied]).join(
                    TICKETS, TICKETS.c.id == found.c.ticket_id
                ),
            )
        )


def _copied(table: Table, own: list[str]) -> list[str]:
    """The tickets' columns `table` keeps a copy of: those of the same names but its
    `own` (a stretch's closed_at is not the ticket's)."""
    return [c.name for c in table.c if c.name in TICKETS.c and c.name not in own]


def _counted(spans: Select) -> Select:
    """`spans` (span_rows) with what the page counts them by (backlog.span_days)."""
    found = spans.subquery("spans")
    ticket = TICKETS.alias("filed")
    return select(
        *found.c, *span_days(found.c.opened_at, found.c.closed_at, ticket.c.created_at)
    ).join(ticket, ticket.c.id == found.c.ticket_id)


def _numbered(rows: Select) -> Select:
    """`rows` (with a ticket_id) and `seq`, 1, 2, … within each ticket: their key."""
    found = rows.subquery("unnumbered")
    seq = func.row_number().over(partition_by=found.c.ticket_id, order_by=found.c.day)
    return select(*found.c, seq.label("seq"))
