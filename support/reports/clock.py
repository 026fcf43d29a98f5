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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Select,
    Table,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter, ColumnClause, ColumnElement
from sqlalchemy.sql.selectable import FromClause, ScalarSelect

from support.extensions import db
from support.models import (
    EventKind,
    Priority,
    ReportBacklogSpan,
    ReportEventCount,
    ReportFactsState,
    ReportTicketFacts,
    Ticket,
    TicketEvent,
)
from support.reports import sql
from support.reports.filters import ReportFilters, day_bounds, in_range
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


TICKETS = Ticket.__table__
# The tickets under another name, for a subquery that must not correlate to the page's
# tickets; made once (an ORM alias per request costs a proxy of every column).
CHANGED = TICKETS.alias("changed")


def done_at(t: Any = TICKETS.c) -> ColumnElement[datetime]:
    """When the ticket was resolved (or closed without being resolved first); `t`: the
    tickets' columns, or a kept copy of them (Source.c)."""
    return func.coalesce(t.resolved_at, t.closed_at)


# Status changes that start or end a pause of the SLA clock (support/tickets/service/change.py:
# waiting on the customer, or resolved until they confirm, stops it).
STATUS_EVENTS = [EventKind.STATUS_CHANGED, EventKind.REOPENED, EventKind.ESCALATED]
PAUSED_STATUSES = ["pending", "resolved"]


def fingerprint(clock: Clock) -> str:
    """What the kept clock times were worked out under: another fingerprint, and they
    are stale. `Clock` holds all the clock depends on (the policies and the business
    hours schedule), so its repr names it."""
    return hashlib.sha256(repr(clock).encode()).hexdigest()


class NotKept(Exception):
    """A condition reads a ticket column the kept rows have no copy of."""


def on_copy(condition: ColumnElement[bool], copy: Table) -> ColumnElement[bool]:
    """`condition`, written over the tickets, over `copy`: a kept table carrying a copy of
    the tickets' columns under the same names (support/models/report.py). Subqueries
    (a category looked up by its slug) are left as they are. NotKept when it reads a
    column the copy lacks."""

    def moved(element: Any) -> Any:
        if isinstance(element, (Select, ScalarSelect, FromClause)):
            # A subquery stays as it is, unless it reads the tickets (correlated to
            # the row, say): it would not follow the row onto the copy.
            if any(_of_tickets(inner) for inner in visitors.iterate(element)):
                raise NotKept("a subquery on the tickets")
            return element
        if _of_tickets(element):
            if element.name not in copy.c:
                raise NotKept(element.name)
            return copy.c[element.name]
        return None

    return visitors.replacement_traverse(condition, {}, moved)


def _of_tickets(element: Any) -> bool:
    table = getattr(element, "table", None)
    return isinstance(element, ColumnClause) and table is not None and table.name == TICKETS.name


@dataclass(frozen=True)
class Source:
    """Where one part of a statement reads tickets' columns from: the tickets, or a
    kept copy of their columns (`kept`); `where`: the page's conditions on it, with
    which of its rows to read."""

    table: Table
    where: list

    @property
    def c(self) -> Any:
        return self.table.c

    @property
    def kept(self) -> bool:
        return self.table is not TICKETS


@dataclass(frozen=True)
class Kept:
    """Which tickets' kept facts a page may read: all but those updated since the
    sweep's watermark, under the clock in force (None: none, work everything out)."""

    watermark: datetime | None = None

    @classmethod
    def read(cls, clock: Clock) -> Kept:
        state = db.session.get(ReportFactsState, 1)
        if state is None or state.watermark is None or state.fingerprint != fingerprint(clock):
            return cls()
        return cls(state.watermark)

    def changed(self) -> Select:
        """The tickets changed since the watermark: a few, found through the updated_at
        index (an id list, so that SQLite's planner starts from it, not from a date
        range of tens of thousands)."""
        return select(CHANGED.c.id).where(CHANGED.c.updated_at >= self.bound())

    def bound(self) -> BindParameter[datetime]:
        """The watermark as a named parameter (figures runs cached statements with
        today's value, params())."""
        return bindparam("watermark", self.watermark, type_=DateTime)

    def params(self) -> dict[str, Any]:
        return {"watermark": self.watermark}

    def sources(self, where: list, copy: Table) -> list[Source]:
        """The kept rows of `copy` for the tickets unchanged since the watermark and the
        tickets themselves for the others; only the tickets when nothing is kept, or
        when a condition reads a column `copy` has no copy of."""
        if self.watermark is None:
            return [Source(TICKETS, list(where))]
        try:
            moved = [on_copy(condition, copy) for condition in where]
        except NotKept:
            return [Source(TICKETS, list(where))]
        return [
            Source(copy, [*moved, copy.c.ticket_id.not_in(self.changed())]),
            Source(TICKETS, [*where, Ticket.id.in_(self.changed())]),
        ]


RAW = Kept()
FACTS = ReportTicketFacts.__table__
SPANS = ReportBacklogSpan.__table__
EVENT_COUNTS = ReportEventCount.__table__


