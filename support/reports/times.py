"""The clock times' figures: median and 90th percentile of first-response and resolution
time, the first-response median per agent and per channel, and the first-response
distribution, from one statement over the clock times (clock.clock_times)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, String, case, cast, func, literal, null, select
from sqlalchemy.sql.elements import ColumnElement

from support.extensions import db
from support.models.ticket import Channel
from support.reports import sql

# Time-to-first-response distribution: upper bounds in hours, the last one open.
RESPONSE_BUCKETS = [(1, "Under 1 h"), (4, "1–4 h"), (8, "4–8 h"), (24, "8–24 h"), (72, "1–3 days")]
RESPONSE_LAST = "Over 3 days"


@dataclass(frozen=True)
class Times:
    """What one statement over the clock times finds."""

    fr: tuple[float | None, float | None]  # median, 90th percentile
    res: tuple[float | None, float | None]
    agents: dict[int, float]  # first-response median per assignee
    channels: dict[str, float]  # … and per channel
    buckets: list[tuple[str, int]]  # tickets by time to first response


BOTH, MEDIAN = [0.5, 0.9], [0.5]


def parts(times: Any, pad: Sequence[Any] = ()) -> list[Select]:
    """Median and 90th percentile of first-response and resolution clock times, the
    first-response median per agent and per channel, and the first-response
    distribution: parts of one statement (with the tally of the same tickets, figures),
    so the clock times are read once (read). Each row: a tag, how many, two values,
    then a null of each type in `pad` (typed: PostgreSQL takes an untyped null in a
    union for text)."""
    dialect = db.engine.dialect.name
    blanks = [cast(null(), kind) for kind in pad]

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
        return select(_tagged(name, found.c.key), found.c.n, found.c.p0, p1, *blanks)

    bucket = case(
        *[(times.c.fr < h * 3600, literal(f"b:{i}")) for i, (h, _) in enumerate(RESPONSE_BUCKETS)],
        else_=literal(f"b:{len(RESPONSE_BUCKETS)}"),
    )
    # The distribution only counts: no sort of its values.
    distribution = (
        select(bucket, func.count(), null(), null(), *blanks)
        .where(times.c.fr.is_not(None))
        .group_by(bucket)
    )
    return [
        series("fr", None, times.c.fr, BOTH),
        series("res", None, times.c.res, BOTH),
        # Agents and channels show the median alone.
        series("a:", times.c.assignee_id, times.c.fr, MEDIAN, times.c.assignee_id.is_not(None)),
        series("c:", times.c.channel, times.c.fr, MEDIAN, keys=[c.value for c in Channel]),
        distribution,
    ]


def read(rows: Any) -> Times:
    """What parts found, from its rows (a tag, how many and two values each)."""
    found = {row[0]: (row[1], row[2], row[3]) for row in rows}
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
