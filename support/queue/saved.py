"""Saved views of the queue: the built-in ones, each agent's own and the shared ones."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import or_, select

from support.extensions import db
from support.models import SavedView, User

NAME_MAX = 60
PER_AGENT_MAX = 50


@dataclass(frozen=True)
class Preset:
    """A view every agent has, defined here rather than stored."""

    name: str
    query: str


PRESETS = [
    Preset("My open", "mine=1"),
    Preset("Unassigned", "unassigned=1"),
    Preset("Due within 2 hours", "due=2&sort=due"),
    # Keys in sorted order, as query_string() writes them (the current view is highlighted).
    Preset("Waiting on customer for 3+ days", "idle=3&sort=updated&status=pending"),
]


class ViewError(ValueError):
    """A view that can't be saved; the message is for the user."""


def visible(viewer: User) -> list[SavedView]:
    """The viewer's own views and everyone's shared ones, by name (one query)."""
    query = (
        select(SavedView)
        .where(or_(SavedView.owner_id == viewer.id, SavedView.is_shared.is_(True)))
        .order_by(SavedView.name, SavedView.id)
    )
    return list(db.session.scalars(query))


def query_string(args: dict[str, object]) -> str:
    return urlencode(sorted(args.items()))


def save(owner: User, name: str, args: dict[str, object], *, shared: bool) -> SavedView:
    """Save (or overwrite, by name) one of `owner`'s views."""
    name = " ".join((name or "").split())
    if not name:
        raise ViewError("Give the view a name.")
    if len(name) > NAME_MAX:
        raise ViewError(f"A view's name can be at most {NAME_MAX} characters.")
    view = db.session.scalar(
        select(SavedView).where(SavedView.owner_id == owner.id, SavedView.name == name)
    )
    if view is None:
        count = db.session.query(SavedView).filter(SavedView.owner_id == owner.id).count()
        if count >= PER_AGENT_MAX:
            raise ViewError(f"You have {PER_AGENT_MAX} views already: remove one first.")
        view = SavedView(owner_id=owner.id, name=name, query="")
        db.session.add(view)
    view.query = query_string(args)
    view.is_shared = shared
    db.session.commit()
    return view


def can_remove(viewer: User, view: SavedView) -> bool:
    return view.owner_id == viewer.id or viewer.is_admin


def remove(view: SavedView) -> None:
    db.session.delete(view)
    db.session.commit()
