"""Who may see and do what with tickets: the one place these rules live.

A customer who asks for someone else's ticket gets the same answer as for a
ticket that does not exist (404), so references cannot be confirmed by probing.
"""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm.interfaces import ORMOption

from support.extensions import db
from support.models import Attachment, Role, Ticket, TicketEvent, TicketFollower, User
from support.tickets import refs


def assignable_agents() -> list[User]:
    """Everyone a ticket may be given to: active agents and admins, by name."""
    query = (
        select(User)
        .where(User.role.in_((Role.AGENT, Role.ADMIN)), User.is_active.is_(True))
        .order_by(User.name)
    )
    return list(db.session.scalars(query))


def can_view(user: User, ticket: Ticket) -> bool:
    return user.is_agent or ticket.customer_id == user.id or follows(user, ticket)


def follows(user: User, ticket: Ticket) -> bool:
    """Copied on the ticket by email: they read its public conversation (and reply by
    email), but the actions on it stay the customer's."""
    query = select(TicketFollower.id).where(
        TicketFollower.ticket_id == ticket.id, TicketFollower.user_id == user.id
    )
    return db.session.scalar(query) is not None


def can_edit(user: User, ticket: Ticket) -> bool:
    """Change a ticket's status, fields or assignee: the support team's work."""
    return user.is_agent


def sees_internal(user: User) -> bool:
    """Internal notes and SLA warnings are for the support team only."""
    return user.is_agent


def can_read_attachment(user: User, attachment: Attachment) -> bool:
    """For someone who may see the ticket: a file on an internal note is the team's."""
    return attachment.event is None or attachment.event.is_public or sees_internal(user)


def is_owner(user: User, ticket: Ticket) -> bool:
    return ticket.customer_id == user.id


def visible_tickets(user: User) -> Select[tuple[Ticket]]:
    """The tickets `user` may see, as a query to refine."""
    query = select(Ticket)
    if not user.is_agent:
        followed = select(TicketFollower.ticket_id).where(TicketFollower.user_id == user.id)
        query = query.where(or_(Ticket.customer_id == user.id, Ticket.id.in_(followed)))
    return query


def visible_events(user: User, query: Select[tuple[TicketEvent]]) -> Select[tuple[TicketEvent]]:
    """Restrict an event query to what `user` may read."""
    return query if sees_internal(user) else query.where(TicketEvent.is_public.is_(True))


def find_visible_ticket(user: User, raw_ref: str, *options: ORMOption) -> Ticket | None:
    """The ticket with this reference if `user` may see it, else None; `options` load
    what the caller will show with it in the same statement (`joinedload(...)`)."""
    ref = refs.normalise(raw_ref)
    if ref is None:
        return None
    return db.session.scalar(visible_tickets(user).where(Ticket.ref == ref).options(*options))
