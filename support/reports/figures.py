"""Every figure of the reports, each defined once, as SQL.

Definitions (a ticket is counted when it passes the viewer's scope and the filters):

- created: tickets whose created_at is in the range. done (resolved): tickets whose
  resolved_at (or, closed without resolving, closed_at) is in the range.
- backlog at the end of a day: the tickets that were in it then, as their status
  events tell (filed, or reopened, and not resolved or closed since): a ticket
  resolved on Tuesday and reopened on Thursday is out of Wednesday's backlog. Its
  age: the average time since those tickets were filed.
- clock time: time on the SLA clock, as the SLA machinery ran it. Business hours
  count where the ticket's priority's policy has them, and the time we waited for
  the customer (the clock paused) does not count. The clock moves due times on
  when it resumes (support/tickets/sla.py), so the time a target took is the
  policy's span less what was left on the clock:
      span − clock(due) + clock(answered)
  where clock(t) is plain or business seconds (support/reports/sql.py).
- first-response time: clock time to the first public answer; resolution time:
  clock time to done. Median and 90th percentile (percentile_cont's interpolation).
- SLA attainment, by the week a ticket was filed: of the tickets with a target
  that has been answered or has passed (not while paused), the share answered by
  the due time.
- escalations, reopens and replies: timeline events in the range.
- reopen rate: reopens in the range per ticket done in the range.
- satisfaction: ratings given in the range; satisfied means 4 or 5 out of 5.

Kept facts: the two per-ticket results that cost most, the clock times and the
stretches in the backlog, are also kept in tables by the sweep (support/reports/
facts.py), filled by INSERT … SELECT from `clock_rows` and `span_rows` below. A
page reads them for tickets last updated before the sweep's watermark and works out
the rest (the tickets changed since) with the same SQL, so it is never behind.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Select,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from support.extensions import db
from support.models import (
    EventKind,
    Priority,
    Rating,
    ReportBacklogSpan,
    ReportFactsState,
    ReportTicketFacts,
    Ticket,
    TicketEvent,
    User,
)
from support.models.ticket import Channel
from support.reports import sql
from support.reports.filters import Grouping, ReportFilters, conditions
from support.tickets import sla
from support.tickets.schedule import DEFAULT, Schedule, ensure_intervals
from support.tickets.schedule import current as current_schedule

EPOCH = date(1970, 1, 1)
SATISFIED = 4  # a score of 4 or 5 out of 5
LATEST_COMMENTS = 5
# Time-to-first-response distribution: upper bounds in hours, the last one open.
RESPONSE_BUCKETS = [(1, "Under 1 h"), (4, "1–4 h"), (8, "4–8 h"), (24, "8–24 h"), (72, "1–3 days")]
RESPONSE_LAST = "Over 3 days"
AGE_BUCKETS = [(1, "Under 1 day"), (3, "1–3 days"), (7, "3–7 days"), (30, "7–30 days")]
AGE_LAST = "Over 30 days"


def day_of(number: int) -> date:
    return EPOCH + timedelta(days=int(number))


# --- the SLA clock as SQL ---------------------------------------------------------------


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
    cohort = [*where, _in_range(Ticket.created_at, filters)]
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


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


# --- the report --------------------------------------------------------------------------


@dataclass
class Period:
    start: date
    created: int = 0
    resolved: int = 0
    fr_counted: int = 0
    fr_met: int = 0
    res_counted: int = 0
    res_met: int = 0
    backlog: int = 0  # at the end of the period
    backlog_age_hours: float | None = None
    ratings: int = 0
    rating_sum: int = 0
    satisfied: int = 0

    @property
    def fr_attainment(self) -> float | None:
        return share(self.fr_met, self.fr_counted)

    @property
    def res_attainment(self) -> float | None:
        return share(self.res_met, self.res_counted)

    @property
    def satisfaction(self) -> float | None:
        return self.rating_sum / self.ratings if self.ratings else None

    @property
    def satisfied_share(self) -> float | None:
        return share(self.satisfied, self.ratings)


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Row:
    """One line of the per-agent or per-channel table."""

    key: Any
    label: str
    assigned: int = 0
    created: int = 0
    replies: int = 0
    resolved: int = 0
    fr_median: float | None = None
    ratings: int = 0
    rating_sum: int = 0

    @property
    def satisfaction(self) -> float | None:
        return self.rating_sum / self.ratings if self.ratings else None


@dataclass
class Report:
    filters: ReportFilters
    days: list[Period]
    weeks: list[Period]
    created: int
    resolved: int
    backlog_end: int
    backlog_ages: list[tuple[str, int]]
    fr_p50: float | None
    fr_p90: float | None
    res_p50: float | None
    res_p90: float | None
    fr_buckets: list[tuple[str, int]]
    escalations: int
    reopens: int
    ratings: dict[int, int]  # score -> count
    comments: list[dict[str, Any]]
    agents: list[Row]
    channels: list[Row]
    totals: Period = field(default_factory=lambda: Period(EPOCH))

    @property
    def periods(self) -> list[Period]:
        return self.weeks if self.filters.group == Grouping.WEEK else self.days

    @property
    def reopen_rate(self) -> float | None:
        return share(self.reopens, self.resolved)

    @property
    def rating_count(self) -> int:
        return sum(self.ratings.values())

    @property
    def satisfaction(self) -> float | None:
        count = self.rating_count
        return sum(s * n for s, n in self.ratings.items()) / count if count else None

    @property
    def satisfied_share(self) -> float | None:
        return share(sum(n for s, n in self.ratings.items() if s >= SATISFIED), self.rating_count)

    @property
    def is_empty(self) -> bool:
        return not (self.created or self.resolved or self.backlog_end or self.rating_count)


def build(
    filters: ReportFilters,
    viewer: User,
    now: datetime,
    shared: Sequence[Any] = (),
    kept: Kept | None = None,
) -> Report:
    """Every figure for `filters` as `viewer` may see them, in a fixed number of queries
    (`shared`: the board's team, category and priority conditions, see filters.conditions;
    `kept`: which kept facts to read, by default as far as the sweep has kept them,
    RAW to work every figure out from the tickets and their timelines)."""
    where = conditions(filters, viewer, shared)
    clock = Clock.current()
    if kept is None:
        kept = Kept.read(clock)
    days = _days(filters, where, now, kept)
    weeks = _weeks(days)
    totals = _sum(days, EPOCH)
    times = _times(clock_times(filters, where, clock, kept))
    events = _events(filters, where)
    ratings = _ratings(filters, where)
    _attach_ratings(days, weeks, ratings)
    report = Report(
        filters=filters,
        days=days,
        weeks=weeks,
        created=totals.created,
        resolved=totals.resolved,
        backlog_end=days[-1].backlog if days else 0,
        backlog_ages=_backlog_ages(filters, where, kept),
        fr_p50=times.fr[0],
        fr_p90=times.fr[1],
        res_p50=times.res[0],
        res_p90=times.res[1],
        fr_buckets=times.buckets,
        escalations=sum(n for (kind, _), n in events.items() if kind == EventKind.ESCALATED),
        reopens=sum(n for (kind, _), n in events.items() if kind == EventKind.REOPENED),
        ratings=_distribution(ratings),
        comments=_comments(filters, where),
        agents=_agents(filters, where, events, times.agents, ratings),
        channels=_channels(filters, where, times.channels, ratings),
        totals=totals,
    )
    return report


def _in_range(column: Any, filters: ReportFilters) -> ColumnElement[bool]:
    return and_(column >= filters.since, column < filters.until)


def _done_in_range(filters: ReportFilters) -> ColumnElement[bool]:
    """done_at() in the range, written so the resolved_at and closed_at indexes serve it."""
    return or_(
        _in_range(Ticket.resolved_at, filters),
        and_(Ticket.resolved_at.is_(None), _in_range(Ticket.closed_at, filters)),
    )


def _days(filters: ReportFilters, where: list, now: datetime, kept: Kept) -> list[Period]:
    """Created, done, SLA counts and the backlog for each day of the range.

    The backlog at the end of a day is the backlog before the range plus the stretches
    in it that began since, less those that ended; its average age comes the same way
    from the sum of the filing times of the tickets in it.
    """
    created_day = sql.day_number(Ticket.created_at)
    fr_counted, fr_met = target_counts(Ticket.first_responded_at, Ticket.first_response_due, now)
    res_counted, res_met = target_counts(done_at(), Ticket.resolution_due, now)
    filed = (
        select(
            created_day.label("day"),
            func.count().label("n"),
            _count(fr_counted).label("frc"),
            _count(fr_met).label("frm"),
            _count(res_counted).label("rc"),
            _count(res_met).label("rm"),
        )
        .where(*where, _in_range(Ticket.created_at, filters))
        .group_by(created_day)
    )
    done_day = sql.day_number(done_at())
    done = (
        select(done_day.label("day"), func.count().label("n"))
        .where(*where, _done_in_range(filters))
        .group_by(done_day)
    )
    backlog, age_sum, moves = _backlog_moves(filters, where, kept)
    filed_by_day = {row.day: row for row in db.session.execute(filed)}
    done_by_day = {row.day: row for row in db.session.execute(done)}
    periods = []
    first = (filters.start - EPOCH).days
    for number in range(first, first + filters.days):
        period = Period(day_of(number))
        if (row := filed_by_day.get(number)) is not None:
            period.created, period.fr_counted, period.fr_met = row.n, row.frc, row.frm
            period.res_counted, period.res_met = row.rc, row.rm
        if (row := done_by_day.get(number)) is not None:
            period.resolved = row.n
        n, s = moves.get(number, (0, 0))
        backlog, age_sum = backlog + n, age_sum + s
        period.backlog = backlog
        end_s = (number + 1) * sql.DAY
        period.backlog_age_hours = (end_s - age_sum / backlog) / 3600 if backlog else None
        periods.append(period)
    return periods


def _backlog_moves(
    filters: ReportFilters, where: list, kept: Kept
) -> tuple[int, int, dict[int, tuple[int, int]]]:
    """The backlog at the start of the range (how many, and the sum of their filing
    times in seconds), and by day how much it grew: stretches begun less stretches
    ended. One statement."""
    since, until = filters.since, filters.until
    before = open_spans(where, kept, since).subquery("before")
    began = backlog_spans(
        where, kept, lambda opened, _: and_(opened >= since, opened < until)
    ).subquery("began")
    ended = backlog_spans(
        where, kept, lambda _, closed: and_(closed >= since, closed < until)
    ).subquery("ended")
    began_day, ended_day = sql.day_number(began.c.opened_at), sql.day_number(ended.c.closed_at)
    statement = union_all(
        select(literal(None).label("day"), func.count(), func.coalesce(func.sum(before.c.s), 0)),
        select(began_day, func.count(), func.sum(began.c.s)).group_by(began_day),
        select(ended_day, -func.count(), -func.sum(ended.c.s)).group_by(ended_day),
    )
    backlog, age_sum, moves = 0, 0, {}
    for day, n, s in db.session.execute(statement):
        if day is None:
            backlog, age_sum = backlog + n, age_sum + int(s)
        else:
            was = moves.get(day, (0, 0))
            moves[day] = (was[0] + n, was[1] + int(s))
    return backlog, age_sum, moves


def _sum(periods: list[Period], start: date) -> Period:
    total = Period(start)
    for name in ("created", "resolved", "fr_counted", "fr_met", "res_counted", "res_met"):
        setattr(total, name, sum(getattr(p, name) for p in periods))
    if periods:
        total.backlog = periods[-1].backlog
        total.backlog_age_hours = periods[-1].backlog_age_hours
    return total


def _weeks(days: list[Period]) -> list[Period]:
    """Days added up by the week (Monday) they fall in; a week's backlog is its last day's."""
    by_week: dict[date, list[Period]] = defaultdict(list)
    for day in days:
        by_week[day.start - timedelta(days=day.start.weekday())].append(day)
    return [_sum(group, monday) for monday, group in by_week.items()]


@dataclass(frozen=True)
class Times:
    """What one statement over the clock times finds."""

    fr: tuple[float | None, float | None]  # median, 90th percentile
    res: tuple[float | None, float | None]
    agents: dict[int, float]  # first-response median per assignee
    channels: dict[str, float]  # … and per channel
    buckets: list[tuple[str, int]]  # tickets by time to first response


def _times(times: Any) -> Times:
    """Median and 90th percentile of first-response and resolution clock times, the
    first-response median per agent and per channel, and the first-response
    distribution: one statement, so the clock times are worked out once."""

    def values(key: Any, value: Any, *extra: Any) -> Any:
        return select(key.label("key"), value.label("value")).where(value.is_not(None), *extra)

    bucket = case(
        *[(times.c.fr < h * 3600, literal(f"b:{i}")) for i, (h, _) in enumerate(RESPONSE_BUCKETS)],
        else_=literal(f"b:{len(RESPONSE_BUCKETS)}"),
    )
    values_of = union_all(
        values(literal("fr", String), times.c.fr),
        values(literal("res", String), times.c.res),
        values(_tagged("a:", times.c.assignee_id), times.c.fr, times.c.assignee_id.is_not(None)),
        values(_tagged("c:", times.c.channel), times.c.fr),
        values(bucket, times.c.fr),
    ).subquery("v")
    statement = sql.percentiles(
        select(values_of.c.key, values_of.c.value), [0.5, 0.9], db.engine.dialect.name
    )
    found = {row[0]: (row[1], row[2], row[3]) for row in db.session.execute(statement)}
    labels = [label for _, label in RESPONSE_BUCKETS] + [RESPONSE_LAST]
    return Times(
        fr=found.get("fr", (0, None, None))[1:],
        res=found.get("res", (0, None, None))[1:],
        agents={int(k[2:]): v[1] for k, v in found.items() if k.startswith("a:")},
        channels={k[2:]: v[1] for k, v in found.items() if k.startswith("c:")},
        buckets=[(label, found.get(f"b:{i}", (0,))[0]) for i, label in enumerate(labels)],
    )


def _tagged(prefix: str, column: Any) -> ColumnElement[str]:
    """`prefix` and the column's value as text: keys of one percentile statement."""
    return literal(prefix, String).concat(cast(column, String))


