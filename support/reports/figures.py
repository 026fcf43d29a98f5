"""Every figure of the reports, each defined once, as SQL.

Definitions (a ticket is counted when it passes the viewer's scope and the filters):

- created: tickets whose created_at is in the range. done (resolved): tickets whose
  resolved_at (or, closed without resolving, closed_at) is in the range.
- backlog at the end of a day: the tickets that were in it then, as their status
  events tell (filed, or reopened, and not resolved or closed since): a ticket
  resolved on Tuesday and reopened on Thursday is out of Wednesday's backlog. Its
  age: the average time since those tickets were filed.
- first-response time: clock time (support/reports/clock.py) to the first public
  answer; resolution time: clock time to done. Median and 90th percentile
  (percentile_cont's interpolation).
- SLA attainment, by the week a ticket was filed: of the tickets with a target
  that has been answered or has passed (not while paused), the share answered by
  the due time (clock.target_counts).
- escalations, reopens and replies: timeline events in the range.
- reopen rate: reopens in the range per ticket done in the range.
- satisfaction: ratings given in the range; satisfied means 4 or 5 out of 5.

The per-ticket facts these are built on (clock times, stretches in the backlog) and
which of them the sweep keeps are in support/reports/clock.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    Select,
    String,
    and_,
    bindparam,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from support.extensions import db
from support.models import EventKind, Rating, Ticket, User
from support.reports import breakdown, cache, ratings, sql, times
from support.reports.backlog import (
    Moves,
    backlog_ages,
    backlog_moves,
    read_backlog_ages,
    read_moves,
)
from support.reports.breakdown import Row
from support.reports.clock import (
    FACTS,
    Clock,
    Kept,
    Timed,
    done_at,
    event_counts,
    kept_day,
    target_counts,
    timed,
)
from support.reports.filters import Grouping, ReportFilters, conditions, in_range
from support.reports.ratings import SATISFIED, Rated
from support.reports.sql import day_of

EPOCH = sql.EPOCH
LATEST_COMMENTS = 5


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
    statements = _statements(filters, where, clock, kept, now)
    params = {**filters.params(), **kept.params(), "now": now}

    def run(statement: Any) -> Any:
        return db.session.execute(statement, params)

    filed_rows = run(statements.filed).all()
    filed, done = _read_tally(filed_rows), _read_tally(run(statements.done))
    if statements.agents is not None:
        filed_rows += _agent_medians(statements, filed.timed_by_agent, params)
    days = _days(filters, read_moves(run(statements.moves)), filed, done)
    weeks = _weeks(days)
    totals = _sum(days, EPOCH)
    clocked = times.read(row for row in filed_rows if row[0] not in TALLIED)
    events = {(EventKind(kind), actor): int(n) for kind, actor, n in run(statements.events)}
    rated = ratings.read(run(statements.ratings))
    _attach_ratings(days, weeks, rated)
    report = Report(
        filters=filters,
        days=days,
        weeks=weeks,
        created=totals.created,
        resolved=totals.resolved,
        backlog_end=days[-1].backlog if days else 0,
        backlog_ages=read_backlog_ages(run(statements.ages)),
        fr_p50=clocked.fr[0],
        fr_p90=clocked.fr[1],
        res_p50=clocked.res[0],
        res_p90=clocked.res[1],
        fr_buckets=clocked.buckets,
        escalations=sum(n for (kind, _), n in events.items() if kind == EventKind.ESCALATED),
        reopens=sum(n for (kind, _), n in events.items() if kind == EventKind.REOPENED),
        ratings=ratings.distribution(rated),
        comments=[row._asdict() for row in run(statements.comments)],
        agents=breakdown.agents(filed, done, events, clocked.agents, rated),
        channels=breakdown.channels(filed, done, clocked.channels, rated),
        totals=totals,
    )
    return report


@dataclass(frozen=True)
class Statements:
    """The report's statements: each runs for any range and moment, given as named
    parameters (ReportFilters.params, Kept.params, `now`)."""

    filed: Select  # with the clock times' figures
    agents: Timed | None  # the per-agent medians' clock times, when walked (times.walks)
    done: Select
    moves: Select
    events: Select
    ratings: Select
    ages: Select
    comments: Select
    # The per-agent medians' statements by how many agents they have a place for.
    by_slots: dict[int, Select] = field(default_factory=dict)


# The statements, kept by shape (cache.Shelf); tests look at `_built`.
CACHED = 64
_shelf: cache.Shelf[Statements] = cache.Shelf(CACHED)
_built = _shelf.built


def _statements(
    filters: ReportFilters, where: list, clock: Clock, kept: Kept, now: datetime
) -> Statements:
    """The statements for `where`, `clock` and `kept`, made once (see cache.Shelf)."""
    return _shelf.get(
        cache.shape(where, clock, kept),
        lambda: _made(filters, where, clock, kept, now),
    )


def _made(
    filters: ReportFilters, where: list, clock: Clock, kept: Kept, now: datetime
) -> Statements:
    filed, clocked = _filed(filters, where, clock, kept, now)
    return Statements(
        filed=filed,
        agents=clocked if times.walks(clocked) else None,
        done=_done(filters, where, kept),
        moves=backlog_moves(filters, where, kept),
        events=_events(filters, where, kept),
        ratings=ratings.statement(filters, where, kept),
        ages=backlog_ages(filters, where, kept),
        comments=_comments(filters, where),
    )


def _done_in_range(filters: ReportFilters, c: Any) -> ColumnElement[bool]:
    """done_at() in the range, written so the resolved_at and closed_at indexes serve it."""
    return or_(
        in_range(c.resolved_at, filters),
        and_(c.resolved_at.is_(None), in_range(c.closed_at, filters)),
    )


@dataclass(frozen=True)
class Tally:
    """Tickets filed (or done) in the range counted by day (how many, then the day's
    sums), by assignee and by channel: one read of the tickets for the three."""

    by_day: dict[int, tuple[int, ...]]
    by_agent: dict[int, int]
    by_channel: dict[str, int]
    timed_by_agent: dict[int, int] = field(default_factory=dict)  # with a first response


# The tally's tags: the rows of a statement that counts tickets (_tallied).
TALLIED = ("d", "a", "c")


def _tallied(rows: Any, flags: Sequence[Any] = (), timed: Any = None) -> list[Select]:
    """Parts of a statement counting `rows` (a CTE of tickets with their `day`,
    assignee_id and channel) by day (how many, then the sum of each 0/1 flag of
    `flags`), by assignee (and, given `timed`, how many have it: the count the
    per-agent medians walk by) and by channel. Each row: a tag (TALLIED), how many, two
    nulls (where times.parts has its values), the key, the sums (read by _read_tally)."""
    blanks = [cast(null(), BigInteger)] * len(flags)
    value = cast(null(), Float)

    def by(tag: str, key: Any, *sums: Any) -> Select:
        counted = [literal(tag), func.count(), value, value, cast(key, String)]
        return select(*counted, *sums, *blanks[len(sums) :]).group_by(key)

    per_agent = [] if timed is None else [func.count(timed)]
    return [
        by("d", rows.c.day, *map(func.sum, flags)),
        by("a", rows.c.assignee_id, *per_agent).where(rows.c.assignee_id.is_not(None)),
        by("c", rows.c.channel),
    ]


def _read_tally(rows: Any) -> Tally:
    """The tally from a statement's rows (those of other tags left to others)."""
    by_day, by_agent, by_channel, timed = {}, {}, {}, {}
    for by, n, _, _, key, *found in rows:
        if by == "d":
            by_day[int(key)] = (n, *(int(x) for x in found))
        elif by == "a":
            by_agent[int(key)] = n
            if found and found[0]:
                timed[int(key)] = found[0]
        elif by == "c":
            by_channel[key] = n
    return Tally(by_day, by_agent, by_channel, timed)


