"""What a report covers, read from and written back to the query string, and whose
tickets a viewer may count."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, Integer, and_, bindparam
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from support.models import Priority, Ticket, User
from support.models.ticket import Channel
from support.params import plain_int
from support.reports.sql import EPOCH

DEFAULT_DAYS = 28
MAX_DAYS = 366  # a year (a leap year's too); longer ranges are refused with a clear message


class Grouping(StrEnum):
    DAY = "day"
    WEEK = "week"


class BadRange(ValueError):
    """The dates asked for make no report; the message says what to change."""


def _date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise BadRange(
            f"“{value[:40]}” is not a date: write the {name} date as YYYY-MM-DD."
        ) from None


def _choice(value: str | None, enum: type[StrEnum]) -> Any:
    return enum(value) if value in enum._value2member_map_ else None


@dataclass(frozen=True)
class ReportFilters:
    start: date
    end: date  # inclusive: the report counts whole days, start to end
    group: Grouping = Grouping.DAY
    team: int | None = None
    category: str | None = None
    channel: Channel | None = None
    priority: Priority | None = None
    agent: int | None = None

    @classmethod
    def default(cls, today: date) -> ReportFilters:
        return cls(start=today - timedelta(days=DEFAULT_DAYS - 1), end=today)

    @classmethod
    def from_args(cls, args: Mapping[str, str], today: date) -> ReportFilters:
        """The report an address asks for; BadRange for dates that make none."""
        fallback = cls.default(today)
        start = _date(args.get("from"), "first") or fallback.start
        end = _date(args.get("to"), "last") or (
            fallback.end
            if not args.get("from")
            else min(start + timedelta(DEFAULT_DAYS - 1), today)
        )
        if end < start:
            raise BadRange("The first date is after the last one: swap them.")
        if (end - start).days + 1 > MAX_DAYS:
            raise BadRange(f"Choose at most {MAX_DAYS} days at a time (a year).")
        return cls(
            start=start,
            end=end,
            group=_choice(args.get("group"), Grouping) or Grouping.DAY,
            team=plain_int(args.get("team")),
            category=(args.get("category") or "").strip()[:60] or None,
            channel=_choice(args.get("channel"), Channel),
            priority=_choice(args.get("priority"), Priority),
            agent=plain_int(args.get("agent")),
        )

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time())

    @property
    def until(self) -> datetime:
        """The moment after the last day (ranges are half-open: since <= t < until)."""
        return datetime.combine(self.end + timedelta(days=1), time())

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def first_day(self) -> int:
        """The range's first day as days since 1970 (the kept event counts' `day`)."""
        return (self.start - EPOCH).days

    def params(self) -> dict[str, Any]:
        """The values of the named parameters the report's statements carry (below), so
        a statement built for one range runs for another (figures caches them)."""
        return {
            "since": self.since,
            "until": self.until,
            "first_day": self.first_day,
            "end_day": self.first_day + self.days,
        }

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query parameters for a link to this report (empty filters left out)."""
        chosen = replace(self, **changes) if changes else self
        params = {
            "from": chosen.start.isoformat(),
            "to": chosen.end.isoformat(),
            "group": chosen.group.value if chosen.group != Grouping.DAY else None,
            "team": chosen.team,
            "category": chosen.category,
            "channel": chosen.channel.value if chosen.channel else None,
            "priority": chosen.priority.value if chosen.priority else None,
            "agent": chosen.agent,
        }
        return {name: value for name, value in params.items() if value is not None}


# The range's bounds as named parameters: a statement carries them with its first
# values, and runs again for other values given at execution (ReportFilters.params).
def since(filters: ReportFilters) -> BindParameter[datetime]:
    return bindparam("since", filters.since, type_=DateTime)


def until(filters: ReportFilters) -> BindParameter[datetime]:
    return bindparam("until", filters.until, type_=DateTime)


def day_bounds(filters: ReportFilters) -> tuple[BindParameter[int], BindParameter[int]]:
    """The first day of the range and the day after it, as day numbers."""
    first = filters.first_day
    return (
        bindparam("first_day", first, type_=Integer),
        bindparam("end_day", first + filters.days, type_=Integer),
    )


def in_range(column: Any, filters: ReportFilters) -> ColumnElement[bool]:
    """`column` within the report's days (half-open: since <= t < until)."""
    return and_(column >= since(filters), column < until(filters))


def conditions(
    filters: ReportFilters, viewer: User, shared: Sequence[ColumnElement[bool]] = ()
) -> list[ColumnElement[bool]]:
    """WHERE conditions on tickets: who the viewer may count, then the chosen filters.

    `shared` are the team, category and priority conditions as the board builds them
    (support/board/queries.py): the screen that reads the filters passes them in, so
    the two pages can never disagree about what "this team" means.
    """
    where = [*scope(viewer), *shared]
    if filters.channel:
        where.append(Ticket.channel == filters.channel)
    if filters.agent is not None:
        where.append(Ticket.assignee_id == filters.agent)
    return where


def scope(viewer: User) -> list[ColumnElement[bool]]:
    """Admins count every ticket; an agent their team's (or, in no team, their own)."""
    if viewer.is_admin:
        return []
    if viewer.team_id is not None:
        return [Ticket.team_id == viewer.team_id]
    return [Ticket.assignee_id == viewer.id]
