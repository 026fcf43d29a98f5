"""Satisfaction: the ratings given in the range, counted by day, by score, by assignee
and by channel in one statement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, String, cast, func, literal, null, select, union_all

from support.models import Rating
from support.reports import sql
from support.reports.clock import FACTS, Kept, kept_day
from support.reports.filters import ReportFilters, in_range

SATISFIED = 4  # a score of 4 or 5 out of 5


@dataclass(frozen=True)
class Rated:
    """Ratings given in the range, counted four ways by one statement (statement)."""

    by_day: dict[int, tuple[int, int, int]]  # day -> how many, sum of scores, satisfied
    by_score: dict[int, int]
    by_agent: dict[int, tuple[int, int]]  # assignee -> how many, sum of scores
    by_channel: dict[str, tuple[int, int]]


def statement(filters: ReportFilters, where: list, kept: Kept) -> Select:
    """Ratings given in the range, counted by day, by score, by assignee and by channel
    (read by read): the kept facts carry each ticket's rating (one at most),
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
                kept_day(c, "rated_day", rated_at).label("day"),
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
        by("d", rows.c.day, total, func.sum(sql.flag(rows.c.score >= SATISFIED))),
        by("s", rows.c.score),
        by("a", rows.c.assignee_id, total).where(rows.c.assignee_id.is_not(None)),
        by("c", rows.c.channel, total),
    )


def read(result: Any) -> Rated:
    found: dict[str, dict] = {"d": {}, "s": {}, "a": {}, "c": {}}
    for tag, key, n, total, satisfied in result:
        if tag == "d":
            found[tag][int(key)] = (n, int(total), int(satisfied))
        elif tag == "s":
            found[tag][int(key)] = n
        else:
            found[tag][int(key) if tag == "a" else key] = (n, int(total))
    return Rated(found["d"], found["s"], found["a"], found["c"])


def distribution(rated: Rated) -> dict[int, int]:
    return {score: rated.by_score.get(score, 0) for score in range(1, 6)} | rated.by_score
