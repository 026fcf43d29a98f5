"""Bulk actions on the tickets selected in the queue.

Each ticket is changed on its own, through the ticket service, with the version the
agent saw in the queue: a ticket someone else changed meanwhile is reported, never
overwritten, and one refusal does not stop the rest. A ticket that already is what
the action asks (a second submit of the same form, or a colleague doing the same)
is reported as unchanged rather than as a conflict, so submitting twice is harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from support.extensions import db
from support.models import Priority, Status, Team, Ticket, User
from support.tickets import permissions, refs, service
from support.tickets import tags as tag_names
from support.tickets.service import StaleTicket, TicketError

MAX_SELECTED = 500


class Action(StrEnum):
    ASSIGN = "assign"
    STATUS = "status"
    PRIORITY = "priority"
    TEAM = "team"
    TAG = "tag"
    MERGE = "merge"


class Result(StrEnum):
    DONE = "done"
    UNCHANGED = "unchanged"
    REFUSED = "refused"


@dataclass(frozen=True)
class Outcome:
    ref: str
    subject: str
    result: Result
    message: str


@dataclass(frozen=True)
class Summary:
    what: str  # "Assign to Sam Agent"
    outcomes: list[Outcome]

    def count(self, result: Result) -> int:
        return sum(1 for outcome in self.outcomes if outcome.result == result)

    @property
    def refused(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.result == Result.REFUSED]


@dataclass(frozen=True)
class Change:
    """What to do to each ticket: a test "is it so already?", and the service call."""

    what: str
    already: Callable[[Ticket], bool]
    apply: Callable[[Ticket, User, int | None], object]
    already_says: str = "Already so: nothing to change."


def selection(values: Iterable[str]) -> dict[str, int | None]:
    """The checked boxes ("SUP-7KQ2MX:4", reference and version seen) by reference."""
    chosen: dict[str, int | None] = {}
    for value in values:
        raw_ref, _, raw_version = value.partition(":")
        ref = refs.normalise(raw_ref)
        if ref is not None and len(chosen) < MAX_SELECTED:
            chosen[ref] = (
                int(raw_version)
                if raw_version.isascii() and raw_version.isdigit() and len(raw_version) < 10
                else None
            )
    return chosen


def assign_to(agent: User | None) -> Change:
    agent_id = agent.id if agent else None
    return Change(
        f"Assign to {agent.name}" if agent else "Unassign",
        lambda t: t.assignee_id == agent_id,
        lambda t, actor, seen: service.assign(
            t, actor=actor, assignee=agent, expected_version=seen
        ),
    )


def set_status(status: Status, label: str) -> Change:
    return Change(
        f"Set status to {label}",
        lambda t: t.status == status,
        lambda t, actor, seen: service.change_status(t, status, actor=actor, expected_version=seen),
    )


def set_priority(priority: Priority) -> Change:
    return Change(
        f"Set priority to {priority.label}",
        lambda t: t.priority == priority,
        lambda t, actor, seen: service.update_fields(
            t, actor=actor, priority=priority, expected_version=seen
        ),
    )


def move_to_team(team: Team | None) -> Change:
    team_id = team.id if team else None
    return Change(
        f"Move to {team.name}" if team else "Remove the team",
        lambda t: t.team_id == team_id,
        lambda t, actor, seen: service.update_fields(
            t, actor=actor, team=team, expected_version=seen
        ),
    )


def add_tag(name: str) -> Change:
    """`name` normalised already (tag_names.normalise)."""
    return Change(
        f"Tag “{name}”",
        lambda t: name in (tag.name for tag in t.tags),
        lambda t, actor, seen: service.set_tags(
            t, [tag.name for tag in t.tags] + [name], actor=actor, expected_version=seen
        ),
    )


class NoTarget(ValueError):
    """The ticket to merge into is not among the selected; the message is for the user."""


def merge_target(chosen: dict[str, int | None], typed: str) -> Ticket:
    """The selected ticket the others are merged into: the one typed, else the oldest."""
    if len(chosen) < 2:
        raise NoTarget("Select at least two tickets to merge.")
    wanted = refs.normalise(typed) if typed.strip() else None
    if typed.strip() and wanted not in chosen:
        raise NoTarget(
            f"“{typed.strip()[:40]}” is not one of the selected tickets: merge into one of them."
        )
    query = select(Ticket).where(Ticket.ref.in_([wanted] if wanted else list(chosen)))
    target = db.session.scalars(query.order_by(Ticket.created_at, Ticket.id).limit(1)).first()
    if target is None:
        raise NoTarget("None of the selected tickets exists any more.")
    return target


def merge_into(target: Ticket) -> Change:
    """Merge each selected ticket into `target` (the merge service: same customer only,
    the duplicate closed and its customer told). `target` itself stays as it is."""
    return Change(
        f"Merge into {target.ref}",
        lambda t: t.id == target.id or t.merged_into_id == target.id,
        lambda t, actor, seen: service.merge(t, into=target, actor=actor, expected_version=seen),
        already_says=f"Kept: {target.ref} carries on (or was merged into it before).",
    )


def apply(change: Change, chosen: dict[str, int | None], actor: User) -> Summary:
    """Make `change` to each chosen ticket, one service call (one transaction) each."""
    query = select(Ticket).where(Ticket.ref.in_(list(chosen))).options(selectinload(Ticket.tags))
    found = {ticket.ref: ticket for ticket in db.session.scalars(query)}
    outcomes = []
    with _loaded_once():
        for ref, seen in chosen.items():
            ticket = found.get(ref)
            if ticket is None:
                outcomes.append(Outcome(ref, "", Result.REFUSED, "There is no such ticket."))
                continue
            outcomes.append(_one(change, ticket, seen, actor))
    return Summary(change.what, outcomes)


@contextmanager
def _loaded_once() -> Iterator[None]:
    """Keep what was loaded across the per-ticket commits.

    Each commit would otherwise expire every object in the session: the tickets not
    yet changed, their tags, the actor, the assignee. Each would be read again, one
    statement at a time, and expiring them costs more with every ticket done. Nothing
    is lost: each ticket's UPDATE still carries the version it was read at, so a
    change made by someone else meanwhile is still refused (StaleTicket), and a
    rollback still expires everything.
    """
    session = db.session()
    before = session.expire_on_commit
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = before


def _one(change: Change, ticket: Ticket, seen: int | None, actor: User) -> Outcome:
    ref, subject = ticket.ref, ticket.subject
    if not permissions.can_edit(actor, ticket):
        return Outcome(ref, subject, Result.REFUSED, "You can't change this ticket.")
    if change.already(ticket):
        return Outcome(ref, subject, Result.UNCHANGED, change.already_says)
    try:
        change.apply(ticket, actor, seen)
    except StaleTicket as exc:
        return Outcome(ref, subject, Result.REFUSED, f"Not changed: {exc}")
    except TicketError as exc:
        return Outcome(ref, subject, Result.REFUSED, str(exc))
    return Outcome(ref, subject, Result.DONE, "Done.")


def parse_tag(typed: str) -> str:
    """A tag name as stored; tag_names.BadTag (its message is for the user) when it can't be."""
    return tag_names.normalise(typed)