def _backlog_ages(filters: ReportFilters, where: list, kept: Kept) -> list[tuple[str, int]]:
    """The backlog at the end of the range by how long it has waited since filed."""
    spans = open_spans(where, kept, filters.until).subquery("open")
    waited = sql.seconds(literal(filters.until)) - spans.c.s
    bucket = case(
        *[(waited < days * sql.DAY, literal(i)) for i, (days, _) in enumerate(AGE_BUCKETS)],
        else_=literal(len(AGE_BUCKETS)),
    )
    counts = dict(db.session.execute(select(bucket, func.count()).group_by(bucket)).all())
    labels = [label for _, label in AGE_BUCKETS] + [AGE_LAST]
    return [(label, counts.get(i, 0)) for i, label in enumerate(labels)]


def _events(filters: ReportFilters, where: list) -> dict[tuple[EventKind, int | None], int]:
    """Escalations, reopens and the team's public replies in the range, by kind and actor."""
    kinds = [EventKind.ESCALATED, EventKind.REOPENED, EventKind.REPLY]
    statement = (
        select(TicketEvent.kind, TicketEvent.actor_id, func.count())
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(
            *where,
            TicketEvent.kind.in_(kinds),
            _in_range(TicketEvent.created_at, filters),
            # Replies count the team's; the customer's own are theirs.
            or_(TicketEvent.kind != EventKind.REPLY, TicketEvent.actor_id != Ticket.customer_id),
        )
        .group_by(TicketEvent.kind, TicketEvent.actor_id)
    )
    return {(EventKind(kind), actor): n for kind, actor, n in db.session.execute(statement)}


