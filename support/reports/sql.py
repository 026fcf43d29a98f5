"""SQL building blocks the figures share: whole seconds, the SLA clock, percentiles.

Everything here compiles to plain SQL on SQLite and PostgreSQL, so a figure is
worked out by the database over any number of tickets, never ticket by ticket in
Python.

The SLA clock in SQL: `business_seconds(ts)` counts the business seconds from the
start of the schedule's window up to `ts` (support/tickets/schedule.py keeps a table
of business intervals for it), so the business time between two moments is the
difference of their counts, exactly as sla.time_between works it out with its loop
(tests/reports/test_sql.py checks the two against each other).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import BigInteger, Float, Select, case, func, literal, select, true, union_all
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from support.models import BusinessInterval

DAY = 86400
EPOCH = date(1970, 1, 1)  # day number 0
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
    # date_part gives a double, EXTRACT a numeric (PostgreSQL 14+), slower per row by
    # half again. The double is exact enough: at 2·10⁹ s its step is 2.4·10⁻⁷ s, finer
    # than a timestamp's microsecond, so FLOOR finds the same whole second.
    return f"CAST(FLOOR(date_part('epoch', {compiler.process(element.clauses, **kw)})) AS BIGINT)"


def _sqlite_table_hint(compiler: SQLiteCompiler, table: Any, text: str | None) -> str | None:
    return text


# SQLAlchemy drops a table's hint (Select.with_hint) on SQLite, which has one: INDEXED BY,
# the index a table is read through. The walked percentiles name theirs (percentile_walked):
# without it SQLite's planner may well sort the rows it could have walked.
SQLiteCompiler.get_from_hint_text = _sqlite_table_hint


def day_of(number: int) -> date:
    """The date of a day number."""
    return EPOCH + timedelta(days=int(number))


def flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """1 where `condition` holds, else 0: a count by SUM."""
    return case((condition, 1), else_=0)


def day_number(ts: Any) -> ColumnElement[int]:
    """Days since 1970-01-01 (UTC) of a timestamp: the report's day buckets."""
    return seconds(ts) // DAY


def week_number(ts: Any) -> ColumnElement[int]:
    """The day number of the Monday starting the timestamp's week."""
    day = day_number(ts)
    return day - (day + MONDAY_SHIFT) % 7


def business_seconds(ts: Any, schedule_key: str) -> ColumnElement[int]:
    """Business seconds from the start of the schedule's window to `ts`: the interval
    opening last at or before `ts` (an index look-up), its business seconds before
    it, and the part of it up to `ts`. `schedule_key` is the fingerprint of the
    schedule whose intervals are wanted (schedule.ensure_intervals builds them)."""
    secs = seconds(ts)
    interval = BusinessInterval.__table__.alias()
    into = secs - interval.c.open_s
    length = interval.c.close_s - interval.c.open_s
    last = (
        select(interval.c.before_s + case((into < length, into), else_=length))
        .where(interval.c.open_s <= secs, interval.c.schedule_key == schedule_key)
        .order_by(interval.c.open_s.desc())
        .limit(1)
        .correlate_except(interval)  # `ts`'s table is the enclosing query's, never joined here
        .scalar_subquery()
    )
    return func.coalesce(last, 0)


# --- percentiles --------------------------------------------------------------------------
#
# Both formulations give the linear interpolation of percentile_cont: with the n values
# sorted, the p-th percentile sits at position p·(n−1) (0-based), between the values at
# floor and floor + 1. PostgreSQL has it built in; SQLite gets it from ROW_NUMBER.


