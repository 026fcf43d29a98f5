"""A user's in-app notifications: how many are unread, and marking them read.

Plain functions, not views: the notifications page, the badge on every page and
the portal's ticket page (opening a ticket reads its news) all use them.
"""

from __future__ import annotations

from flask import g
from sqlalchemy import func, select, update

from support import clock
from support.extensions import db
from support.models import Notification, Ticket, User


def unread_count(user: User) -> int:
    """The number on the badge."""
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    )


# g key under which a page keeps its badge's count (support/notify/views.py): marking
# notifications read drops it, so a page rendered afterwards counts again.
BADGE = "unread_badge"


def mark_read(user: User, ticket: Ticket | None = None) -> None:
    """Mark the user's notifications (for one ticket, or all) as read."""
    query = update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    if ticket is not None:
        query = query.where(Notification.ticket_id == ticket.id)
    if db.session.execute(query.values(read_at=clock.now())).rowcount:
        db.session.commit()
    g.pop(BADGE, None)
