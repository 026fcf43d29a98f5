"""In-app notifications: the unread badge and the list behind it (the queries: inbox.py)."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from support.extensions import db
from support.forms import EmptyForm
from support.models import Notification
from support.notify import inbox
from support.params import plain_int
from support.web import redirect_after_post, render

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


PAGE_SIZE = 50


@bp.get("/")
@login_required
def index() -> Response:
    """The newest 50, then "Older notifications" pages back (by id: stable while new ones
    arrive)."""
    before = plain_int(request.args.get("before"))
    query = (
        select(Notification)
        .where(Notification.user_id == current_user.id)
        .options(joinedload(Notification.ticket))
        .order_by(Notification.id.desc())
        .limit(PAGE_SIZE + 1)
    )
    if before is not None:
        query = query.where(Notification.id < before)
    found = db.session.scalars(query).all()
    shown = found[:PAGE_SIZE]
    older = shown[-1].id if len(found) > PAGE_SIZE else None
    return render(
        "notifications/index.html",
        notifications=shown,
        older=older,
        paged=before is not None,
        form=EmptyForm(),
    )


@bp.post("/read")
@login_required
def read_all() -> Response:
    if EmptyForm().validate_on_submit():
        inbox.mark_read(current_user)
    return redirect_after_post(url_for("notifications.index"))


def _unread_notifications() -> int:
    """The bell's number, a function templates call: counted when a page shows it, not
    for every template rendered (emails, htmx fragments)."""
    if current_user and current_user.is_authenticated:
        return inbox.badge(current_user)
    return 0


def init_app(app: Flask) -> None:
    app.jinja_env.globals["unread_notifications"] = _unread_notifications
