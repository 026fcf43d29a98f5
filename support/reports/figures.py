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

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    DateTime,
    Select,
    String,
    and_,
    bindparam,
    case,
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
from support.models.ticket import Channel
from support.reports import sql
from support.reports.clock import (
    FACTS,
    Clock,
    Kept,
    backlog_spans,
    clock_times,
    done_at,
    event_counts,
    fingerprint,
    open_spans,
    target_counts,
)
from support.reports.filters import Grouping, ReportFilters, conditions, in_range
from support.reports.filters import since as range_since
from support.reports.filters import until as range_until

EPOCH = sql.EPOCH
SATISFIED = 4  # a score of 4 or 5 out of 5
LATEST_COMMENTS = 5
# Time-to-first-response distribution: upper bounds in hours, the last one open.
RESPONSE_BUCKETS = [(1, "Under 1 h"), (4, "1–4 h"), (8, "4–8 h"), (24, "8–24 h"), (72, "1–3 days")]
RESPONSE_LAST = "Over 3 days"
AGE_BUCKETS = [(1, "Under 1 day"), (3, "1–3 days"), (7, "3–7 days"), (30, "7–30 days")]
AGE_LAST = "Over 30 days"


def day_of(number: int) -> date:
    return EPOCH + timedelta(days=int(number))


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
    statements = _statements(filters, where, clock, kept, now)
    params = {**filters.params(), **kept.params(), "now": now}

    def run(statement: Any) -> Any:
        return db.session.execute(statement, params)

    filed, done = _read_tally(run(statements.filed)), _read_tally(run(statements.done))
    days = _days(filters, _read_moves(run(statements.moves)), filed, done)
    weeks = _weeks(days)
    totals = _sum(days, EPOCH)
    times = _read_times(run(statements.times))
    events = {(EventKind(kind), actor): int(n) for kind, actor, n in run(statements.events)}
    ratings = _read_ratings(run(statements.ratings))
    _attach_ratings(days, weeks, ratings)
    report = Report(
        filters=filters,
        days=days,
        weeks=weeks,
        created=totals.created,
        resolved=totals.resolved,
        backlog_end=days[-1].backlog if days else 0,
        backlog_ages=_read_backlog_ages(run(statements.ages)),
        fr_p50=times.fr[0],
        fr_p90=times.fr[1],
        res_p50=times.res[0],
        res_p90=times.res[1],
        fr_buckets=times.buckets,
        escalations=sum(n for (kind, _), n in events.items() if kind == EventKind.ESCALATED),
        reopens=sum(n for (kind, _), n in events.items() if kind == EventKind.REOPENED),
        ratings=_distribution(ratings),
        comments=[row._asdict() for row in run(statements.comments)],
        agents=_agents(filed, done, events, times.agents, ratings),
        channels=_channels(filed, done, times.channels, ratings),
        totals=totals,
    )
    return report


@dataclass(frozen=True)
class Statements:
    """The report's statements: each runs for any range and moment, given as named
    parameters (ReportFilters.params, Kept.params, `now`)."""

    filed: Select
    done: Select
    moves: Select
    times: Select
    events: Select
    ratings: Select
    ages: Select
    comments: Select


# Building the statements costs more of our CPU than running them does: they are kept,
# by what shapes them (the conditions with their values, whether kept facts are read,
# the clock, the database), for the next report with other dates (at most CACHED).
CACHED = 64
_built: OrderedDict[tuple, Statements] = OrderedDict()
_building = threading.Lock()


def _statements(
    filters: ReportFilters, where: list, clock: Clock, kept: Kept, now: datetime
) -> Statements:
    """The statements for `where`, `clock` and `kept`, made once (see CACHED)."""
    key = _shape(where, clock, kept)
    if key is not None:
        with _building:
            if (found := _built.get(key)) is not None:
                _built.move_to_end(key)
                return found
    made = Statements(
        filed=_filed(filters, where, kept, now),
        done=_done(filters, where, kept),
        moves=_backlog_moves(filters, where, kept),
        times=_times(clock_times(filters, where, clock, kept)),
        events=_events(filters, where, kept),
        ratings=_ratings(filters, where, kept),
        ages=_backlog_ages(filters, where, kept),
        comments=_comments(filters, where),
    )
    if key is not None:
        with _building:  # threads of one worker share the cache
            _built[key] = made
            while len(_built) > CACHED:
                _built.popitem(last=False)
    return made


