"""The SQL building blocks against their Python definitions."""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import literal, select, union_all

from support.extensions import db
from support.models import BusinessInterval
from support.reports import sql
from support.tickets import schedule, sla
from support.tickets.schedule import Schedule


def moments() -> list[datetime]:
    """Edges (opening, closing, midnight, weekends) and random moments over a month."""
    start = datetime(2031, 3, 1)  # a Saturday
    edges = [start + timedelta(days=d, hours=h) for d in range(10) for h in (0, 9, 12, 17, 23)]
    rng = random.Random(15)
    noise = [start + timedelta(seconds=rng.randrange(40 * 86400)) for _ in range(60)]
    return edges + noise


def sql_clock(times: list[datetime]) -> dict[datetime, int]:
    """The reports' business seconds at each moment, on the saved (or default) schedule."""
    saved = schedule.current()
    schedule.ensure_intervals(saved)
    counted = db.session.execute(
        select(*[sql.business_seconds(literal(t), saved.fingerprint) for t in times])
    ).one()
    return dict(zip(times, counted, strict=True))


def assert_clocks_agree(times: list[datetime]) -> None:
    times = sorted(times)
    at = sql_clock(times)
    # Neighbours (short spans across every edge) and from the first moment (long spans).
    for t0, t1 in [*itertools.pairwise(times), *((times[0], t) for t in times)]:
        assert at[t1] - at[t0] == sla.time_between(t0, t1, True).total_seconds(), (t0, t1)


def test_business_seconds_match_the_sla_clock(app):
    assert_clocks_agree(moments())


# Europe/Berlin: CET → CEST on Sunday 30 March 2031, back on Sunday 26 October; Good
# Friday (11 April) a holiday; Saturday mornings open; Friday to 15:30.
BERLIN = Schedule(
    "Europe/Berlin",
    ((540, 1020),) * 4 + ((540, 930), (600, 780), None),
    (datetime(2031, 4, 11).date(), datetime(2031, 10, 27).date()),
)


def test_both_clocks_agree_across_clock_changes_and_holidays(app):
    schedule.save(BERLIN, {})
    db.session.commit()
    picked = [
        datetime(2031, 3, 28, 14, 15),  # Friday afternoon, CET
        datetime(2031, 3, 29, 2),  # Saturday night
        datetime(2031, 3, 29, 11, 59),  # Saturday before closing (13:00 CET = 12:00 UTC)
        datetime(2031, 3, 30, 1, 30),  # the night of the change
        datetime(2031, 3, 31, 6, 59),  # Monday, a minute before opening (CEST)
        datetime(2031, 3, 31, 7, 1),
        datetime(2031, 4, 10, 14, 45),  # the Thursday before Good Friday
        datetime(2031, 4, 11, 10),  # Good Friday
        datetime(2031, 4, 14, 8),
        datetime(2031, 10, 24, 13),  # the Friday before the change back (CEST)
        datetime(2031, 10, 26, 1, 30),  # the repeated hour
        datetime(2031, 10, 27, 9),  # a holiday Monday
        datetime(2031, 10, 28, 8),  # Tuesday's opening, CET again
    ]
    start = datetime(2031, 3, 20)
    rng = random.Random(19)
    noise = [start + timedelta(seconds=rng.randrange(230 * 86400)) for _ in range(40)]
    assert_clocks_agree(picked + noise)


def test_a_pause_over_a_weekend_counts_alike(app):
    schedule.save(BERLIN, {})
    db.session.commit()
    paused, resumed = datetime(2031, 4, 4, 13), datetime(2031, 4, 7, 9)  # Friday → Monday
    at = sql_clock([paused, resumed])
    # Friday 15:00–15:30 CEST, Saturday 10:00–13:00, Monday 09:00–11:00 (CEST = UTC+2).
    assert at[resumed] - at[paused] == (30 + 180 + 120) * 60
    assert sla.time_between(paused, resumed, True) == timedelta(minutes=330)


def test_intervals_follow_the_saved_schedule(app):
    def keys() -> list[str]:
        return list(db.session.scalars(select(BusinessInterval.schedule_key).distinct()))

    assert keys() == []  # a fresh database builds them when a report first needs them
    schedule.ensure_intervals(schedule.current())
    assert keys() == [schedule.DEFAULT.fingerprint]
    schedule.save(BERLIN, {})
    db.session.commit()
    assert keys() == [BERLIN.fingerprint]


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


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_sorted_percentiles_of_one_key_match_the_definition(app, key):
    rows = _values()
    values = select(rows.c.key, rows.c.value).where(rows.c.key == key)
    ps = [0.1, 0.5, 0.9, 0.99]
    (found,) = db.session.execute(sql.percentiles_sorted(values, ps)).all()
    expected = [_expected(SAMPLES[key], p) for p in ps]
    assert tuple(found[:2]) == (key, len(SAMPLES[key]))
    assert list(found[2:]) == pytest.approx(expected)


def test_sorted_percentiles_of_nothing_are_no_row(app):
    rows = _values()
    values = select(rows.c.key, rows.c.value).where(rows.c.key == "none such")
    assert db.session.execute(sql.percentiles_sorted(values, [0.5])).all() == []


def test_percentiles_of_known_keys_match_the_definition(app):
    """The per-key form (the keys known beforehand, one sorted pass each) on either
    engine: a key without values gives no row."""
    rows = _values()
    values = select(rows.c.key, rows.c.value)
    ps = [0.5, 0.9]
    statement = sql.percentiles(values, ps, "sqlite", keys=[*SAMPLES, "none such"])
    found = {key: (n, *p) for key, n, *p in db.session.execute(statement)}
    assert found.keys() == SAMPLES.keys()
    for key, samples in SAMPLES.items():
        expected = (len(samples), *[_expected(samples, p) for p in ps])
        assert found[key] == pytest.approx(expected)


def _rows(values: list[float]) -> Any:
    """A select of `value` over literal rows (none: a select that finds nothing)."""
    if not values:
        return select(literal(0.0).label("value")).where(literal(False))
    rows = union_all(*[select(literal(v).label("value")) for v in values]).subquery()
    return select(rows.c.value)


SPLITS = {
    "all kept": lambda values: (values, []),
    "all fresh": lambda values: ([], values),
    "fresh below": lambda values: (sorted(values)[2:], sorted(values)[:2]),
    "fresh above": lambda values: (sorted(values)[:-2], sorted(values)[-2:]),
    "interleaved": lambda values: (values[::2], values[1::2]),
}


@pytest.mark.parametrize("split", sorted(SPLITS))
@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_walked_percentiles_of_two_sets_match_the_definition(app, key, split):
    """Kept and fresh values merged in order, read at the position: wherever the fresh
    ones fall among the kept, the percentile of them all."""
    values = SAMPLES[key]
    kept, fresh = SPLITS[split](values)
    ps = [0.1, 0.5, 0.9, 0.99]
    n = literal(len(values))
    found = db.session.execute(
        select(*[sql.percentile_walked(_rows(kept), _rows(fresh), p, n) for p in ps])
    ).one()
    assert list(found) == pytest.approx([_expected(values, p) for p in ps])