@dataclass(frozen=True)
class RatingCount:
    day: int
    score: int
    assignee_id: int | None
    channel: str
    count: int


def _ratings(filters: ReportFilters, where: list) -> list[RatingCount]:
    """Ratings given in the range, counted by day, score, assignee and channel."""
    day = sql.day_number(Rating.created_at)
    statement = (
        select(day, Rating.score, Ticket.assignee_id, Ticket.channel, func.count())
        .join(Ticket, Ticket.id == Rating.ticket_id)
        .where(*where, _in_range(Rating.created_at, filters))
        .group_by(day, Rating.score, Ticket.assignee_id, Ticket.channel)
    )
    return [RatingCount(d, s, a, str(c), n) for d, s, a, c, n in db.session.execute(statement)]


def _attach_ratings(days: list[Period], weeks: list[Period], ratings: list[RatingCount]) -> None:
    by_date = {p.start: p for p in days}
    by_week = {p.start: p for p in weeks}
    for rating in ratings:
        day = day_of(rating.day)
        for period in (by_date.get(day), by_week.get(day - timedelta(days=day.weekday()))):
            if period is not None:
                period.ratings += rating.count
                period.rating_sum += rating.score * rating.count
                period.satisfied += rating.count if rating.score >= SATISFIED else 0


def _distribution(ratings: list[RatingCount]) -> dict[int, int]:
    counts = dict.fromkeys(range(1, 6), 0)
    for rating in ratings:
        counts[rating.score] = counts.get(rating.score, 0) + rating.count
    return counts