def _shape(where: list, clock: Clock, kept: Kept) -> tuple | None:
    """What makes the statements differ: each condition's structure and values (SQLAlchemy's
    cache key), the clock, whether kept facts are read, the database. None: a condition
    SQLAlchemy cannot key, never cached."""
    keys = []
    for condition in where:
        found = condition._generate_cache_key()
        if found is None:
            return None
        keys.append((found.key, tuple(repr(b.effective_value) for b in found.bindparams)))
    return (tuple(keys), fingerprint(clock), kept.watermark is None, db.engine.dialect.name)


def _done_in_range(filters: ReportFilters, c: Any) -> ColumnElement[bool]:
    """done_at() in the range, written so the resolved_at and closed_at indexes serve it."""
    return or_(
        in_range(c.resolved_at, filters),
        and_(c.resolved_at.is_(None), in_range(c.closed_at, filters)),
    )


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


@dataclass(frozen=True)
class Tally:
    """Tickets filed (or done) in the range counted by day (how many, then the day's
    sums), by assignee and by channel: one read of the tickets for the three."""

    by_day: dict[int, tuple[int, ...]]
    by_agent: dict[int, int]
    by_channel: dict[str, int]


def _tally(
    kept: Kept,
    where: list,
    day: Callable[[Any], ColumnElement[int]],
    chosen: Callable[[Any], Any],
    sums: Callable[[Any], list] = lambda c: [],
) -> Select:
    """The tickets passing `where` and `chosen(c)`, counted by `day(c)` (with the sums of
    `sums(c)`, each a 0/1 flag), by assignee and by channel (read by _read_tally)."""

    def row(c: Any) -> list:
        flags = [flag.label(f"f{i}") for i, flag in enumerate(sums(c))]
        return [day(c).label("day"), c.assignee_id, c.channel, *flags]

    parts = [
        select(*row(source.c)).where(*source.where, chosen(source.c))
        for source in kept.sources(where, FACTS)
    ]
    rows = (union_all(*parts) if len(parts) > 1 else parts[0]).cte("tallied")
    flags = [column for column in rows.c if column.name.startswith("f")]
    blanks = [null()] * len(flags)
    return union_all(
        select(
            literal("d"), cast(rows.c.day, String), func.count(), *map(func.sum, flags)
        ).group_by(rows.c.day),
        select(literal("a"), cast(rows.c.assignee_id, String), func.count(), *blanks)
        .where(rows.c.assignee_id.is_not(None))
        .group_by(rows.c.assignee_id),
        select(literal("c"), cast(rows.c.channel, String), func.count(), *blanks).group_by(
            rows.c.channel
        ),
    )


def _read_tally(result: Any) -> Tally:
    by_day, by_agent, by_channel = {}, {}, {}
    for by, key, n, *found in result:
        if by == "d":
            by_day[int(key)] = (n, *found)
        elif by == "a":
            by_agent[int(key)] = n
        else:
            by_channel[key] = n
    return Tally(by_day, by_agent, by_channel)


def _filed(filters: ReportFilters, where: list, kept: Kept, now: datetime) -> Select:
    """Tickets filed in the range, and by day their SLA counts (clock.target_counts)."""
    moment = bindparam("now", now, type_=DateTime)

    def sla_flags(c: Any) -> list:
        fr_counted, fr_met = target_counts(
            c.first_responded_at, c.first_response_due, moment, c.sla_paused_at
        )
        res_counted, res_met = target_counts(done_at(c), c.resolution_due, moment, c.sla_paused_at)
        return [_flag(fr_counted), _flag(fr_met), _flag(res_counted), _flag(res_met)]

    return _tally(
        kept,
        where,
        lambda c: sql.day_number(c.created_at),
        lambda c: in_range(c.created_at, filters),
        sla_flags,
    )


def _done(filters: ReportFilters, where: list, kept: Kept) -> Select:
    """Tickets done in the range."""
    return _tally(
        kept,
        where,
        lambda c: sql.day_number(done_at(c)),
        lambda c: _done_in_range(filters, c),
    )


