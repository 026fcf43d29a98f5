"""The desk's business hours: a time zone, each weekday's opening and closing time (to
the minute; a day may be closed) and holidays. Admins edit it (/admin/sla); until one
saves it, DEFAULT holds: Monday–Friday 09:00–17:00 UTC.

Two clocks count business time on it and must agree to the second:
- the Python one (sla.add_time, sla.time_between) walks the days with `hours_on`;
- the reports' SQL one looks up `business_intervals`, rows built from the same
  `hours_on` for every day of WINDOW (`build_intervals`), rebuilt when the schedule
  changes. tests/reports/test_sql.py checks the two against each other.
Times outside the schedule are naive UTC, as everywhere in the app.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from support.extensions import db
from support.models import BusinessHoliday, BusinessInterval, BusinessSchedule

DAY_MINUTES = 24 * 60
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# The years the SQL clock covers (local dates); a moment after it counts as its end.
WINDOW = (date(2000, 1, 1), date(2100, 1, 1))
# How far the Python clock looks for the next opening before giving up (a schedule
# always has an open weekday, so only a decade of holidays could exhaust it).
MAX_DAYS_AHEAD = 3660
EPOCH = datetime(1970, 1, 1)

Hours = tuple[int, int]  # opening and closing, minutes after local midnight (closing ≤ 1440)


@dataclass(frozen=True)
class Schedule:
    """Business hours as values: hashable, so a cached clock knows when it is stale."""

    zone: str = "UTC"
    week: tuple[Hours | None, ...] = ((540, 1020),) * 5 + (None, None)
    holidays: tuple[date, ...] = ()  # sorted
    _closed: frozenset[date] = field(default=frozenset(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.week) != 7 or not any(self.week):
            raise ValueError("a schedule has seven days, at least one of them open")
        object.__setattr__(self, "_closed", frozenset(self.holidays))

    @property
    def fingerprint(self) -> str:
        """Names this schedule in the derived intervals (stable across processes)."""
        text = repr((self.zone, self.week, [d.isoformat() for d in self.holidays]))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def hours_on(self, day: date) -> tuple[datetime, datetime] | None:
        """Opening and closing (naive UTC) of a local date; None when closed."""
        return _hours_on(self, day)

    def open_from(self, at: datetime) -> tuple[datetime, datetime]:
        """The first business moment at or after `at`, and the closing that ends it."""
        # No earlier local day's hours reach past its midnight, so start from `at`'s own day.
        day = at.replace(tzinfo=UTC).astimezone(ZoneInfo(self.zone)).date()
        for _ in range(MAX_DAYS_AHEAD):
            hours = self.hours_on(day)
            if hours is not None and at < hours[1]:
                return max(at, hours[0]), hours[1]
            day += timedelta(days=1)
        raise ValueError(f"no business hours within {MAX_DAYS_AHEAD} days of {at}")


DEFAULT = Schedule()


def _utc(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """Local `day` + `minutes` as naive UTC. A time skipped by a DST change counts
    with the offset before the change (zoneinfo's fold=0), on both clocks alike."""
    days, minutes = divmod(minutes, DAY_MINUTES)
    local = datetime.combine(day + timedelta(days=days), time(minutes // 60, minutes % 60))
    return local.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


@lru_cache(maxsize=8192)
def _hours_on(schedule: Schedule, day: date) -> tuple[datetime, datetime] | None:
    hours = schedule.week[day.weekday()]
    if hours is None or day in schedule._closed:
        return None
    zone = ZoneInfo(schedule.zone)
    opens, closes = _utc(day, hours[0], zone), _utc(day, hours[1], zone)
    return (opens, closes) if opens < closes else None


# --- reading it: once per transaction -------------------------------------------------

T = TypeVar("T")


def once_per_transaction(key: str, load: Callable[[Session], T]) -> T:
    """`load(session)`, kept in session.info for the rest of the transaction: settings
    saved by another process are seen by the next transaction, as rows are."""
    session = db.session()  # the request's or job's own Session, behind the scoped proxy
    transaction = session.get_transaction()
    cached = session.info.get(key)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cached[1]
    value = load(session)
    session.info[key] = (session.get_transaction(), value)
    return value


_SCHEDULE = "business_schedule"  # session.info key


def _load(session: Session) -> Schedule:
    row = session.scalar(select(BusinessSchedule).limit(1))
    if row is None:
        return DEFAULT
    week = tuple(tuple(day) if day else None for day in row.week)
    holidays = tuple(session.scalars(select(BusinessHoliday.day).order_by(BusinessHoliday.day)))
    return Schedule(row.time_zone, week, holidays)  # type: ignore[arg-type]


def current() -> Schedule:
    """The schedule in force, read once per transaction (no query per ticket)."""
    return once_per_transaction(_SCHEDULE, _load)


def holidays_named() -> list[tuple[date, str]]:
    """The saved holidays with their names, in date order (for the admin form)."""
    rows = db.session.execute(
        select(BusinessHoliday.day, BusinessHoliday.name).order_by(BusinessHoliday.day)
    )
    return [(day, name) for day, name in rows]


def save(schedule: Schedule, names: dict[date, str]) -> None:
    """Store the schedule (replacing the holidays) and rebuild the reports' intervals,
    all in the caller's transaction."""
    row = db.session.scalar(select(BusinessSchedule).limit(1))
    if row is None:
        row = BusinessSchedule()
        db.session.add(row)
    row.time_zone = schedule.zone
    row.week = [list(day) if day else None for day in schedule.week]
    db.session.execute(delete(BusinessHoliday))
    db.session.add_all(BusinessHoliday(day=d, name=names.get(d, "")) for d in schedule.holidays)
    build_intervals(schedule)
    db.session.info.pop(_SCHEDULE, None)


# --- the derived intervals (the SQL clock's table) ------------------------------------


def _seconds(at: datetime) -> int:
    return int((at - EPOCH).total_seconds())


def intervals(schedule: Schedule) -> Iterator[dict[str, Any]]:
    """Every opening of WINDOW with the business seconds before it."""
    before, day, key = 0, WINDOW[0], schedule.fingerprint
    while day < WINDOW[1]:
        hours = _hours_on(schedule, day)
        if hours is not None:
            opens, closes = _seconds(hours[0]), _seconds(hours[1])
            yield {"open_s": opens, "close_s": closes, "before_s": before, "schedule_key": key}
            before += closes - opens
        day += timedelta(days=1)


def build_intervals(schedule: Schedule) -> None:
    """Replace the intervals with `schedule`'s (in the caller's transaction)."""
    table = BusinessInterval.__table__
    db.session.execute(delete(table))
    # Core executemany (batched INSERT … VALUES): the ORM's bulk path costs twice the CPU.
    db.session.execute(insert(table), list(intervals(schedule)))
    _hours_on.cache_clear()  # a century of days would only push out the live ones


def ensure_intervals(schedule: Schedule) -> None:
    """Build the intervals when they are missing or from another schedule (a fresh
    database: none is built until a report needs them). Commits: they are shared
    derived data. Another process building them at the same moment wins."""
    built = db.session.scalar(select(BusinessInterval.schedule_key).limit(1))
    if built == schedule.fingerprint:
        return
    try:
        build_intervals(schedule)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
