"""The backlog's stretches: from each ticket's status events, when it entered the
backlog (filed or reopened) and left it (resolved or closed), kept by the sweep
(facts.py) or worked out from the timelines for tickets changed since; the page counts
the backlog at the end of each day and its age from them, with the two statements
below (backlog_moves, backlog_ages)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from support.models import Ticket, TicketEvent
from support.reports import sql
from support.reports.clock import SPANS, STATUS_EVENTS, Kept
from support.reports.filters import ReportFilters, day_bounds
from support.reports.filters import since as range_since
from support.reports.filters import until as range_until

DONE_STATUSES = ["resolved", "closed"]
AGE_BUCKETS = [(1, "Under 1 day"), (3, "1–3 days"), (7, "3–7 days"), (30, "7–30 days")]
AGE_LAST = "Over 30 days"
# The backlog before the range, the sum of its filing times (s), and by day how much
# both grew: (count, sum).
Moves = tuple[int, int, dict[int, tuple[int, int]]]


def span_rows(cohort: list) -> Select:
    """For each ticket passing `cohort`, its stretches in the backlog: ticket_id, seq
    (1, 2, …), opened_at (filed or reopened) and closed_at (resolved or closed; None:
    still in the backlog), from its status events.

    Filing starts the first stretch; after that, every status event that moves the
    ticket between done (resolved, closed) and not done ends or starts one, so the
    turns alternate and the n-th pair of them is the n-th stretch.
    """
    to = TicketEvent.data["to"].as_string()
    done = case((to.in_(DONE_STATUSES), 1), else_=0)
    order = (TicketEvent.created_at, TicketEvent.id)
    events = (
        select(
            TicketEvent.ticket_id,
            TicketEvent.created_at.label("at"),
            TicketEvent.id.label("seq"),
            done.label("done"),
            func.lag(done, 1, 0)
            .over(partition_by=TicketEvent.ticket_id, order_by=order)
            .label("was"),
        )
        .where(
            TicketEvent.ticket_id.in_(select(Ticket.id).where(*cohort)),
            TicketEvent.kind.in_(STATUS_EVENTS),
        )
        .subquery("status_events")
    )
    turns = union_all(
        select(
            Ticket.id.label("ticket_id"),
            Ticket.created_at.label("at"),
            literal(0).label("seq"),
            literal(0).label("done"),
        ).where(*cohort),
        select(events.c.ticket_id, events.c.at, events.c.seq, events.c.done).where(
            events.c.done != events.c.was
        ),
    ).subquery("turns")
    numbered = select(
        turns.c.ticket_id,
        turns.c.at,
        turns.c.done,
        (
            (
                func.row_number().over(
                    partition_by=turns.c.ticket_id, order_by=(turns.c.at, turns.c.seq)
                )
                + 1
            )
            // 2
        ).label("span"),
    ).subquery("numbered")
    return select(
        numbered.c.ticket_id,
        numbered.c.span.label("seq"),
        func.min(case((numbered.c.done == 0, numbered.c.at))).label("opened_at"),
        func.max(case((numbered.c.done == 1, numbered.c.at))).label("closed_at"),
    ).group_by(numbered.c.ticket_id, numbered.c.span)


def span_days(opened: Any, closed: Any, filed: Any) -> list[ColumnElement[int]]:
    """What the page counts a stretch by: opened_day and closed_day, the days it began
    and ended, and filed_s, its ticket's filing time in whole seconds. The sweep keeps
    them (facts.py), so a page reads integers rather than working them out from the
    timestamps of every stretch it counts."""
    return [
        sql.day_number(opened).label("opened_day"),
        sql.day_number(closed).label("closed_day"),
        sql.seconds(filed).label("filed_s"),
    ]


Chosen = Callable[[Any], ColumnElement[bool]]  # a condition on a stretch's columns


def span_parts(where: list, kept: Kept, index: str, *chosen: Chosen) -> list[Select]:
    """opened_at, closed_at, opened_day, closed_day and filed_s (span_days) of the backlog
    stretches of tickets passing `where` that meet any of the `chosen` conditions (each
    a function of the stretch's columns, and a part of its own): kept ones where fresh,
    read through the kept index named `index` ("closed", "began", "ended"), and
    worked out for the rest. Parts, so that each can be counted in its index's order."""
    parts = []
    for source in kept.sources(where, SPANS):
        if source.kept:
            span = source.c
            columns = [span.opened_at, span.closed_at, span.opened_day, span.closed_day]
            parts += [
                select(*columns, span.filed_s)
                .where(*source.where, condition(span))
                # Named: with some statistics SQLite reads another index than the one
                # that leads with what the condition bounds (35 ms against 5 at 200,000).
                .with_hint(SPANS, f"INDEXED BY ix_report_backlog_spans_{index}", "sqlite")
                for condition in chosen
            ]
            continue
        raw = span_rows(source.where).subquery("raw_spans")
        counted = span_days(raw.c.opened_at, raw.c.closed_at, Ticket.created_at)
        found = (
            select(raw.c.opened_at, raw.c.closed_at, *counted)
            .join(Ticket, Ticket.id == raw.c.ticket_id)
            .subquery("fresh_spans")
        )
        parts += [select(*found.c).where(condition(found.c)) for condition in chosen]
    return parts


def backlog_spans(where: list, kept: Kept, index: str, *chosen: Chosen) -> Any:
    """span_parts as one select."""
    parts = span_parts(where, kept, index, *chosen)
    return union_all(*parts) if len(parts) > 1 else parts[0]


def open_spans(where: list, kept: Kept, moment: datetime) -> Any:
    """backlog_spans in the backlog at `moment`: still open, or closed since (two
    conditions, so each is read through the closed_at index, not every stretch begun
    before `moment`)."""
    return backlog_spans(
        where,
        kept,
        "closed",
        lambda span: and_(span.closed_at.is_(None), span.opened_at < moment),
        lambda span: and_(span.closed_at >= moment, span.opened_at < moment),
    )


def backlog_moves(filters: ReportFilters, where: list, kept: Kept) -> Select:
    """The backlog at the start of the range (how many, and the sum of their filing
    times in seconds), and by day how much it grew: stretches begun less stretches
    ended. Each count reads the stretches through the index that leads with what it
    bounds, so stretches are counted by day in the index's order (no sort): those in the
    backlog when the range began (begun before, not closed before), those begun in the
    range and those ended in it. The kept and the fresh are counted apart (read_moves
    adds them up)."""
    since = range_since(filters)
    first, end = day_bounds(filters)
    before = backlog_spans(
        where,
        kept,
        "closed",
        lambda span: and_(span.closed_at.is_(None), span.opened_at < since),
        lambda span: and_(span.closed_at >= since, span.opened_at < since),
    ).subquery("before")

    def by_day(index: str, day: str, sign: int) -> list[Select]:
        def within(span: Any) -> ColumnElement[bool]:
            return and_(span[day] >= first, span[day] < end)

        counted = []
        for part in span_parts(where, kept, index, within):
            rows = part.subquery(index)
            found = [rows.c[day], sign * func.count(), sign * func.sum(rows.c.filed_s)]
            counted.append(select(*found).group_by(rows.c[day]))
        return counted

    return union_all(
        select(
            literal(None).label("day"), func.count(), func.coalesce(func.sum(before.c.filed_s), 0)
        ),
        *by_day("began", "opened_day", 1),
        *by_day("ended", "closed_day", -1),
    )


def read_moves(result: Any) -> Moves:
    """The backlog before the range, its age sum, and by day how much it grew."""
    backlog, age_sum, moves = 0, 0, {}
    for day, n, s in result:
        if day is None:
            backlog, age_sum = backlog + n, age_sum + int(s)
        else:
            was = moves.get(day, (0, 0))
            moves[day] = (was[0] + n, was[1] + int(s))
    return backlog, age_sum, moves


def backlog_ages(filters: ReportFilters, where: list, kept: Kept) -> Select:
    """The backlog at the end of the range by how long it has waited since filed."""
    end = range_until(filters)
    spans = open_spans(where, kept, end).subquery("open")
    waited = sql.seconds(end) - spans.c.filed_s
    bucket = case(
        *[(waited < days * sql.DAY, literal(i)) for i, (days, _) in enumerate(AGE_BUCKETS)],
        else_=literal(len(AGE_BUCKETS)),
    )
    return select(bucket, func.count()).group_by(bucket)


def read_backlog_ages(result: Any) -> list[tuple[str, int]]:
    counts = dict(result.all())
    labels = [label for _, label in AGE_BUCKETS] + [AGE_LAST]
    return [(label, counts.get(i, 0)) for i, label in enumerate(labels)]
