"""The report's tables, each defined once: the page shows them beside the charts, the
CSV export writes them (and streams the per-ticket list straight from the database)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, case, literal, select
from sqlalchemy.orm import aliased

from support.extensions import db
from support.models import Category, Rating, Team, Ticket, User
from support.reports import charts, figures
from support.reports.clock import Clock, Kept, done_at, target_counts, timed
from support.reports.filters import Grouping, ReportFilters, conditions

STREAM_BATCH = 1000


class Kind(StrEnum):
    """How a column's values read: the page formats them, the CSV keeps them plain."""

    TEXT = "text"
    COUNT = "count"
    HOURS = "hours"  # stored as seconds
    SHARE = "share"  # 0–1, shown as a percentage
    SCORE = "score"  # average out of 5


@dataclass(frozen=True)
class Table:
    slug: str
    title: str
    columns: list[tuple[str, Kind]]
    rows: list[list[Any]]


def _period_label(period: figures.Period, grouping: Grouping) -> str:
    if grouping == Grouping.WEEK:
        return f"Week of {period.start:%-d %b}"
    return f"{period.start:%a %-d %b}"


def tables(report: figures.Report) -> dict[str, Table]:
    """Every table of `report`, by slug (the CSV export's names)."""
    grouping = report.filters.group
    periods = report.periods
    label = lambda p: _period_label(p, grouping)  # noqa: E731
    weekly = lambda p: _period_label(p, Grouping.WEEK)  # noqa: E731
    found = [
        Table(
            "volume",
            "Volume and backlog",
            [
                ("Period", Kind.TEXT),
                ("Created", Kind.COUNT),
                ("Resolved", Kind.COUNT),
                ("Backlog at end", Kind.COUNT),
                ("Average backlog age", Kind.HOURS),
            ],
            [
                [
                    label(p),
                    p.created,
                    p.resolved,
                    p.backlog,
                    None if p.backlog_age_hours is None else p.backlog_age_hours * 3600,
                ]
                for p in periods
            ],
        ),
        Table(
            "first-response",
            "Time to first response",
            [("Time on the clock", Kind.TEXT), ("Tickets", Kind.COUNT)],
            [list(bucket) for bucket in report.fr_buckets],
        ),
        Table(
            "sla",
            "SLA attainment by week",
            [
                ("Week", Kind.TEXT),
                ("First response met", Kind.SHARE),
                ("Counted", Kind.COUNT),
                ("Resolution met", Kind.SHARE),
                ("Counted", Kind.COUNT),
            ],
            [
                [weekly(p), p.fr_attainment, p.fr_counted, p.res_attainment, p.res_counted]
                for p in report.weeks
            ],
        ),
        Table(
            "satisfaction",
            "Satisfaction by week",
            [
                ("Week", Kind.TEXT),
                ("Ratings", Kind.COUNT),
                ("Average", Kind.SCORE),
                ("Satisfied", Kind.SHARE),
            ],
            [[weekly(p), p.ratings, p.satisfaction, p.satisfied_share] for p in report.weeks],
        ),
        Table(
            "ratings",
            "Ratings",
            [("Score", Kind.TEXT), ("Ratings", Kind.COUNT)],
            [[f"{score} of 5", n] for score, n in sorted(report.ratings.items(), reverse=True)],
        ),
        Table(
            "backlog-age",
            "Backlog by age at the end",
            [("Waiting", Kind.TEXT), ("Tickets", Kind.COUNT)],
            [list(bucket) for bucket in report.backlog_ages],
        ),
        Table(
            "agents",
            "Agents",
            [
                ("Agent", Kind.TEXT),
                ("Assigned", Kind.COUNT),
                ("Replies", Kind.COUNT),
                ("Resolved", Kind.COUNT),
                ("First response (median)", Kind.HOURS),
                ("Ratings", Kind.COUNT),
                ("Satisfaction", Kind.SCORE),
            ],
            [
                [r.label, r.assigned, r.replies, r.resolved, r.fr_median, r.ratings, r.satisfaction]
                for r in report.agents
            ],
        ),
        Table(
            "channels",
            "Channels",
            [
                ("Channel", Kind.TEXT),
                ("Created", Kind.COUNT),
                ("Resolved", Kind.COUNT),
                ("First response (median)", Kind.HOURS),
                ("Satisfaction", Kind.SCORE),
            ],
            [
                [r.label, r.created, r.resolved, r.fr_median, r.satisfaction]
                for r in report.channels
            ],
        ),
    ]
    return {table.slug: table for table in found}


def chart_set(report: figures.Report) -> dict[str, charts.Chart]:
    """The four charts, each drawn from the table beside it."""
    grouping = report.filters.group
    periods, weeks = report.periods, report.weeks
    labels = [
        f"{p.start:%-d %b}" if grouping == Grouping.DAY else f"w/c {p.start:%-d %b}"
        for p in periods
    ]
    week_labels = [f"{p.start:%-d %b}" for p in weeks]
    percent = lambda v: f"{v:.0%}"  # noqa: E731
    return {
        "volume": charts.bar_chart(
            "Tickets created and resolved",
            labels,
            [
                charts.Series("Created", "chart-a", [p.created for p in periods]),
                charts.Series("Resolved", "chart-b", [p.resolved for p in periods]),
            ],
        ),
        # On its own axis: a backlog of hundreds would flatten a few tickets a day.
        "backlog": charts.bar_chart(
            "Tickets still open at the end of each period",
            labels,
            [],
            line=charts.Series("Backlog at the end", "chart-line", [p.backlog for p in periods]),
            height=140,
        ),
        "first-response": charts.bar_chart(
            "Tickets by time to first response",
            [name for name, _ in report.fr_buckets],
            [charts.Series("Tickets", "chart-a", [n for _, n in report.fr_buckets])],
        ),
        "sla": charts.bar_chart(
            "Share of SLA targets met, by week filed",
            week_labels,
            [
                charts.Series("First response", "chart-a", [p.fr_attainment for p in weeks]),
                charts.Series("Resolution", "chart-b", [p.res_attainment for p in weeks]),
            ],
            top=1,
            fmt=percent,
        ),
        "satisfaction": charts.bar_chart(
            "Average rating by week (out of 5)",
            week_labels,
            [charts.Series("Average", "chart-a", [p.satisfaction for p in weeks])],
            line=charts.Series(
                "Satisfied",
                "chart-line",
                [None if p.satisfied_share is None else p.satisfied_share * 5 for p in weeks],
            ),
            top=5,
        ),
    }


