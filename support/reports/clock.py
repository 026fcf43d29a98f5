"""The SLA clock and the backlog's stretches as SQL: per-ticket facts the figures
(support/reports/figures.py) and the ticket export (tables.py) are built on.

- clock time: time on the SLA clock, as the SLA machinery ran it. Business hours
  count where the ticket's priority's policy has them, and the time we waited for
  the customer (the clock paused) does not count. The clock moves due times on
  when it resumes (support/tickets/sla.py), so the time a target took is the
  policy's span less what was left on the clock:
      span − clock(due) + clock(answered)
  where clock(t) is plain or business seconds (support/reports/sql.py).
- a stretch in the backlog: from filing (or a reopening) to being resolved or
  closed, as the ticket's status events tell.
- SLA target counts: of the tickets with a target that has been answered or has
  passed (not while paused), those answered by the due time.

Kept facts: the two per-ticket results that cost most, the clock times and the
stretches in the backlog, are also kept in tables by the sweep (support/reports/
facts.py), filled by INSERT … SELECT from `clock_rows` and `span_rows` below. A
page reads them for tickets last updated before the sweep's watermark and works out
the rest (the tickets changed since) with the same SQL, so it is never behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, false, func, literal, or_, select, true, union_all
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from support.extensions import db
from support.models import (
    EventKind,
    Priority,
    ReportBacklogSpan,
    ReportFactsState,
    ReportTicketFacts,
    Ticket,
    TicketEvent,
)
from support.reports import sql
from support.reports.filters import ReportFilters, in_range
from support.tickets import sla
from support.tickets.schedule import DEFAULT, Schedule, ensure_intervals
from support.tickets.schedule import current as current_schedule


@dataclass(frozen=True)
class Clock:
    """The policies and business hours in force, turned into SQL over a ticket's columns."""

    spans: dict[Priority, sla.Targets]
    schedule: Schedule = DEFAULT

    @classmethod
    def current(cls) -> Clock:
        spans = {priority: sla.targets_for(priority) for priority in Priority}
        clock = cls(spans, current_schedule())
        if any(targets.business_hours for targets in spans.values()):
            ensure_intervals(clock.schedule)  # the SQL clock's table, built once per schedule
        return clock

    def at(self, ts: Any) -> ColumnElement[int]:
        """Seconds on the clock at `ts`: business seconds where the policy says so."""
        business = [p for p, t in self.spans.items() if t.business_hours]
        if not business:
            return sql.seconds(ts)
        counted = sql.business_seconds(ts, self.schedule.fingerprint)
        if len(business) == len(self.spans):
            return counted
        return case((Ticket.priority.in_(business), counted), else_=sql.seconds(ts))


def done_at() -> ColumnElement[datetime]:
    """When the ticket was resolved (or closed without being resolved first)."""
    return func.coalesce(Ticket.resolved_at, Ticket.closed_at)


# Status changes that start or end a pause of the SLA clock (support/tickets/service/change.py:
# waiting on the customer, or resolved until they confirm, stops it).
STATUS_EVENTS = [EventKind.STATUS_CHANGED, EventKind.REOPENED, EventKind.ESCALATED]
PAUSED_STATUSES = ["pending", "resolved"]


def fingerprint(clock: Clock) -> str:
    """What the kept clock times were worked out under: another fingerprint, and they
    are stale. `Clock` holds all the clock depends on (the policies and the business
    hours schedule), so its repr names it."""
    return hashlib.sha256(repr(clock).encode()).hexdigest()


@dataclass(frozen=True)
class Kept:
    """Which tickets' kept facts a page may read: those last updated before the
    sweep's watermark, under the clock in force (None: none, work everything out)."""

    watermark: datetime | None = None

    @classmethod
    def read(cls, clock: Clock) -> Kept:
        state = db.session.get(ReportFactsState, 1)
        if state is None or state.watermark is None or state.fingerprint != fingerprint(clock):
            return cls()
        return cls(state.watermark)

    def fresh(self) -> ColumnElement[bool]:
        return Ticket.updated_at < self.watermark if self.watermark else false()

    def stale(self) -> ColumnElement[bool]:
        """The tickets changed since, found through the updated_at index: written as an
        id list so that SQLite's planner starts from it (a few rows), not from a date
        range of the filters (tens of thousands)."""
        if self.watermark is None:
            return true()
        changed = aliased(Ticket)
        return Ticket.id.in_(select(changed.id).where(changed.updated_at >= self.watermark))


RAW = Kept()


def clock_times(filters: ReportFilters, where: list, clock: Clock, kept: Kept = RAW) -> Any:
    """A CTE: for each ticket filed in the range, its id, assignee, channel, and `fr` and
    `res`, the clock seconds to the first response and to done (None while not there):
    kept facts where they are fresh, worked out (clock_rows) for the rest."""
    cohort = [*where, in_range(Ticket.created_at, filters)]
    raw = clock_rows([*cohort, kept.stale()], clock)
    if kept.watermark is None:
        return raw.cte("times")  # read by several parts of one statement: worked out once
    facts = ReportTicketFacts
    read = (
        select(Ticket.id, Ticket.assignee_id, Ticket.channel, facts.fr, facts.res)
        .join(facts, facts.ticket_id == Ticket.id)
        .where(*cohort, kept.fresh())
    )
    return union_all(read, raw).cte("times")


