"""In-app notifications: the unread badge and the list behind it."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from support import clock
from support.extensions import db
from support.forms import EmptyForm
from support.models import Notification, Ticket, User
from support.web import redirect_after_post, render

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def unread_count(user: User) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    )


def mark_read(user: User, ticket: Ticket | None = None) -> None:
    """Mark the user's notifications (for one ticket, or all) as read."""
    query = update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    if ticket is not None:
        query = query.where(Notification.ticket_id == ticket.id)
    if db.session.execute(query.values(read_at=clock.now())).rowcount:
        db.session.commit()


@bp.get("/")
@login_required
def index() -> Response:
    notifications = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == current_user.id)
        .options(joinedload(Notification.ticket))
        .order_by(Notification.id.desc())
        .limit(50)
    ).all()
    return render("notifications/index.html", notifications=notifications, form=EmptyForm())


@bp.post("/read")
@login_required
def read_all() -> Response:
    if EmptyForm().validate_on_submit():
        mark_read(current_user)
    return redirect_after_post(url_for("notifications.index"))


def init_app(app: Flask) -> None:
    @app.context_processor
    def badge() -> dict[str, int]:
        if current_user and current_user.is_authenticated:
            return {"unread_notifications": unread_count(current_user)}
        return {"unread_notifications": 0}