Moves = tuple[int, int, dict[int, tuple[int, int]]]


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


def _backlog_moves(filters: ReportFilters, where: list, kept: Kept) -> Select:
    """The backlog at the start of the range (how many, and the sum of their filing
    times in seconds), and by day how much it grew: stretches begun less stretches
    ended. One statement, reading each stretch that was in the backlog during the
    range or before it once: still open, or closed since the range began."""
    since, until = range_since(filters), range_until(filters)
    spans = backlog_spans(
        where,
        kept,
        lambda opened, closed: and_(closed.is_(None), opened < until),
        lambda opened, closed: and_(closed >= since, opened < until),
    ).cte("stretches")
    opened, closed = spans.c.opened_at, spans.c.closed_at
    began_day, ended_day = sql.day_number(opened), sql.day_number(closed)
    return union_all(
        # In the backlog when the range began: begun before, not closed before.
        select(
            literal(None).label("day"), func.count(), func.coalesce(func.sum(spans.c.s), 0)
        ).where(opened < since),
        select(began_day, func.count(), func.sum(spans.c.s))
        .where(opened >= since)
        .group_by(began_day),
        select(ended_day, -func.count(), -func.sum(spans.c.s))
        .where(closed.is_not(None), closed < until)
        .group_by(ended_day),
    )


def _read_moves(result: Any) -> Moves:
    """The backlog before the range, its age sum, and by day how much it grew."""
    backlog, age_sum, moves = 0, 0, {}
    for day, n, s in result:
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


BOTH, MEDIAN = [0.5, 0.9], [0.5]


def _times(times: Any) -> Select:
    """Median and 90th percentile of first-response and resolution clock times, the
    first-response median per agent and per channel, and the first-response
    distribution: one statement, so the clock times are worked out once (_read_times)."""
    dialect = db.engine.dialect.name

    def series(
        name: str, key: Any, value: Any, ps: list[float], *extra: Any, keys: Sequence = ()
    ) -> Select:
        """The percentiles `ps` (one or two) of `value` by `key` (None: one for all),
        each key tagged `name`: a series of its own, so each is sorted alone (not one
        sort of every series' values together)."""
        keyed = key is not None
        key = key if keyed else literal("", String)
        values = select(key.label("key"), value.label("value")).where(value.is_not(None), *extra)
        found = sql.percentiles(values, ps, dialect, keyed, keys).subquery(name)
        p1 = found.c.p1 if len(ps) > 1 else null()
        return select(_tagged(name, found.c.key), found.c.n, found.c.p0, p1)

    bucket = case(
        *[(times.c.fr < h * 3600, literal(f"b:{i}")) for i, (h, _) in enumerate(RESPONSE_BUCKETS)],
        else_=literal(f"b:{len(RESPONSE_BUCKETS)}"),
    )
    # The distribution only counts: no sort of its values.
    distribution = (
        select(bucket, func.count(), null(), null()).where(times.c.fr.is_not(None)).group_by(bucket)
    )
    return union_all(
        series("fr", None, times.c.fr, BOTH),
        series("res", None, times.c.res, BOTH),
        # Agents and channels show the median alone.
        series("a:", times.c.assignee_id, times.c.fr, MEDIAN, times.c.assignee_id.is_not(None)),
        series("c:", times.c.channel, times.c.fr, MEDIAN, keys=[c.value for c in Channel]),
        distribution,
    )


def _read_times(result: Any) -> Times:
    found = {row[0]: (row[1], row[2], row[3]) for row in result}
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


def _backlog_ages(filters: ReportFilters, where: list, kept: Kept) -> Select:
    """The backlog at the end of the range by how long it has waited since filed."""
    end = range_until(filters)
    spans = open_spans(where, kept, end).subquery("open")
    waited = sql.seconds(end) - spans.c.s
    bucket = case(
        *[(waited < days * sql.DAY, literal(i)) for i, (days, _) in enumerate(AGE_BUCKETS)],
        else_=literal(len(AGE_BUCKETS)),
    )
    return select(bucket, func.count()).group_by(bucket)


