"""Who gets a new ticket: the category's team, then its least-loaded available tier-1 agent.

Load is the number of open (not resolved or closed) tickets assigned to the
agent; nobody gets more than their `max_open` (or `DEFAULT_MAX_OPEN`). Among
equally loaded agents the one assigned a ticket least recently (the lowest
"latest ticket id") wins, then the lowest user id: round-robin, deterministic.
Nobody qualifying leaves the ticket unassigned, with the team told.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select

from support.extensions import db
from support.models import Category, Role, Status, Team, Ticket, User

DEFAULT_MAX_OPEN = 25
ROUTING_TIER = 1
_CLOSED = (Status.RESOLVED, Status.CLOSED)


@dataclass(frozen=True)
class Candidate:
    agent: User
    open: int
    cap: int
    last_ticket_id: int


@dataclass(frozen=True)
class Route:
    team: Team | None
    agent: User | None
    reason: str
    candidates: list[Candidate]

    @property
    def notify_team(self) -> bool:
        return self.team is not None and self.agent is None


def cap_of(agent: User) -> int:
    return agent.max_open if agent.max_open is not None else DEFAULT_MAX_OPEN


def candidates(team: Team, exclude_ticket_id: int | None = None) -> list[Candidate]:
    """The team's available tier-1 agents with their open tickets, least loaded first."""
    join_on = and_(Ticket.assignee_id == User.id, Ticket.status.not_in(_CLOSED))
    if exclude_ticket_id is not None:
        join_on = and_(join_on, Ticket.id != exclude_ticket_id)
    query = (
        select(User, func.count(Ticket.id), func.coalesce(func.max(Ticket.id), 0))
        .outerjoin(Ticket, join_on)
        .where(
            User.team_id == team.id,
            User.role.in_((Role.AGENT, Role.ADMIN)),
            User.is_active.is_(True),
            User.is_available.is_(True),
            User.tier == ROUTING_TIER,
        )
        .group_by(User.id)
    )
    found = [
        Candidate(agent, count, cap_of(agent), last)
        for agent, count, last in db.session.execute(query)
    ]
    return sorted(found, key=lambda c: (c.open, c.last_ticket_id, c.agent.id))


def route(category: Category | None, ticket_id: int | None = None) -> Route:
    """Where a new ticket of `category` goes (nothing is changed here)."""
    if category is None:
        return Route(None, None, "no category, so no team: waiting in unassigned", [])
    team = category.team
    if team is None:
        return Route(None, None, f"category {category.name} has no team: waiting in unassigned", [])
    found = candidates(team, exclude_ticket_id=ticket_id)
    free = [c for c in found if c.open < c.cap]
    if not free:
        why = (
            "every available tier-1 agent is at their limit"
            if found
            else "no available tier-1 agent"
        )
        return Route(
            team,
            None,
            f"routed to {team.name}: category {category.name}; {why}, "
            "so it waits in unassigned and the team was notified",
            found,
        )
    best = free[0]
    reason = (
        f"routed to {team.name}: category {category.name}; "
        f"least loaded: {best.agent.name}, {best.open} open"
    )
    equals = [c for c in free if c.open == best.open]
    if len(equals) > 1:
        reason += f" (of {len(equals)} equally loaded, assigned least recently)"
    return Route(team, best.agent, reason, found)


def team_members(team: Team) -> list[User]:
    query = select(User).where(
        User.team_id == team.id,
        User.role.in_((Role.AGENT, Role.ADMIN)),
        User.is_active.is_(True),
    )
    return list(db.session.scalars(query))


def agents_overview() -> list[tuple[User, int]]:
    """Every active agent with their open tickets, by team and name (for the admin page)."""
    join_on = and_(Ticket.assignee_id == User.id, Ticket.status.not_in(_CLOSED))
    query = (
        select(User, func.count(Ticket.id))
        .outerjoin(Ticket, join_on)
        .where(User.role.in_((Role.AGENT, Role.ADMIN)), User.is_active.is_(True))
        .group_by(User.id)
        .order_by(User.team_id, User.name)
    )
    return [(agent, count) for agent, count in db.session.execute(query)]


def set_availability(agent: User, *, available: bool, max_open: int | None) -> None:
    """Take an agent off (or back on) routing, and set their open-ticket limit."""
    if max_open is not None and max_open < 0:
        raise ValueError("The limit can't be negative.")
    agent.is_available = available
    agent.max_open = max_open
    db.session.commit()