# --- CSV ----------------------------------------------------------------------------------


def csv_value(value: Any, kind: Kind) -> Any:
    """Plain numbers a spreadsheet reads: hours with two decimals, shares in percent."""
    if value is None:
        return ""
    if kind == Kind.HOURS:
        return f"{value / 3600:.2f}"
    if kind == Kind.SHARE:
        return f"{value * 100:.1f}"
    if kind == Kind.SCORE:
        return f"{value:.2f}"
    return value


def csv_header(title: str, kind: Kind) -> str:
    suffix = {Kind.HOURS: " (hours)", Kind.SHARE: " (%)"}.get(kind, "")
    return title + suffix


def _lines(rows: Iterator[list[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def table_csv(table: Table) -> Iterator[str]:
    def rows() -> Iterator[list[Any]]:
        yield [csv_header(title, kind) for title, kind in table.columns]
        for row in table.rows:
            yield [csv_value(v, kind) for v, (_, kind) in zip(row, table.columns, strict=True)]

    return _lines(rows())


TICKET_COLUMNS = [
    ("Reference", Kind.TEXT),
    ("Filed", Kind.TEXT),
    ("Channel", Kind.TEXT),
    ("Priority", Kind.TEXT),
    ("Status", Kind.TEXT),
    ("Team", Kind.TEXT),
    ("Category", Kind.TEXT),
    ("Assignee", Kind.TEXT),
    ("First response", Kind.HOURS),
    ("Resolution", Kind.HOURS),
    ("First response met", Kind.TEXT),
    ("Resolution met", Kind.TEXT),
    ("Rating", Kind.TEXT),
]


def tickets_csv(
    filters: ReportFilters, viewer: User, now: datetime, shared: Sequence[Any] = ()
) -> Iterator[str]:
    """One line per ticket filed in the range, with its clock times and SLA outcome,
    read from the database in batches: memory stays flat however long the range."""
    where = conditions(filters, viewer, shared)
    clock = Clock.current()
    times = timed(filters, where, clock, Kept.read(clock)).all
    assignee = aliased(User)
    fr_counted, fr_met = target_counts(Ticket.first_responded_at, Ticket.first_response_due, now)
    res_counted, res_met = target_counts(done_at(), Ticket.resolution_due, now)

    def outcome(counted: Any, met: Any) -> Any:
        return case((met, literal("yes")), (counted, literal("no")), else_=literal(""))

    statement = (
        select(
            Ticket.ref,
            Ticket.created_at,
            Ticket.channel,
            Ticket.priority,
            Ticket.status,
            Team.name,
            Category.name,
            assignee.name,
            times.c.fr,
            times.c.res,
            outcome(fr_counted, fr_met),
            outcome(res_counted, res_met),
            Rating.score,
        )
        .join(times, times.c.id == Ticket.id)
        .outerjoin(Team, Team.id == Ticket.team_id)
        .outerjoin(Category, Category.id == Ticket.category_id)
        .outerjoin(assignee, assignee.id == Ticket.assignee_id)
        .outerjoin(Rating, and_(Rating.ticket_id == Ticket.id))
        .order_by(Ticket.created_at, Ticket.id)
        .execution_options(yield_per=STREAM_BATCH)
    )

    def rows() -> Iterator[list[Any]]:
        yield [csv_header(title, kind) for title, kind in TICKET_COLUMNS]
        for row in db.session.execute(statement):
            values = [
                row[0],
                f"{row[1]:%Y-%m-%d %H:%M}",
                str(row[2]),
                str(row[3]),
                str(row[4]),
                *row[5:],
            ]
            yield [csv_value(v, kind) for v, (_, kind) in zip(values, TICKET_COLUMNS, strict=True)]

    return _lines(rows())


def filename(slug: str, filters: ReportFilters) -> str:
    return f"support-{slug}-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.csv"


def formatted(value: Any, kind: Kind) -> str:
    """A value as the page shows it."""
    if value is None:
        return "—"
    if kind == Kind.HOURS:
        return duration(value)
    if kind == Kind.SHARE:
        return f"{value:.0%}"
    if kind == Kind.SCORE:
        return f"{value:.1f}"
    if isinstance(value, date):
        return f"{value:%-d %b %Y}"
    return str(value)


def duration(seconds: float | None) -> str:
    """Clock time as people say it: 45 min, 3.5 h, 2.1 days."""
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


ALL_SLUGS: list[str] = [
    "volume",
    "first-response",
    "sla",
    "satisfaction",
    "ratings",
    "backlog-age",
    "agents",
    "channels",
    "tickets",
]