def clock_rows(cohort: list, clock: Clock) -> Select:
    """For each ticket passing `cohort`: id, assignee_id, channel, and `fr` and `res`,
    the clock seconds to the first response and to done (None while not there).

    A pause runs from a status event into a paused status to the ticket's next status
    event; the part of it before the moment measured is taken off.
    """
    # The cohort's status events, found through the ticket index (never a scan of all events).
    changes = (
        select(
            TicketEvent.ticket_id,
            TicketEvent.created_at.label("start"),
            TicketEvent.data["to"].as_string().label("to"),
            func.lead(TicketEvent.created_at)
            .over(
                partition_by=TicketEvent.ticket_id,
                order_by=(TicketEvent.created_at, TicketEvent.id),
            )
            .label("stop"),
        )
        .where(
            TicketEvent.ticket_id.in_(select(Ticket.id).where(*cohort)),
            TicketEvent.kind.in_(STATUS_EVENTS),
        )
        .subquery("changes")
    )

    def paused_before(moment: Any) -> Any:
        end = case((changes.c.stop < moment, changes.c.stop), else_=moment)
        return func.sum(
            case(
                (
                    and_(moment.is_not(None), changes.c.start < moment),
                    clock.at(end) - clock.at(changes.c.start),
                ),
                else_=0,
            )
        )

    pauses = (
        select(
            changes.c.ticket_id,
            paused_before(Ticket.first_responded_at).label("fr"),
            paused_before(done_at()).label("res"),
        )
        .join(Ticket, Ticket.id == changes.c.ticket_id)
        .where(changes.c.to.in_(PAUSED_STATUSES), changes.c.stop.is_not(None))
        .group_by(changes.c.ticket_id)
        .subquery("pauses")
    )

    def taken(moment: Any, paused: Any) -> Any:
        return case(
            (moment.is_(None), None),
            else_=clock.at(moment) - clock.at(Ticket.created_at) - func.coalesce(paused, 0),
        )

    return (
        select(
            Ticket.id,
            Ticket.assignee_id,
            Ticket.channel,
            taken(Ticket.first_responded_at, pauses.c.fr).label("fr"),
            taken(done_at(), pauses.c.res).label("res"),
        )
        .outerjoin(pauses, pauses.c.ticket_id == Ticket.id)
        .where(*cohort)
    )


DONE_STATUSES = ["resolved", "closed"]


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


Chosen = Callable[[Any, Any], ColumnElement[bool]]  # a condition on opened_at, closed_at


def backlog_spans(where: list, kept: Kept, *chosen: Chosen) -> Any:
    """opened_at, closed_at and `s` (the filing time in seconds) of the backlog stretches
    of tickets passing `where` that meet any of the `chosen` conditions (each one a part
    of its own, read through its own index): kept ones where fresh, worked out for the
    rest."""
    raw = span_rows([*where, kept.stale()]).subquery("raw_spans")
    filed = sql.seconds(Ticket.created_at).label("s")
    span = ReportBacklogSpan
    parts = []
    for condition in chosen:
        parts.append(
            select(raw.c.opened_at, raw.c.closed_at, filed)
            .join(Ticket, Ticket.id == raw.c.ticket_id)
            .where(condition(raw.c.opened_at, raw.c.closed_at))
        )
        if kept.watermark is not None:
            parts.append(
                select(span.opened_at, span.closed_at, filed)
                .join(Ticket, Ticket.id == span.ticket_id)
                .where(*where, kept.fresh(), condition(span.opened_at, span.closed_at))
            )
    return union_all(*parts) if len(parts) > 1 else parts[0]


def open_spans(where: list, kept: Kept, moment: datetime) -> Any:
    """backlog_spans in the backlog at `moment`: still open, or closed since (two
    conditions, so each is read through the closed_at index, not every stretch begun
    before `moment`)."""
    return backlog_spans(
        where,
        kept,
        lambda opened, closed: and_(closed.is_(None), opened < moment),
        lambda opened, closed: and_(closed >= moment, opened < moment),
    )


def target_counts(answered: Any, due: Any, now: datetime) -> tuple[ColumnElement, ...]:
    """(counted, met) for one SLA target: answered, or due and passed with the clock
    running; met when answered by the due time."""
    counted = and_(
        due.is_not(None),
        or_(
            answered.is_not(None),
            and_(due < now, or_(Ticket.sla_paused_at.is_(None), due <= Ticket.sla_paused_at)),
        ),
    )
    met = and_(counted, answered.is_not(None), answered <= due)
    return counted, met