def _filed(
    filters: ReportFilters, where: list, clock: Clock, kept: Kept, now: datetime
) -> tuple[Select, Timed]:
    """Tickets filed in the range, read once for both: their clock times' figures
    (times.parts) and their tally, by day with their SLA counts (clock.target_counts),
    by assignee and by channel; and their clock times (Timed)."""
    moment = bindparam("now", now, type_=DateTime)

    def counted(c: Any) -> list:
        fr_counted, fr_met = target_counts(
            c.first_responded_at, c.first_response_due, moment, c.sla_paused_at
        )
        res_counted, res_met = target_counts(done_at(c), c.resolution_due, moment, c.sla_paused_at)
        flags = [fr_counted, fr_met, res_counted, res_met]
        return [
            kept_day(c, "created_day", c.created_at).label("day"),
            *(sql.flag(flag).label(f"sla{i}") for i, flag in enumerate(flags)),
        ]

    clocked = timed(filters, where, clock, kept, counted)
    rows = clocked.all
    flags = [rows.c[f"sla{i}"] for i in range(4)]
    pad = [String, *[BigInteger] * len(flags)]  # the tally's key and sums
    return union_all(*times.parts(clocked, pad), *_tallied(rows, flags, rows.c.fr)), clocked


# The per-agent medians' statement has a place for so many more agents at a time, so
# that a few statements serve any number of agents.
AGENT_SLOTS = 8


