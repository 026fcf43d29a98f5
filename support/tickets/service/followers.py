"""People who follow a ticket by email (copied on it): they hear of its public updates,
and their emailed replies land on it. Customers only: agents see every ticket anyway."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from support import clock
from support.extensions import db
from support.models import Ticket, TicketFollower, User
from support.tickets.service.change import TicketChange


def follower_ids(ticket: Ticket) -> set[int]:
    query = select(TicketFollower.user_id).where(TicketFollower.ticket_id == ticket.id)
    return set(db.session.scalars(query))


def is_follower(ticket: Ticket, user: User) -> bool:
    return user.id in follower_ids(ticket)


def add_followers(ticket: Ticket, people: Iterable[User]) -> list[User]:
    """Make `people` followers (the customer, agents and those following already are
    skipped); returns who was added."""
    following = follower_ids(ticket) | {ticket.customer_id}
    added = [p for p in dict.fromkeys(people) if not p.is_agent and p.id not in following]
    if not added:
        return []
    with TicketChange(ticket, None):
        for person in added:
            db.session.add(TicketFollower(ticket=ticket, user=person, created_at=clock.now()))
    return added
