"""Routing settings admins edit: teams, skills, categories, and each agent's routing.

The only writer of these settings (the admin page, the CLI and tests call it).
Every function validates, saves and commits, or raises `SettingsError` with a
message written for the admin and changes nothing. Names are trimmed and
unique case-insensitively.

Categories are never deleted, because tickets keep pointing at them: a
deactivated category disappears from the customers' form and stays on old
tickets. A team is deleted only when nothing uses it any more; a skill can
always go, and leaves the agents and categories that had it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from support.extensions import db
from support.models import Category, Role, Skill, Status, Team, Ticket, User, agent_skills
from support.triage.routing import DEFAULT_MAX_OPEN

TEAM_NAME_MAX = 80
SKILL_NAME_MAX = 60
CATEGORY_NAME_MAX = 80
SLUG_MAX = 60
TIERS = (1, 2, 3)
MAX_OPEN_LIMIT = 10_000
_CLOSED = (Status.RESOLVED, Status.CLOSED)


class SettingsError(ValueError):
    """A setting that can't be saved; the message is written for the admin.

    `field` names the form field the message belongs next to (None: the whole row).
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _name(raw: str | None, *, what: str, limit: int) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise SettingsError(f"Give the {what} a name.", "name")
    if len(name) > limit:
        raise SettingsError(
            f"Keep the {what}'s name to {limit} characters (this one has {len(name):,}).", "name"
        )
    return name


def _unique_name(
    model: type[Team] | type[Skill] | type[Category],
    raw: str | None,
    *,
    what: str,
    limit: int,
    exclude: Team | Skill | Category | None = None,
) -> str:
    """A clean name no other team (skill, category) has, whatever the case: people could
    not tell two apart."""
    name = _name(raw, what=what, limit=limit)
    query = select(model.id).where(func.lower(model.name) == name.lower())
    if exclude is not None:
        query = query.where(model.id != exclude.id)
    if db.session.scalar(query) is not None:
        raise SettingsError(f"There is already a {what} called “{name}”.", "name")
    return name


def _commit(duplicate: str) -> None:
    """Commit; a unique name taken meanwhile by another admin is a `SettingsError`."""
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise SettingsError(duplicate, "name") from exc


def _count(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else many or one + 's'}"


# --- teams -------------------------------------------------------------------------------


def teams() -> list[Team]:
    return list(db.session.scalars(select(Team).order_by(func.lower(Team.name))))


def create_team(name: str) -> Team:
    team = Team(name=_unique_name(Team, name, what="team", limit=TEAM_NAME_MAX))
    db.session.add(team)
    _commit(f"There is already a team called “{team.name}”.")
    return team


def rename_team(team: Team, name: str) -> None:
    team.name = _unique_name(Team, name, what="team", limit=TEAM_NAME_MAX, exclude=team)
    _commit(f"There is already a team called “{team.name}”.")


def team_usage(team: Team) -> dict[str, int]:
    """What still points at the team: agents (any, even deactivated), categories, tickets."""
    counts = db.session.execute(
        select(
            select(func.count(User.id)).where(User.team_id == team.id).scalar_subquery(),
            select(func.count(Category.id)).where(Category.team_id == team.id).scalar_subquery(),
            select(func.count(Ticket.id)).where(Ticket.team_id == team.id).scalar_subquery(),
        )
    ).one()
    return dict(zip(("agent", "category", "ticket"), counts, strict=True))


def delete_team(team: Team) -> str:
    """Delete a team nothing uses; returns its name."""
    used = team_usage(team)
    if any(used.values()):
        parts = [
            _count(n, k, "categories" if k == "category" else None) for k, n in used.items() if n
        ]
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        advice = (
            "Tickets keep the team they were handled by, so rename the team instead."
            if used["ticket"]
            else "Move them to another team first."
        )
        raise SettingsError(f"“{team.name}” is still used by {listed}. {advice}")
    name = team.name
    db.session.delete(team)
    db.session.commit()
    return name


# --- skills ------------------------------------------------------------------------------


def skills() -> list[Skill]:
    return list(db.session.scalars(select(Skill).order_by(func.lower(Skill.name))))


def create_skill(name: str) -> Skill:
    skill = Skill(name=_unique_name(Skill, name, what="skill", limit=SKILL_NAME_MAX))
    db.session.add(skill)
    _commit(f"There is already a skill called “{skill.name}”.")
    return skill


def rename_skill(skill: Skill, name: str) -> None:
    skill.name = _unique_name(Skill, name, what="skill", limit=SKILL_NAME_MAX, exclude=skill)
    _commit(f"There is already a skill called “{skill.name}”.")


@dataclass(frozen=True)
class SkillDeleted:
    name: str
    agents: int  # agents who had the skill
    categories: int  # categories that needed it (they need no skill now)

    @property
    def message(self) -> str:
        agents = f"{_count(self.agents, 'agent')} had it" if self.agents else "no agent had it"
        if not self.categories:
            categories = "no category needed it"
        elif self.categories == 1:
            categories = "1 category needed it and now needs none"
        else:
            categories = f"{self.categories:,} categories needed it and now need none"
        return f"Deleted the skill “{self.name}”: {agents}; {categories}."


