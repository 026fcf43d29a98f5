"""Who gets a new ticket: the category's team, then its least-loaded qualified agent.

Qualified: an active agent of the team who takes new tickets, works the
ticket's tier (1 for a new ticket) and has the skill its category needs, if
any. Load is the number of open (not resolved or closed) tickets assigned to
the agent; nobody gets more than their `max_open` (or `DEFAULT_MAX_OPEN`).
Among equally loaded agents the one assigned a ticket least recently (the
lowest "latest ticket id") wins, then the lowest user id: round-robin,
deterministic. Nobody qualifying leaves the ticket unassigned, with the team
told.

Concurrent filings for one team are routed one at a time: `route(lock=True)`
holds a lock until the filing commits, so two web workers (or the web server and
a worker) never both see an agent's last free slot. On PostgreSQL that is
`SELECT ... FOR UPDATE` of the team's row. SQLite ignores FOR UPDATE, and
pysqlite runs SELECTs outside any transaction, so there a no-op UPDATE of the
team's row comes first: pysqlite opens the transaction before it, SQLite gives
it the database's write lock (waiting up to the busy timeout for another
writer), and the loads read afterwards are the committed ones, held still until
the commit. That serialises all writers, not only one team's, for the rest of
the filing: a few milliseconds, and SQLite runs one writer at a time anyway.
This relies on pysqlite's default transaction handling (support/database.py sets
no isolation level); tests/triage/test_routing_load.py checks the lock is held.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select, update

from support.extensions import db
from support.models import Category, Role, Skill, Status, Team, Ticket, User

DEFAULT_MAX_OPEN = 25
NEW_TICKET_TIER = 1
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


def candidates(
    team: Team | None,
    *,
    tier: int = NEW_TICKET_TIER,
    skill: Skill | None = None,
    exclude_ticket_id: int | None = None,
) -> list[Candidate]:
    """The team's (None: every team's) qualified agents with their open tickets, least
    loaded first."""
    join_on = and_(Ticket.assignee_id == User.id, Ticket.status.not_in(_CLOSED))
    if exclude_ticket_id is not None:
        join_on = and_(join_on, Ticket.id != exclude_ticket_id)
    query = (
        select(User, func.count(Ticket.id), func.coalesce(func.max(Ticket.id), 0))
        .outerjoin(Ticket, join_on)
        .where(
            User.role.in_((Role.AGENT, Role.ADMIN)),
            User.is_active.is_(True),
            User.is_available.is_(True),
            User.tier == tier,
        )
        .group_by(User.id)
    )
    if team is not None:
        query = query.where(User.team_id == team.id)
    if skill is not None:
        query = query.where(User.skills.any(Skill.id == skill.id))
    found = [
        Candidate(agent, count, cap_of(agent), last)
        for agent, count, last in db.session.execute(query)
    ]
    return sorted(found, key=lambda c: (c.open, c.last_ticket_id, c.agent.id))


def route(
    category: Category | None,
    *,
    tier: int = NEW_TICKET_TIER,
    ticket_id: int | None = None,
    lock: bool = False,
) -> Route:
    """Where a ticket of `category` goes; nothing is changed here.

    `lock` (for a filing about to commit) holds the team's row until the commit.
    """
    if category is None:
        return Route(None, None, "no category, so no team: waiting in unassigned", [])
    if category.team is None:
        return Route(None, None, f"category {category.name} has no team: waiting in unassigned", [])
    return route_in_team(category.team, category, tier=tier, ticket_id=ticket_id, lock=lock)


def lock_team(team: Team) -> None:
    """Hold off other routings for `team` until this transaction ends (see the module doc)."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            update(Team).where(Team.id == team.id).values(name=Team.name),
            execution_options={"synchronize_session": False},
        )
    else:
        db.session.execute(select(Team.id).where(Team.id == team.id).with_for_update())


