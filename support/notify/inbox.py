"""A user's in-app notifications: how many are unread, and marking them read.

Plain functions, not views: the notifications page, the badge on every page and
the ticket pages (opening a ticket reads its news) all use them.
"""

from __future__ import annotations

from flask import g, has_request_context, request
from sqlalchemy import ColumnElement, func, select, update

from support import clock
from support.extensions import db
from support.models import Notification, Ticket, User

# g key under which a request keeps its badge's count: (the request, the count). Tests
# and benches send many requests inside one app context, so `g` alone would outlive one.
_BADGE = "unread_badge"


def _unread(user: User) -> ColumnElement[bool]:
    return (Notification.user_id == user.id) & Notification.read_at.is_(None)


def unread_count(user: User) -> int:
    """The number on the badge."""
    return db.session.scalar(select(func.count(Notification.id)).where(_unread(user)))


def badge(user: User) -> int:
    """`unread_count`, once per request (base.html's bell and the notifications page's
    button both show it), unless this request has already worked it out."""
    kept = g.get(_BADGE)
    if kept is None or kept[0] is not request._get_current_object():  # type: ignore[attr-defined]
        _keep(unread_count(user))
        kept = g.get(_BADGE)
    return kept[1]


def _keep(count: int | None) -> None:
    """Remember this request's badge (None: forget it, it is out of date)."""
    if not has_request_context():
        return
    if count is None:
        g.pop(_BADGE, None)
    else:
        setattr(g, _BADGE, (request._get_current_object(), count))  # type: ignore[attr-defined]


def mark_read(user: User, ticket: Ticket | None = None) -> None:
    """Mark the user's notifications (for one ticket, or all) as read."""
    query = update(Notification).where(_unread(user))
    if ticket is not None:
        query = query.where(Notification.ticket_id == ticket.id)
    if db.session.execute(query.values(read_at=clock.now())).rowcount:
        db.session.commit()
    _keep(None)


def read_ticket_news(user: User, ticket: Ticket) -> None:
    """Opening a ticket reads its news. One query counts both the user's unread
    notifications and this ticket's: without news here (most page views) nothing is
    written, and the count is the badge this request shows."""
    unread, here = db.session.execute(
        select(
            func.count(Notification.id),
            func.count(Notification.id).filter(Notification.ticket_id == ticket.id),
        ).where(_unread(user))
    ).one()
    if here:
        mark_read(user, ticket)
    else:
        _keep(unread)