def _read_backlog_ages(result: Any) -> list[tuple[str, int]]:
    counts = dict(result.all())
    labels = [label for _, label in AGE_BUCKETS] + [AGE_LAST]
    return [(label, counts.get(i, 0)) for i, label in enumerate(labels)]


def _events(filters: ReportFilters, where: list, kept: Kept) -> Select:
    """Escalations, reopens and the team's public replies in the range, by kind and actor."""
    counted = event_counts(filters, where, kept)
    return select(counted.c.kind, counted.c.actor_id, func.sum(counted.c.n)).group_by(
        counted.c.kind, counted.c.actor_id
    )


@dataclass(frozen=True)
class Rated:
    """Ratings given in the range, counted four ways by one statement (_ratings)."""

    by_day: dict[int, tuple[int, int, int]]  # day -> how many, sum of scores, satisfied
    by_score: dict[int, int]
    by_agent: dict[int, tuple[int, int]]  # assignee -> how many, sum of scores
    by_channel: dict[str, tuple[int, int]]


def _ratings(filters: ReportFilters, where: list, kept: Kept) -> Select:
    """Ratings given in the range, counted by day, by score, by assignee and by channel
    (read by _read_ratings): the kept facts carry each ticket's rating (one at most),
    the others join theirs."""
    parts = []
    for source in kept.sources(where, FACTS):
        c = source.c
        if source.kept:
            rated_at, score, joined = c.rated_at, c.rating_score, source.table
        else:
            rated_at, score = Rating.created_at, Rating.score
            joined = source.table.join(Rating, Rating.ticket_id == c.id)
        parts.append(
            select(
                sql.day_number(rated_at).label("day"),
                score.label("score"),
                c.assignee_id,
                c.channel,
            )
            .select_from(joined)
            .where(*source.where, in_range(rated_at, filters))
        )
    rows = (union_all(*parts) if len(parts) > 1 else parts[0]).cte("rated")
    n, total = func.count(), func.sum(rows.c.score)

    def by(tag: str, key: Any, *sums: Any) -> Select:
        sums = sums + (null(),) * (2 - len(sums))
        return select(literal(tag), cast(key, String), n, *sums).group_by(key)

    return union_all(
        by("d", rows.c.day, total, func.sum(_flag(rows.c.score >= SATISFIED))),
        by("s", rows.c.score),
        by("a", rows.c.assignee_id, total).where(rows.c.assignee_id.is_not(None)),
        by("c", rows.c.channel, total),
    )


def _read_ratings(result: Any) -> Rated:
    found: dict[str, dict] = {"d": {}, "s": {}, "a": {}, "c": {}}
    for tag, key, n, total, satisfied in result:
        if tag == "d":
            found[tag][int(key)] = (n, int(total), int(satisfied))
        elif tag == "s":
            found[tag][int(key)] = n
        else:
            found[tag][int(key) if tag == "a" else key] = (n, int(total))
    return Rated(found["d"], found["s"], found["a"], found["c"])


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


def _distribution(rated: Rated) -> dict[int, int]:
    return {score: rated.by_score.get(score, 0) for score in range(1, 6)} | rated.by_score


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


def _agents(
    filed: Tally,
    done: Tally,
    events: dict[tuple[EventKind, int | None], int],
    fr_medians: dict[int, float],
    ratings: Rated,
) -> list[Row]:
    """Per agent: tickets filed in the range now assigned to them, their public replies,
    tickets they resolved, their first-response median and their tickets' ratings."""
    assigned, resolved = filed.by_agent, done.by_agent
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
    for agent_id, (n, total) in ratings.by_agent.items():
        if (row := rows.get(agent_id)) is not None:
            row.ratings, row.rating_sum = n, total
    return sorted(rows.values(), key=lambda row: (-row.resolved, -row.assigned, row.label))


def _channels(
    filed: Tally,
    done: Tally,
    fr_medians: dict[str, float],
    ratings: Rated,
) -> list[Row]:
    """Per channel: tickets filed and done in the range, first-response median, ratings."""
    created, resolved = filed.by_channel, done.by_channel
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
    for channel, (n, total) in ratings.by_channel.items():
        row = rows[Channel(channel).value]
        row.ratings, row.rating_sum = n, total
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