def route_in_team(
    team: Team,
    category: Category | None,
    *,
    tier: int = NEW_TICKET_TIER,
    ticket_id: int | None = None,
    lock: bool = False,
) -> Route:
    """The agent of `team` who should take a ticket of `category` (see `route`)."""
    if lock:
        lock_team(team)
    skill = category.skill if category is not None else None
    topic = f"category {category.name}" if category is not None else "no category"
    found = candidates(team, tier=tier, skill=skill, exclude_ticket_id=ticket_id)
    who = f"tier-{tier} agent" + (f" with the skill {skill.name}" if skill else "")
    free = [c for c in found if c.open < c.cap]
    if not free:
        why = f"every available {who} is at their limit" if found else f"no available {who}"
        return Route(
            team,
            None,
            f"routed to {team.name}: {topic}; {why}, "
            "so it waits in unassigned and the team was notified",
            found,
        )
    best = free[0]
    reason = (
        f"routed to {team.name}: {topic}; "
        + (f"needs {skill.name}; " if skill else "")
        + f"least loaded: {best.agent.name}, {best.open} open"
    )
    equals = [c for c in free if c.open == best.open]
    if len(equals) > 1:
        reason += f" (of {len(equals)} equally loaded, assigned least recently)"
    return Route(team, best.agent, reason, found)


@dataclass(frozen=True)
class Escalation:
    """Where a ticket escalated to a tier goes, and who is told.

    `scope` "team": the tier's free agents in the ticket's team are told, and the
    ticket waits for them unassigned (the sweep routes it within the team);
    "any team": nobody there can take it, so the least-loaded free agent of that tier
    in any team gets it (`assignee`) and is told; "admins": nobody at that tier can
    take it anywhere, so it stays with its assignee and the admins are told.
    """

    scope: str
    told: list[User]
    reason: str
    assignee: User | None = None

    @property
    def handed_over(self) -> bool:
        return self.scope != "admins"


def escalation(team: Team | None, tier: int, *, ticket_id: int | None = None) -> Escalation:
    """Where an escalated ticket goes: never to nobody (see Escalation)."""
    who = f"tier-{tier} agent"
    if team is not None:
        in_team = [c.agent for c in _free(tier, team, ticket_id)]
        if in_team:
            return Escalation("team", in_team, f"told the {who}s of {team.name}")
    anywhere = _free(tier, None, ticket_id)
    if anywhere:
        best = anywhere[0]
        where = f"no available {who} in {team.name}, so " if team is not None else ""
        reason = f"{where}assigned to the least-loaded {who}: {best.agent.name}, {best.open} open"
        return Escalation("any team", [best.agent], reason, assignee=best.agent)
    return Escalation(
        "admins",
        admins(),
        f"no available {who} in any team: it stays with its assignee and the admins were told",
    )


def _free(tier: int, team: Team | None, ticket_id: int | None) -> list[Candidate]:
    """Active, available agents of `tier` (in `team`, or any team) below their limit."""
    found = candidates(team, tier=tier, exclude_ticket_id=ticket_id)
    return [c for c in found if c.open < c.cap]


def admins() -> list[User]:
    query = select(User).where(User.role == Role.ADMIN, User.is_active.is_(True))
    return list(db.session.scalars(query.order_by(User.id)))


def waiting(limit: int = 1000) -> list[tuple[int, tuple[int, int, int | None]]]:
    """Open tickets of a team that wait for an agent, oldest first, each with its kind
    (team, tier, skill needed): once nobody is free for a kind, the sweep skips the rest."""
    query = (
        select(Ticket.id, Ticket.team_id, Ticket.tier, Category.skill_id)
        .outerjoin(Category, Ticket.category_id == Category.id)
        .where(
            Ticket.assignee_id.is_(None),
            Ticket.team_id.is_not(None),
            Ticket.status.in_([s for s in Status if s.is_active]),
            Ticket.merged_into_id.is_(None),
        )
        .order_by(Ticket.id)
        .limit(limit)
    )
    return [
        (ticket_id, (team, tier, skill))
        for ticket_id, team, tier, skill in db.session.execute(query)
    ]


def team_members(team: Team) -> list[User]:
    query = select(User).where(
        User.team_id == team.id,
        User.role.in_((Role.AGENT, Role.ADMIN)),
        User.is_active.is_(True),
    )
    return list(db.session.scalars(query))
