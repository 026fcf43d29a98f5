"""The sweep keeps the reports' costly per-ticket facts: clock times and stretches in
the backlog (support/models/report.py), copied by INSERT … SELECT from the SQL that
defines them (support/reports/clock.py `clock_rows` and `span_rows`), never ticket
by ticket in Python.

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

from sqlalchemy import and_, delete, insert, literal, or_, select

from support.extensions import db
from support.models import ReportBacklogSpan, ReportFactsState, ReportTicketFacts, Ticket
from support.reports.clock import Clock, clock_rows, fingerprint, span_rows

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
    """Replace the facts of the tickets `ids` with what the figures' SQL says now."""
    cohort = [Ticket.id.in_(ids)]
    facts, spans = ReportTicketFacts, ReportBacklogSpan
    db.session.execute(delete(facts).where(facts.ticket_id.in_(ids)))
    db.session.execute(delete(spans).where(spans.ticket_id.in_(ids)))
    times = clock_rows(cohort, clock).subquery("times")
    db.session.execute(
        insert(facts).from_select(
            ["ticket_id", "fingerprint", "fr", "res"],
            select(times.c.id, literal(kept_under), times.c.fr, times.c.res),
        )
    )
    stretches = span_rows(cohort).subquery("stretches")
    db.session.execute(
        insert(spans).from_select(
            ["ticket_id", "seq", "opened_at", "closed_at"],
            select(
                stretches.c.ticket_id,
                stretches.c.seq,
                stretches.c.opened_at,
                stretches.c.closed_at,
            ),
        )
    )
