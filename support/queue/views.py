"""The queue (`/queue`): views parse the request, call queue/ and the ticket service, render.

The page and its htmx fragment (`results`: the table, the pager, the bulk bar and
a bulk action's summary) come from one template; every control is a plain link or
form too, so the queue works without JavaScript.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, request, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from support import clock, settings_cache
from support.board import panel
from support.board.cards import card_for
from support.extensions import db
from support.forms import EmptyForm
from support.models import Priority, SavedView, Status
from support.queue import bulk, queries, saved
from support.queue.forms import BulkForm, SaveViewForm
from support.tickets import sla
from support.tickets import tags as tag_names
from support.web import redirect_after_post, render

bp = Blueprint("queue", __name__, url_prefix="/queue")

PAGE = "queue/index.html"


@bp.before_request
@login_required
def _agents_only() -> None:
    """The queue is the team's: customers get 403, anonymous visitors the login page."""
    if not current_user.is_agent:
        abort(403)


def _context(filters: queries.QueueFilters, **extra: Any) -> dict[str, Any]:
    now = clock.now()
    page = queries.load(filters, current_user, now)
    targets = sla.all_targets()  # once for the page's countdowns
    return {
        "filters": filters,
        "page": page,
        # The due column's countdown, as on the board's cards.
        "cards": {ticket.id: card_for(ticket, now, targets=targets) for ticket in page.tickets},
        "sorts": queries.SORTS,
        "teams": settings_cache.teams(),
        "categories": settings_cache.active_categories(),
        "agents": panel.agents(),
        "priorities": list(Priority),
        "statuses": list(Status),
        "status_labels": panel.STATUS_LABELS,
        "presets": saved.PRESETS,
        "tag_options": tag_names.in_use(),
        "views": saved.visible(current_user),
        "here": saved.query_string(filters.args(page=filters.page)),
        "bulk_form": extra.pop("bulk_form", None) or BulkForm(),
        "save_form": extra.pop("save_form", None) or SaveViewForm(),
        "summary": None,
        **extra,
    }


def _filters_from(args: MultiDict[str, str]) -> queries.QueueFilters:
    return queries.QueueFilters.from_args(args)


@bp.get("")
def index() -> Response:
    filters = _filters_from(request.args)
    return render(PAGE, block="results", **_context(filters))


@bp.post("/bulk")
def bulk_action() -> Response:
    """Change the selected tickets; answer with the queue and what happened to each."""
    filters = _filters_from(request.args)
    form = BulkForm()
    chosen = bulk.selection(request.form.getlist("ticket"))
    change = _change_from(form, chosen) if form.validate_on_submit() else None
    if not chosen:
        form.form_errors.append("Select at least one ticket first.")
    if change is None or not chosen:
        db.session.rollback()
        return render(PAGE, block="results", status=422, **_context(filters, bulk_form=form))
    summary = bulk.apply(change, chosen, current_user)
    db.session.expire_all()  # the table shows the tickets as they are now
    return render(PAGE, block="results", **_context(filters, summary=summary))


def _change_from(form: BulkForm, chosen: dict[str, int | None]) -> bulk.Change | None:
    """The chosen action and value as a Change, or None with the error on the form."""
    action, value = form.action.data, (form.value_for(form.action.data) or "").strip()
    if action == bulk.Action.ASSIGN:
        if not value:
            return bulk.assign_to(None)
        agent = next((a for a in panel.agents() if str(a.id) == value), None)
        if agent:
            return bulk.assign_to(agent)
        form.assignee.errors = ["Choose an active agent."]
    elif action == bulk.Action.STATUS:
        if value in Status._value2member_map_:
            status = Status(value)
            return bulk.set_status(status, panel.STATUS_LABELS[status])
        form.status.errors = ["Choose a status."]
    elif action == bulk.Action.PRIORITY:
        if value in Priority._value2member_map_:
            return bulk.set_priority(Priority(value))
        form.priority.errors = ["Choose a priority."]
    elif action == bulk.Action.TEAM:
        if not value:
            return bulk.move_to_team(None)
        team = next((t for t in panel.teams() if str(t.id) == value), None)
        if team:
            return bulk.move_to_team(team)
        form.team.errors = ["Choose a team."]
    elif action == bulk.Action.TAG:
        try:
            return bulk.add_tag(bulk.parse_tag(value))
        except tag_names.BadTag as exc:
            form.tag.errors = [str(exc)]
    elif action == bulk.Action.MERGE and chosen:
        try:
            return bulk.merge_into(bulk.merge_target(chosen, value))
        except bulk.NoTarget as exc:
            form.into.errors = [str(exc)]
    return None


# --- saved views ----------------------------------------------------------------------------


@bp.post("/views")
def save_view() -> Response:
    """Save the queue as shown (its filters and order, not its page) under a name."""
    filters = _filters_from(request.args)
    form = SaveViewForm()
    if form.validate_on_submit():
        try:
            view = saved.save(current_user, form.name.data, filters.args(), shared=form.shared.data)
        except saved.ViewError as exc:
            form.name.errors = [str(exc)]
        else:
            flash(f"Saved the view “{view.name}”.", "success")
            return redirect_after_post(f"{url_for('queue.index')}?{view.query}")
    db.session.rollback()
    return render(PAGE, status=422, **_context(filters, save_form=form, open_save=True))


@bp.post("/views/<int:view_id>/delete")
def delete_view(view_id: int) -> Response:
    view = db.session.get(SavedView, view_id)
    if view is None or not (view.owner_id == current_user.id or view.is_shared):
        abort(404)
    if not saved.can_remove(current_user, view):
        abort(403)
    if not EmptyForm().validate_on_submit():
        abort(400)
    name = view.name
    saved.remove(view)
    flash(f"Removed the view “{name}”.", "success")
    return redirect_after_post(url_for("queue.index"))