def percentiles(
    values: Select,
    ps: Sequence[float],
    dialect: str,
    keyed: bool = True,
    keys: Sequence[Any] = (),
) -> Select:
    """One row per `key` of `values` (a select of `key` and non-null `value`):
    key, how many values, then each percentile in `ps` in order. `keyed` False: one
    key for all the values; `keys`: the few values the key can take, when known (an
    enum's), so that SQLite sorts each key's values alone rather than numbering every
    row in a window partitioned by key (which buffers each partition again to count it)."""
    if dialect == "postgresql":
        return percentiles_builtin(values, ps)
    if not keyed:
        return percentiles_sorted(values, ps)
    if keys:
        key = values.selected_columns.key
        return union_all(*[percentiles_sorted(values.where(key == k), ps) for k in keys])
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
    """The same with window functions (SQLite has no percentile_cont). Only the rows at
    the positions wanted (two per percentile) reach the aggregate: SQLite's cost is per
    row, and most rows sit at no wanted position."""
    rows = values.subquery("pv")
    ranked = select(
        rows.c.key,
        rows.c.value,
        (func.row_number().over(partition_by=rows.c.key, order_by=rows.c.value) - 1).label("rn"),
        func.count().over(partition_by=rows.c.key).label("n"),
    ).subquery("ranked")

    def position(p: float) -> Any:
        return ranked.c.n * literal(p, Float) - literal(p, Float)  # p·(n−1)

    wanted = [rank for p in ps for rank in (floor_int(position(p)), floor_int(position(p)) + 1)]
    picked = select(ranked).where(ranked.c.rn.in_(wanted)).subquery("picked")
    columns = []
    for i, p in enumerate(ps):
        at = picked.c.n * literal(p, Float) - literal(p, Float)
        below = floor_int(at)
        low = func.max(case((picked.c.rn == below, picked.c.value)))
        high = func.max(case((picked.c.rn == below + 1, picked.c.value)))
        share = func.max(at - below)
        columns.append((low + share * (func.coalesce(high, low) - low)).label(f"p{i}"))
    return select(picked.c.key, func.max(picked.c.n).label("n"), *columns).group_by(picked.c.key)


def percentiles_sorted(values: Select, ps: Sequence[float]) -> Select:
    """The same for values of one key, from one sort: the values numbered in order
    (ROW_NUMBER over the whole set, no partition), of which only the rows at the wanted
    positions (two per percentile) reach the aggregate. How many there are is counted
    once, in a one-row subquery joined to every row: a count in the window would have
    SQLite buffer the set again, and a scalar subquery is run again at each place it
    is written."""
    rows = values.subquery("pv")
    counted = select(func.count().label("n")).select_from(rows).subquery("counted")
    ranked = select(
        rows.c.key,
        rows.c.value,
        (func.row_number().over(order_by=rows.c.value) - 1).label("rn"),
    ).subquery("ranked")

    def position(p: float, n: Any) -> Any:
        return n * literal(p, Float) - literal(p, Float)  # p·(n−1)

    wanted = [
        rank
        for p in ps
        for rank in (floor_int(position(p, counted.c.n)), floor_int(position(p, counted.c.n)) + 1)
    ]
    picked = (
        select(ranked, counted.c.n)
        .join_from(counted, ranked, true())
        .where(ranked.c.rn.in_(wanted))
        .subquery("picked")
    )
    columns = []
    for i, p in enumerate(ps):
        at = position(p, picked.c.n)
        below = floor_int(at)
        low = func.max(case((picked.c.rn == below, picked.c.value)))
        high = func.max(case((picked.c.rn == below + 1, picked.c.value)))
        share = func.max(at - below)
        columns.append((low + share * (func.coalesce(high, low) - low)).label(f"p{i}"))
    # No values: no rows picked, and no row (an aggregate alone would give one).
    return select(
        func.max(picked.c.key).label("key"), func.max(picked.c.n).label("n"), *columns
    ).having(func.count() > 0)


def percentile_walked(kept: Select, fresh: Select, p: float, n: Any) -> Any:
    """The same for one percentile of two sets of values, as a scalar subquery: `kept`
    (a select of `value` over a table whose index is in value order) and `fresh` (a few,
    sorted here), `n` (an uncorrelated scalar subquery) how many they hold together.

    No sort and no numbering of the kept values: the two sets are merged in value order
    (SQLite walks the index) and the two values at the wanted position are read by
    LIMIT and OFFSET, so a percentile costs a walk of an index, not a sort of every value.
    The position is p·(n−1) as in the other forms; its whole part and the next are the
    values read, its fraction moves the value from the lower to the upper. Above the
    median the walk comes down from the top: the 90th percentile is a tenth of the way."""
    at = n * literal(p, Float) - literal(p, Float)
    below = floor_int(at)
    merged = union_all(kept, fresh)
    value = merged.selected_columns.value
    if p <= 0.5:
        # LIMIT 2 reads one value at the top (below = n − 1): interpolated with itself.
        two = merged.order_by(value).limit(2).offset(below)
    else:
        above = case((below + 1 < n, below + 1), else_=below)  # the top has no next
        two = merged.order_by(value.desc()).limit(above - below + 1).offset(n - 1 - above)
    rows = two.subquery("two")
    low, high = func.min(rows.c.value), func.max(rows.c.value)
    return select(low + (at - below) * (high - low)).scalar_subquery()
