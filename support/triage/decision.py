"""What triage decides for a new ticket: category, priority, team and agent, with reasons.

`decide` changes nothing: the filing service applies its `Decision` through the
ticket's unit of work (support/tickets/service/filing.py), which records one
internal timeline event per decision (the `*_data` functions below give their
data) and lets notify tell the agent or team. `preview` is the same decision for
the admin page's "What would happen to this text?".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from support.extensions import db
from support.models import Category, CategoryCorrection, Impact, Team, User
from support.triage import priority, routing, suggest


def suggester() -> suggest.Model:
    """The model, retrained when agents have added corrections since it was built."""
    count, last = db.session.execute(
        select(func.count(CategoryCorrection.id), func.max(CategoryCorrection.id))
    ).one()
    key = (count, last)
    if count == 0:
        return suggest.model((), key)
    rows = db.session.execute(select(CategoryCorrection.category, CategoryCorrection.text)).all()
    return suggest.model(tuple((c, t) for c, t in rows), key)


@dataclass(frozen=True)
class CategoryChoice:
    category: Category | None
    suggestion: suggest.Suggestion
    reason: str


def suggest_category(subject: str, description: str) -> CategoryChoice:
    result = suggester().suggest(f"{subject}\n{description}")
    if result.category is None:
        guess = f"; best guess {result.best}" if result.best else ""
        return CategoryChoice(None, result, f"not sure ({result.reason}{guess})")
    category = db.session.scalar(select(Category).where(Category.slug == result.category))
    if category is None or not category.is_active:
        return CategoryChoice(
            None, result, f"not sure (the category {result.category} no longer exists)"
        )
    return CategoryChoice(
        category, result, f"suggested: {category.name} (confidence {result.confidence:.2f})"
    )


@dataclass(frozen=True)
class Decision:
    impact: Impact  # as the customer said
    suggestion: CategoryChoice | None  # None: the customer chose the category
    chosen: Category | None
    priority: priority.Decision
    route: routing.Route

    @property
    def category(self) -> Category | None:
        """The category the ticket gets: the customer's, else the suggested one."""
        if self.suggestion is None:
            return self.chosen
        return self.suggestion.category

    @property
    def team(self) -> Team | None:
        """Routing's team, else the category's own (which routing found nobody in)."""
        if self.route.team is not None:
            return self.route.team
        return self.category.team if self.category else None

    @property
    def assignee(self) -> User | None:
        return self.route.agent

    @property
    def priority_worth_an_event(self) -> bool:
        """A rule beyond the plain impact mapping decided (a signal, an admin's own rule).

        "Just me → Normal" on every ticket would only clutter the timeline.
        """
        winner = self.priority.winner
        return (
            winner is None
            or bool(winner.rule.signals)
            or self.priority.priority != priority.by_impact(self.impact)
        )

    @property
    def route_worth_an_event(self) -> bool:
        """No team owns the customer's own category: nothing was decided, nothing to say."""
        return self.route.team is not None or self.suggestion is not None


def decide(
    subject: str,
    description: str,
    impact: Impact,
    chosen: Category | None = None,
    *,
    tier: int = routing.NEW_TICKET_TIER,
    lock: bool = False,
) -> Decision:
    """Categorise (when the customer was not sure), prioritise and route a new ticket.

    `lock` holds routing's team lock until the caller's transaction ends, so
    concurrent filings never both take an agent's last free slot (filing sets it).
    """
    choice = None if chosen is not None else suggest_category(subject, description)
    category = chosen if chosen is not None else choice.category if choice else None
    return Decision(
        impact=impact,
        suggestion=choice,
        chosen=chosen,
        priority=priority.decide(subject, description, impact),
        route=routing.route(category, tier=tier, lock=lock),
    )


def preview(
    subject: str, description: str, impact: Impact, chosen: Category | None = None
) -> Decision:
    """What filing this text would decide, changing nothing (and locking nothing)."""
    return decide(subject, description, impact, chosen)


def suggestion_data(choice: CategoryChoice) -> dict[str, Any]:
    """The CATEGORY_SUGGESTED event's data."""
    return {
        "to": choice.category.slug if choice.category else None,
        "to_name": choice.category.name if choice.category else None,
        "confidence": round(choice.suggestion.confidence, 2),
        "reason": choice.reason,
    }


def priority_data(decision: priority.Decision) -> dict[str, Any]:
    """The PRIORITY_SET event's data."""
    return {
        "to": decision.priority.value,
        "to_name": decision.priority.label,
        "rule": decision.winner.rule.name if decision.winner else None,
        "reason": decision.reason,
    }


def route_data(route: routing.Route) -> dict[str, Any]:
    """The ROUTED event's data (notify reads "to" and "team" to tell the right people)."""
    return {
        "team": route.team.id if route.team else None,
        "team_name": route.team.name if route.team else None,
        "to": route.agent.id if route.agent else None,
        "to_name": route.agent.name if route.agent else None,
        "reason": route.reason,
    }
