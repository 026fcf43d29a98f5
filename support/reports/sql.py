"""SQL building blocks the figures share: whole seconds, the SLA clock, percentiles.

Everything here compiles to plain SQL on SQLite and PostgreSQL, so a figure is
worked out by the database over any number of tickets, never ticket by ticket in
Python.

The SLA clock in SQL: `business_seconds(ts)` counts the business seconds from a
fixed Monday (1969-12-29) up to `ts`, so the business time between two moments is
the difference of their counts, exactly as sla.time_between works it out with its
loop (tests/reports/test_sql.py checks the two against each other).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Float, Select, case, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

DAY = 86400
# 1970-01-01 was a Thursday: day numbers shifted by 3 count from Monday 1969-12-29.
MONDAY_SHIFT = 3


class seconds(FunctionElement):  # lower case: it reads like the SQL function it stands for
    """Whole seconds since 1970 of a naive UTC timestamp (an integer, for exact arithmetic)."""

    type = BigInteger()
    inherit_cache = True


class floor_int(FunctionElement):
    """The whole part of a non-negative number (PostgreSQL's CAST rounds, SQLite's cuts)."""

    type = BigInteger()
    inherit_cache = True


@compiles(floor_int, "sqlite")
def _floor_sqlite(element: floor_int, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS INTEGER)"


@compiles(floor_int)
def _floor_default(element: floor_int, compiler: Any, **kw: Any) -> str:
    return f"CAST(FLOOR({compiler.process(element.clauses, **kw)}) AS BIGINT)"


@compiles(seconds, "sqlite")
def _seconds_sqlite(element: seconds, compiler: Any, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(seconds)
def _seconds_default(element: seconds, compiler: Any, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


def day_number(ts: Any) -> ColumnElement[int]:
    """Days since 1970-01-01 (UTC) of a timestamp: the report's day buckets."""
    return seconds(ts) // DAY


def week_number(ts: Any) -> ColumnElement[int]:
    """The day number of the Monday starting the timestamp's week."""
    day = day_number(ts)
    return day - (day + MONDAY_SHIFT) % 7


def business_seconds(ts: Any, days: Sequence[int], hours: tuple[int, int]) -> ColumnElement[int]:
    """Business seconds from Monday 1969-12-29 to `ts` (days: weekdays 0=Monday;
    hours: opening and closing hour, as BUSINESS_DAYS and BUSINESS_HOURS say)."""
    open_s, close_s = hours[0] * 3600, hours[1] * 3600
    length = close_s - open_s
    secs = seconds(ts)
    day = secs // DAY
    weekday = (day + MONDAY_SHIFT) % 7
    full_weeks = (day + MONDAY_SHIFT) // 7
    # Business days of this week before `ts`'s weekday, one constant per weekday.
    earlier = case(
        *[(weekday == w, literal(sum(1 for d in days if d < w))) for w in range(1, 7)],
        else_=literal(0),
    )
    into_day = secs - day * DAY
    today = case(
        (weekday.not_in(list(days)), literal(0)),
        (into_day <= open_s, literal(0)),
        (into_day >= close_s, literal(length)),
        else_=into_day - open_s,
    )
    return (full_weeks * len(days) + earlier) * length + today


# --- percentiles --------------------------------------------------------------------------
#
# Both formulations give the linear interpolation of percentile_cont: with the n values
# sorted, the p-th percentile sits at position p·(n−1) (0-based), between the values at
# floor and floor + 1. PostgreSQL has it built in; SQLite gets it from ROW_NUMBER.


def percentiles(values: Select, ps: Sequence[float], dialect: str) -> Select:
    """One row per `key` of `values` (a select of `key` and non-null `value`):
    key, how many values, then each percentile in `ps` in order."""
    if dialect == "postgresql":
        return percentiles_builtin(values, ps)
    return percentiles_window(values, ps)


def percentiles_builtin(values: Select, ps: Sequence[float]) -> Select:
    """PostgreSQL's own percentile_cont."""
    rows = values.subquery("pv")
    return select(
        rows.c.key,
        func.count().label("n"),
        *[
            func.percentile_cont(p).within_group(rows.c.value).label(f"p{i}")
            for i, p in enumerate(ps)
        ],
    ).group_by(rows.c.key)


def percentiles_window(values: Select, ps: Sequence[float]) -> Select:
    """The same with window functions (SQLite has no percentile_cont)."""
    rows = values.subquery("pv")
    ranked = select(
        rows.c.key,
        rows.c.value,
        (func.row_number().over(partition_by=rows.c.key, order_by=rows.c.value) - 1).label("rn"),
        func.count().over(partition_by=rows.c.key).label("n"),
    ).subquery("ranked")
    columns = []
    for i, p in enumerate(ps):
        position = ranked.c.n * literal(p, Float) - literal(p, Float)  # p·(n−1)
        below = floor_int(position)
        low = func.max(case((ranked.c.rn == below, ranked.c.value)))
        high = func.max(case((ranked.c.rn == below + 1, ranked.c.value)))
        share = func.max(position - below)
        columns.append((low + share * (func.coalesce(high, low) - low)).label(f"p{i}"))
    return select(ranked.c.key, func.max(ranked.c.n).label("n"), *columns).group_by(ranked.c.key)
