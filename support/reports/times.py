"""The clock times' figures: median and 90th percentile of first-response and resolution
time, the first-response median per agent and per channel, and the first-response
distribution, from one statement over the clock times (clock.timed).

Two forms of the percentiles (support/reports/sql.py): over every clock time (parts),
sorted (PostgreSQL's percentile_cont, SQLite's numbering); and, on SQLite where the
sweep keeps the clock times, walked (walked_parts): the kept values read in the order
of an index on them, merged with the few worked out since, down to the wanted
position. A walk costs a few milliseconds where sorting 45,000 values costs fifty; the
per-agent medians then need the agents' ids, known once the tally is read: a
statement of their own (agent_medians).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    String,
    bindparam,
    case,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from support.extensions import db
from support.models.ticket import Channel
from support.reports import sql
from support.reports.clock import FACTS, Timed

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


def walks(timed: Timed) -> bool:
    """Whether the percentiles are walked (see the module's doc): on SQLite, over kept
    clock times."""
    return timed.kept is not None and db.engine.dialect.name == "sqlite"


def parts(timed: Timed, pad: Sequence[Any] = ()) -> list[Select]:
    """Median and 90th percentile of first-response and resolution clock times, the
    first-response median per agent (unless walked: agent_medians) and per channel,
    and the first-response distribution: parts of one statement (with the tally of the
    same tickets, figures), so the clock times are read once (read). Each row: a tag,
    how many, two values, then a null of each type in `pad` (typed: PostgreSQL takes
    an untyped null in a union for text)."""
    times = timed.all
    blanks = [cast(null(), kind) for kind in pad]
    if walks(timed):
        return [*walked_parts(timed, blanks), *distribution(times, blanks)]
    return [*sorted_parts(times, blanks), *distribution(times, blanks)]


def distribution(times: Any, blanks: list) -> list[Select]:
    """The first-response distribution: how many first responses came under each
    bound, counted in one pass over the clock times (no grouping, no sort), a row
    per bucket (the difference of two of those counts)."""
    limits = [hours * 3600 for hours, _ in RESPONSE_BUCKETS]
    under = select(
        *[
            func.count(case((times.c.fr < limit, 1))).label(f"u{i}")
            for i, limit in enumerate(limits)
        ],
        func.count(times.c.fr).label(f"u{len(limits)}"),
    ).cte("under")
    counts = [under.c[f"u{i}"] for i in range(len(limits) + 1)]
    return [
        select(literal(f"b:{i}"), n - counts[i - 1] if i else n, null(), null(), *blanks)
        for i, n in enumerate(counts)
    ]


def sorted_parts(times: Any, blanks: list) -> list[Select]:
    """The percentiles of parts from the sorted clock times (`times`, a CTE of them)."""
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
        return select(_tagged(name, found.c.key), found.c.n, found.c.p0, p1, *blanks)

    return [
        series("fr", None, times.c.fr, BOTH),
        series("res", None, times.c.res, BOTH),
        # Agents and channels show the median alone.
        series("a:", times.c.assignee_id, times.c.fr, MEDIAN, times.c.assignee_id.is_not(None)),
        series("c:", times.c.channel, times.c.fr, MEDIAN, keys=[c.value for c in Channel]),
    ]


def walked_parts(timed: Timed, blanks: list) -> list[Select]:
    """The percentiles of parts but the agents', walked. How many values each series has
    is counted in one read of the clock times (a one-row CTE)."""
    times = timed.all.c
    channels = [c.value for c in Channel]
    counted = select(
        func.count(times.fr).label("fr"),
        func.count(times.res).label("res"),
        *[
            func.count(case((times.channel == channel, times.fr))).label(f"c{i}")
            for i, channel in enumerate(channels)
        ],
    ).cte("counted")

    def row(tag: str, name: str, ps: list[float], by: str = "", *extra: Any) -> Select:
        n = select(counted.c[name]).scalar_subquery()
        value = "res" if name == "res" else "fr"
        found = [walked(timed, value, p, n, by, *extra) for p in ps]
        # A series with no values has no row, as in the sorted form.
        return select(literal(tag), n, *found, *[null()] * (2 - len(ps)), *blanks).where(n > 0)

    return [
        row("fr", "fr", BOTH),
        row("res", "res", BOTH),
        *[
            row(f"c:{channel}", f"c{i}", MEDIAN, "channel", lambda c, k=channel: c.channel == k)
            for i, channel in enumerate(channels)
        ],
    ]


def walked(timed: Timed, value: str, p: float, n: Any, by: str = "", *extra: Any) -> Any:
    """The `p` percentile of the clock times `value` ("fr" or "res") of the rows passing
    `extra` (functions of a row's columns), of which there are `n`: sql.percentile_walked
    over the kept facts, walked in their index on `value` (led by `by`, the column of the
    key `extra` picks: "agent" or "channel"), and the fresh."""

    def values(c: Any, *where: Any) -> Select:
        return select(c[value].label("value")).where(
            *where, c[value].is_not(None), *[condition(c) for condition in extra]
        )

    index = f"ix_report_ticket_facts_{by}_{value}" if by else f"ix_report_ticket_facts_{value}"
    kept = values(FACTS.c, *timed.kept).with_hint(FACTS, f"INDEXED BY {index}", "sqlite")
    return sql.percentile_walked(kept, values(timed.fresh.c), p, n)


def agent_medians(timed: Timed, slots: int) -> Select:
    """The first-response median of each of `slots` agents, walked: bound as agent_0,
    agent_1, … with how many first responses each has as n_0, n_1, … (the tally counts
    them); a slot bound to None finds nothing. Rows of a tag, how many and the median,
    as parts has them."""
    rows = []
    for i in range(slots):
        agent = bindparam(f"agent_{i}", None, type_=Integer)
        n = bindparam(f"n_{i}", 0, type_=Integer)
        median = walked(timed, "fr", 0.5, n, "agent", lambda c, a=agent: c.assignee_id == a)
        rows.append(select(_tagged("a:", agent), n, median, null()).where(agent.is_not(None)))
    return union_all(*rows)


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
