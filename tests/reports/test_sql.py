"""The SQL building blocks against their Python definitions."""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta

import pytest
from sqlalchemy import literal, select, union_all

from support.extensions import db
from support.reports import sql
from support.tickets import sla

DAYS, HOURS = (0, 1, 2, 3, 4), (9, 17)


def moments() -> list[datetime]:
    """Edges (opening, closing, midnight, weekends) and random moments over a month."""
    start = datetime(2031, 3, 1)  # a Saturday
    edges = [start + timedelta(days=d, hours=h) for d in range(10) for h in (0, 9, 12, 17, 23)]
    rng = random.Random(15)
    noise = [start + timedelta(seconds=rng.randrange(40 * 86400)) for _ in range(60)]
    return edges + noise


def test_business_seconds_match_the_sla_clock(app):
    times = sorted(moments())
    counted = db.session.execute(
        select(*[sql.business_seconds(literal(t), DAYS, HOURS) for t in times])
    ).one()
    at = dict(zip(times, counted, strict=True))
    # Neighbours (short spans across every edge) and from the first moment (long spans).
    for t0, t1 in [*itertools.pairwise(times), *((times[0], t) for t in times)]:
        assert at[t1] - at[t0] == sla.time_between(t0, t1, True).total_seconds(), (t0, t1)


def test_day_and_week_numbers(app):
    t = datetime(2031, 3, 5, 23, 59, 59)  # a Wednesday
    day, week = db.session.execute(
        select(sql.day_number(literal(t)), sql.week_number(literal(t)))
    ).one()
    assert day == (t.date() - datetime(1970, 1, 1).date()).days
    assert week == day - 2  # Monday 3 March


SAMPLES = {
    "one": [7.0],
    "two": [1.0, 4.0],
    "ties": [2.0, 2.0, 2.0, 9.0],
    "spread": [0.5, 1.0, 2.0, 2.0, 3.0, 10.0],
    "many": [float(x) for x in random.Random(3).sample(range(1000), 101)],
}


def _values():
    return union_all(
        *[
            select(literal(key).label("key"), literal(v).label("value"))
            for key, values in SAMPLES.items()
            for v in values
        ]
    ).subquery()


def _expected(values: list[float], p: float) -> float:
    """percentile_cont by its definition: interpolate at position p·(n−1)."""
    ordered = sorted(values)
    position = p * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


def test_window_percentiles_match_the_definition(app):
    rows = _values()
    statement = sql.percentiles_window(select(rows.c.key, rows.c.value), [0.5, 0.9])
    found = {key: (n, p50, p90) for key, n, p50, p90 in db.session.execute(statement)}
    for key, values in SAMPLES.items():
        expected = (len(values), _expected(values, 0.5), _expected(values, 0.9))
        assert found[key] == pytest.approx(expected)


def test_both_formulations_agree_on_postgresql(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("percentile_cont is PostgreSQL's (set TEST_DATABASE_URL)")
    rows = _values()
    values = select(rows.c.key, rows.c.value)
    ps = [0.1, 0.5, 0.9, 0.99]
    window = {r[0]: r[1:] for r in db.session.execute(sql.percentiles_window(values, ps))}
    builtin = {r[0]: r[1:] for r in db.session.execute(sql.percentiles_builtin(values, ps))}
    assert window.keys() == builtin.keys()
    for key in window:
        assert window[key] == pytest.approx(builtin[key])