def _agent_medians(statements: Statements, timed: dict[int, int], params: dict) -> list:
    """Rows of the first-response median of each agent in `timed` (how many first
    responses each has), as times.parts has them."""
    if not timed:
        return []
    slots = -(-len(timed) // AGENT_SLOTS) * AGENT_SLOTS
    statement = statements.by_slots.get(slots)
    if statement is None:  # two threads may both make it: the same statement
        statement = statements.by_slots[slots] = times.agent_medians(statements.agents, slots)
    bound = {}
    for i, (agent, n) in enumerate(sorted(timed.items())):
        bound[f"agent_{i}"], bound[f"n_{i}"] = agent, n
    return db.session.execute(statement, {**params, **bound}).all()


def _done(filters: ReportFilters, where: list, kept: Kept) -> Select:
    """Tickets done in the range."""
    parts = [
        select(kept_day(c, "done_day", done_at(c)).label("day"), c.assignee_id, c.channel).where(
            *source.where, _done_in_range(filters, c)
        )
        for source in kept.sources(where, FACTS)
        for c in [source.c]
    ]
    # A CTE: read by the three counts, worked out once.
    return union_all(*_tallied((union_all(*parts) if len(parts) > 1 else parts[0]).cte("done")))


def _days(filters: ReportFilters, moves: Moves, filed: Tally, done: Tally) -> list[Period]:
    """Created, done, SLA counts and the backlog for each day of the range.

    The backlog at the end of a day is the backlog before the range plus the stretches
    in it that began since, less those that ended; its average age comes the same way
    from the sum of the filing times of the tickets in it.
    """
    backlog, age_sum, moves = moves
    periods = []
    first = (filters.start - EPOCH).days
    for number in range(first, first + filters.days):
        period = Period(day_of(number))
        if (row := filed.by_day.get(number)) is not None:
            period.created, period.fr_counted, period.fr_met, period.res_counted = row[:4]
            period.res_met = row[4]
        if (row := done.by_day.get(number)) is not None:
            period.resolved = row[0]
        n, s = moves.get(number, (0, 0))
        backlog, age_sum = backlog + n, age_sum + s
        period.backlog = backlog
        end_s = (number + 1) * sql.DAY
        period.backlog_age_hours = (end_s - age_sum / backlog) / 3600 if backlog else None
        periods.append(period)
    return periods


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


def _events(filters: ReportFilters, where: list, kept: Kept) -> Select:
    """Escalations, reopens and the team's public replies in the range, by kind and actor."""
    counted = event_counts(filters, where, kept)
    return select(counted.c.kind, counted.c.actor_id, func.sum(counted.c.n)).group_by(
        counted.c.kind, counted.c.actor_id
    )


def _attach_ratings(days: list[Period], weeks: list[Period], rated: Rated) -> None:
    by_date = {p.start: p for p in days}
    by_week = {p.start: p for p in weeks}
    for number, (n, total, satisfied) in rated.by_day.items():
        day = day_of(number)
        for period in (by_date.get(day), by_week.get(day - timedelta(days=day.weekday()))):
            if period is not None:
                period.ratings += n
                period.rating_sum += total
                period.satisfied += satisfied


def _comments(filters: ReportFilters, where: list) -> Select:
    return (
        select(Ticket.ref, Ticket.subject, Rating.score, Rating.comment, Rating.created_at)
        .join(Ticket, Ticket.id == Rating.ticket_id)
        .where(
            *where,
            in_range(Rating.created_at, filters),
            Rating.comment.is_not(None),
            Rating.comment != "",
        )
        .order_by(Rating.created_at.desc(), Rating.id.desc())
        .limit(LATEST_COMMENTS)
    )


def hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600