def _comments(filters: ReportFilters, where: list) -> list[dict[str, Any]]:
    statement = (
        select(Ticket.ref, Ticket.subject, Rating.score, Rating.comment, Rating.created_at)
        .join(Ticket, Ticket.id == Rating.ticket_id)
        .where(
            *where,
            _in_range(Rating.created_at, filters),
            Rating.comment.is_not(None),
            Rating.comment != "",
        )
        .order_by(Rating.created_at.desc(), Rating.id.desc())
        .limit(LATEST_COMMENTS)
    )
    return [row._asdict() for row in db.session.execute(statement)]


def _agents(
    filters: ReportFilters,
    where: list,
    events: dict[tuple[EventKind, int | None], int],
    fr_medians: dict[int, float],
    ratings: list[RatingCount],
) -> list[Row]:
    """Per agent: tickets filed in the range now assigned to them, their public replies,
    tickets they resolved, their first-response median and their tickets' ratings."""
    assigned = dict(
        db.session.execute(
            select(Ticket.assignee_id, func.count())
            .where(*where, _in_range(Ticket.created_at, filters), Ticket.assignee_id.is_not(None))
            .group_by(Ticket.assignee_id)
        ).all()
    )
    resolved = dict(
        db.session.execute(
            select(Ticket.assignee_id, func.count())
            .where(*where, _done_in_range(filters), Ticket.assignee_id.is_not(None))
            .group_by(Ticket.assignee_id)
        ).all()
    )
    replies = {actor: n for (kind, actor), n in events.items() if kind == EventKind.REPLY and actor}
    ids = set(assigned) | set(resolved) | set(replies)
    agents = (
        db.session.execute(
            select(User.id, User.name).where(User.id.in_(ids), User.role != "customer")
        ).all()
        if ids
        else []
    )
    rows = {
        agent_id: Row(
            agent_id,
            name,
            assigned=assigned.get(agent_id, 0),
            replies=replies.get(agent_id, 0),
            resolved=resolved.get(agent_id, 0),
            fr_median=fr_medians.get(agent_id),
        )
        for agent_id, name in agents
    }
    for rating in ratings:
        if (row := rows.get(rating.assignee_id)) is not None:
            row.ratings += rating.count
            row.rating_sum += rating.score * rating.count
    return sorted(rows.values(), key=lambda row: (-row.resolved, -row.assigned, row.label))