def delete_skill(skill: Skill) -> SkillDeleted:
    """Delete a skill, taking it off every agent and category that had it."""
    agents = db.session.scalar(
        select(func.count()).select_from(agent_skills).where(agent_skills.c.skill_id == skill.id)
    )
    categories = db.session.scalar(
        select(func.count(Category.id)).where(Category.skill_id == skill.id)
    )
    db.session.execute(delete(agent_skills).where(agent_skills.c.skill_id == skill.id))
    db.session.execute(update(Category).where(Category.skill_id == skill.id).values(skill_id=None))
    name = skill.name
    db.session.delete(skill)
    db.session.commit()
    return SkillDeleted(name, agents or 0, categories or 0)


# --- categories --------------------------------------------------------------------------


def categories() -> list[Category]:
    """Every category, active first, by name (the team and skill come with them)."""
    query = (
        select(Category)
        .options(joinedload(Category.team), joinedload(Category.skill))
        .order_by(Category.is_active.desc(), func.lower(Category.name))
    )
    return list(db.session.scalars(query))


def slugify(name: str) -> str:
    """A URL-safe slug: “Returns & refunds” → returns-refunds. Letters outside ASCII are
    transliterated where they can be, else dropped ("category" when nothing is left)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-") or "category"


def _unique_slug(name: str) -> str:
    base = slugify(name)
    taken = set(
        db.session.scalars(
            select(Category.slug).where(
                (Category.slug == base) | Category.slug.like(f"{base[: SLUG_MAX - 4]}-%")
            )
        )
    )
    slug, n = base, 2
    while slug in taken:
        suffix = f"-{n}"
        slug = base[: SLUG_MAX - len(suffix)].rstrip("-") + suffix
        n += 1
    return slug


def _team(team_id: int | None) -> Team | None:
    if team_id is None:
        return None
    team = db.session.get(Team, team_id)
    if team is None:
        raise SettingsError("That team no longer exists: reload the page and choose again.", "team")
    return team


def _skill(skill_id: int | None) -> Skill | None:
    if skill_id is None:
        return None
    skill = db.session.get(Skill, skill_id)
    if skill is None:
        raise SettingsError(
            "That skill no longer exists: reload the page and choose again.", "skill"
        )
    return skill


def create_category(
    name: str, *, team_id: int | None = None, skill_id: int | None = None
) -> Category:
    """A new active category customers can choose; its slug comes from the name."""
    clean = _unique_name(Category, name, what="category", limit=CATEGORY_NAME_MAX)
    team, skill = _team(team_id), _skill(skill_id)
    category = Category(slug=_unique_slug(clean), name=clean, team=team, skill=skill)
    db.session.add(category)
    _commit(f"There is already a category called “{clean}”; reload the page.")
    return category


def save_category(
    category: Category,
    *,
    name: str,
    team_id: int | None,
    skill_id: int | None,
    is_active: bool,
) -> None:
    """Rename, route (team, needed skill) and (de)activate a category; the slug stays."""
    clean = _unique_name(Category, name, what="category", limit=CATEGORY_NAME_MAX, exclude=category)
    team, skill = _team(team_id), _skill(skill_id)
    category.name, category.team, category.skill = clean, team, skill
    category.is_active = is_active
    _commit(f"There is already a category called “{clean}”.")


# --- agents ------------------------------------------------------------------------------


def agents_overview() -> list[tuple[User, int]]:
    """Every active agent and admin with their open tickets (not resolved or closed), by name.

    One query for the people, their team and their counts, one for their skills,
    however many agents there are.
    """
    open_counts = (
        select(Ticket.assignee_id.label("agent_id"), func.count(Ticket.id).label("open"))
        .where(Ticket.assignee_id.is_not(None), Ticket.status.not_in(_CLOSED))
        .group_by(Ticket.assignee_id)
        .subquery()
    )
    query = (
        select(User, func.coalesce(open_counts.c.open, 0))
        .outerjoin(open_counts, open_counts.c.agent_id == User.id)
        .where(User.role.in_((Role.AGENT, Role.ADMIN)), User.is_active.is_(True))
        .options(joinedload(User.team), selectinload(User.skills))
        .order_by(func.lower(User.name), User.id)
    )
    return [(agent, count) for agent, count in db.session.execute(query)]


def _max_open(max_open: int | None) -> int | None:
    if max_open is not None and not 0 <= max_open <= MAX_OPEN_LIMIT:
        raise SettingsError(
            f"The limit must be a whole number from 0 to {MAX_OPEN_LIMIT:,}, "
            f"or empty for the default ({DEFAULT_MAX_OPEN}).",
            "max_open",
        )
    return max_open


def set_availability(agent: User, *, available: bool, max_open: int | None) -> None:
    """Take an agent off (or back on) routing, and set their open-ticket limit."""
    agent.max_open = _max_open(max_open)
    agent.is_available = available
    db.session.commit()


def save_agent_routing(
    agent: User,
    *,
    team_id: int | None,
    tier: int | None,
    skill_ids: Iterable[int],
    available: bool,
    max_open: int | None,
) -> None:
    """An agent's team, tier, skills, whether they take new tickets, and their limit."""
    if not agent.is_agent:
        raise SettingsError(f"{agent.name} is not an agent.")
    if tier is not None and tier not in TIERS:
        raise SettingsError("The tier must be 1, 2 or 3 (or none).", "tier")
    team = _team(team_id)
    wanted = set(skill_ids)
    chosen = list(db.session.scalars(select(Skill).where(Skill.id.in_(wanted)))) if wanted else []
    if len(chosen) != len(wanted):
        raise SettingsError(
            "One of those skills no longer exists: reload the page and choose again.", "skills"
        )
    agent.max_open = _max_open(max_open)
    agent.team, agent.tier, agent.skills = team, tier, chosen
    agent.is_available = available
    db.session.commit()
