"""The per-agent and per-channel tables of the report, from what the page's statements
counted (figures.build runs them; nothing here reads tickets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from support.extensions import db
from support.models import EventKind, User
from support.models.ticket import Channel

if TYPE_CHECKING:
    from support.reports.figures import Tally
    from support.reports.ratings import Rated


@dataclass
class Row:
    """One line of the per-agent or per-channel table."""

    key: Any
    label: str
    assigned: int = 0
    created: int = 0
    replies: int = 0
    resolved: int = 0
    fr_median: float | None = None
    ratings: int = 0
    rating_sum: int = 0

    @property
    def satisfaction(self) -> float | None:
        return self.rating_sum / self.ratings if self.ratings else None


def agents(
    filed: Tally,
    done: Tally,
    events: dict[tuple[EventKind, int | None], int],
    fr_medians: dict[int, float],
    ratings: Rated,
) -> list[Row]:
    """Per agent: tickets filed in the range now assigned to them, their public replies,
    tickets they resolved, their first-response median and their tickets' ratings."""
    assigned, resolved = filed.by_agent, done.by_agent
    replies = {actor: n for (kind, actor), n in events.items() if kind == EventKind.REPLY and actor}
    ids = set(assigned) | set(resolved) | set(replies)
    agents = (
        db.session.execute(
            select(User.id, User.name).where(User.id.in_(ids), User.role != "customer")
        ).all()
        if ids
        else []
    )
    rows = {
        agent_id: Row(
            agent_id,
            name,
            assigned=assigned.get(agent_id, 0),
            replies=replies.get(agent_id, 0),
            resolved=resolved.get(agent_id, 0),
            fr_median=fr_medians.get(agent_id),
        )
        for agent_id, name in agents
    }
    for agent_id, (n, total) in ratings.by_agent.items():
        if (row := rows.get(agent_id)) is not None:
            row.ratings, row.rating_sum = n, total
    return sorted(rows.values(), key=lambda row: (-row.resolved, -row.assigned, row.label))


def channels(
    filed: Tally,
    done: Tally,
    fr_medians: dict[str, float],
    ratings: Rated,
) -> list[Row]:
    """Per channel: tickets filed and done in the range, first-response median, ratings."""
    created, resolved = filed.by_channel, done.by_channel
    rows = {
        channel.value: Row(
            channel.value,
            CHANNEL_LABELS[channel],
            created=created.get(channel, 0),
            resolved=resolved.get(channel, 0),
            fr_median=fr_medians.get(channel.value),
        )
        for channel in Channel
    }
    for channel, (n, total) in ratings.by_channel.items():
        row = rows[Channel(channel).value]
        row.ratings, row.rating_sum = n, total
    return [row for row in rows.values() if row.created or row.resolved or row.ratings]


CHANNEL_LABELS = {
    Channel.PORTAL: "Web portal",
    Channel.EMAIL: "Email",
    Channel.PHONE: "Phone",
    Channel.CHAT: "Chat",
    Channel.API: "API",
}