def _channels(
    filters: ReportFilters, where: list, fr_medians: dict[str, float], ratings: list[RatingCount]
) -> list[Row]:
    """Per channel: tickets filed and done in the range, first-response median, ratings."""
    created = dict(
        db.session.execute(
            select(Ticket.channel, func.count())
            .where(*where, _in_range(Ticket.created_at, filters))
            .group_by(Ticket.channel)
        ).all()
    )
    resolved = dict(
        db.session.execute(
            select(Ticket.channel, func.count())
            .where(*where, _done_in_range(filters))
            .group_by(Ticket.channel)
        ).all()
    )
    rows = {
        channel.value: Row(
            channel.value,
            CHANNEL_LABELS[channel],
            created=created.get(channel, 0),
            resolved=resolved.get(channel, 0),
            fr_median=fr_medians.get(channel.value),
        )
        for channel in Channel
    }
    for rating in ratings:
        row = rows[Channel(rating.channel).value]
        row.ratings += rating.count
        row.rating_sum += rating.score * rating.count
    return [row for row in rows.values() if row.created or row.resolved or row.ratings]


CHANNEL_LABELS = {
    Channel.PORTAL: "Web portal",
    Channel.EMAIL: "Email",
    Channel.PHONE: "Phone",
    Channel.CHAT: "Chat",
    Channel.API: "API",
}


def hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600