def union(parts: list[Select], name: str) -> Any:
    """The parts' rows as one subquery (a part alone as it is)."""
    return (union_all(*parts) if len(parts) > 1 else parts[0]).subquery(name)


Columns = Callable[[Any], list]  # labelled columns over a ticket's (or its copy's) columns


@dataclass(frozen=True)
class Timed:
    """The clock times of the tickets filed in the range: `all`, a CTE of every one;
    and its two parts when facts are kept: `kept`, the conditions on the kept facts
    (FACTS) that pick theirs, and `fresh`, a CTE of those worked out (the tickets
    changed since the sweep). `kept` None: nothing kept, `all` is worked out."""

    all: Any
    kept: list | None = None
    fresh: Any = None


def timed(
    filters: ReportFilters,
    where: list,
    clock: Clock,
    kept: Kept = RAW,
    more: Columns = lambda c: [],
) -> Timed:
    """For each ticket filed in the range, its id, assignee, channel, and `fr` and `res`,
    the clock seconds to the first response and to done (None while not there): kept
    facts where they are fresh, worked out (clock_rows) for the rest; and `more(c)`,
    more columns over the ticket's columns or their kept copies (`c`). As Timed: a CTE
    of them all, and its parts."""
    kept_where, fresh = None, None
    parts = []
    for source in kept.sources(where, FACTS):
        c = source.c
        cohort = [*source.where, in_range(c.created_at, filters)]
        if source.kept:
            kept_where = cohort
            parts.append(
                select(
                    c.ticket_id.label("id"), c.assignee_id, c.channel, c.fr, c.res, *more(c)
                ).where(*cohort)
            )
        else:
            fresh = clock_rows(cohort, clock, more(TICKETS.c))
            parts.append(fresh)
    if kept_where is None:
        return Timed(parts[0].cte("times"))
    # CTEs: each read by several parts of one statement, worked out once.
    fresh = fresh.cte("fresh")
    return Timed(union_all(parts[0], select(fresh)).cte("times"), kept_where, fresh)


def clock_rows(cohort: list, clock: Clock, more: Sequence[Any] = ()) -> Select:
    """For each ticket passing `cohort`: id, assignee_id, channel, and `fr` and `res`,
    the clock seconds to the first response and to done (None while not there), and
    the columns `more`.

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
            *more,
        )
        .outerjoin(pauses, pauses.c.ticket_id == Ticket.id)
        .where(*cohort)
    )


def kept_day(c: Any, name: str, ts: Any) -> ColumnElement[int]:
    """The day number of `ts`: the kept copy's own column `name` where `c` is a kept
    copy's columns that have it (the sweep works it out once), else worked out."""
    return c[name] if name in c else sql.day_number(ts)


def target_counts(
    answered: Any, due: Any, now: datetime, paused: Any = TICKETS.c.sla_paused_at
) -> tuple[ColumnElement, ...]:
    """(counted, met) for one SLA target: answered, or due and passed with the clock
    running (`paused`: when the ticket's clock stopped); met when answered by the due
    time."""
    counted = and_(
        due.is_not(None),
        or_(
            answered.is_not(None),
            and_(due < now, or_(paused.is_(None), due <= paused)),
        ),
    )
    met = and_(counted, answered.is_not(None), answered <= due)
    return counted, met


# Escalations, reopens and replies: the events the reports count.
COUNTED_EVENTS = [EventKind.ESCALATED, EventKind.REOPENED, EventKind.REPLY]


def event_rows(cohort: list) -> Select:
    """For each ticket passing `cohort` (conditions on tickets and their events): its
    escalations, reopens and the team's public replies (the customer's own are theirs)
    by day, kind and actor: ticket_id, day, kind, actor_id, n."""
    day = sql.day_number(TicketEvent.created_at).label("day")
    return (
        select(
            TicketEvent.ticket_id,
            day,
            TicketEvent.kind,
            TicketEvent.actor_id,
            func.count().label("n"),
        )
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(
            *cohort,
            TicketEvent.kind.in_(COUNTED_EVENTS),
            or_(TicketEvent.kind != EventKind.REPLY, TicketEvent.actor_id != Ticket.customer_id),
        )
        .group_by(TicketEvent.ticket_id, day, TicketEvent.kind, TicketEvent.actor_id)
    )


def event_counts(filters: ReportFilters, where: list, kept: Kept) -> Any:
    """kind, actor_id and n: the counted events of tickets passing `where` on the days
    of the range, kept counts where fresh, worked out for the rest."""
    first, end = day_bounds(filters)
    parts = []
    for source in kept.sources(where, EVENT_COUNTS):
        c = source.c
        if source.kept:
            parts.append(
                select(c.kind, c.actor_id, c.n).where(*source.where, c.day >= first, c.day < end)
            )
            continue
        raw = event_rows([*source.where, in_range(TicketEvent.created_at, filters)]).subquery(
            "raw_events"
        )
        parts.append(select(raw.c.kind, raw.c.actor_id, raw.c.n))
    return union(parts, "counted_events")
