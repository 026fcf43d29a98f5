"""`/reports` for the support team, and the CSV export of each of its tables.

Views read the filters from the address, ask support.reports.figures for the
numbers and render; an agent counts their team's tickets, an admin everyone's.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, abort, request, stream_with_context, url_for
from flask_login import current_user, login_required

from support import clock
from support.board import panel
from support.board import queries as board
from support.extensions import db
from support.models import Priority, Role, User
from support.models.ticket import Channel
from support.reports import breakdown, figures, tables
from support.reports.filters import BadRange, Grouping, ReportFilters
from support.web import render

bp = Blueprint("reports", __name__, url_prefix="/reports")

PAGE = "reports/index.html"


@bp.before_request
@login_required
def _agents_only() -> None:
    """Reports are the team's: customers get 403, anonymous visitors the login page."""
    if not current_user.is_agent:
        abort(403)


def _choices() -> dict:
    """What the filter form offers: an agent only their own team and its people."""
    teams = panel.teams()
    agents = db.session.query(User).filter(User.role != Role.CUSTOMER, User.is_active)
    if not current_user.is_admin:
        teams = [t for t in teams if t.id == current_user.team_id]
        agents = agents.filter(
            User.team_id == current_user.team_id
            if current_user.team_id is not None
            else User.id == current_user.id
        )
    return {
        "teams": teams,
        "categories": panel.categories(),
        "channels": [(c.value, breakdown.CHANNEL_LABELS[c]) for c in Channel],
        "priorities": list(Priority),
        "agents": agents.order_by(User.name).all(),
        "groupings": list(Grouping),
    }


def shared(filters: ReportFilters, now: datetime) -> list:
    """Team, category and priority as the board filters them (the same conditions)."""
    chosen = board.BoardFilters(
        team=filters.team, category=filters.category, priority=filters.priority
    )
    return board.conditions(chosen, current_user, now)


@bp.get("")
def index() -> Response:
    now = clock.now()
    try:
        filters = ReportFilters.from_args(request.args, now.date())
    except BadRange as error:
        shown = ReportFilters.default(now.date())
        return render(
            PAGE,
            block="report",
            status=400,
            filters=shown,
            error=str(error),
            asked=request.args,
            report=None,
            **_choices(),
        )
    report = figures.build(filters, current_user, now, shared(filters, now))
    return render(
        PAGE,
        block="report",
        filters=filters,
        error=None,
        asked=request.args,
        report=report,
        tables=tables.tables(report),
        charts=tables.chart_set(report),
        formatted=tables.formatted,
        duration=tables.duration,
        export_url=lambda slug: url_for("reports.export", slug=slug, **filters.args()),
        **_choices(),
    )


@bp.get("/export/<slug>.csv")
def export(slug: str) -> Response:
    """A table as CSV with the page's filters; the ticket list streams from the database."""
    if slug not in tables.ALL_SLUGS:
        abort(404)
    now = clock.now()
    try:
        filters = ReportFilters.from_args(request.args, now.date())
    except BadRange as error:
        return Response(f"{error}\n", status=400, mimetype="text/plain")
    if slug == "tickets":
        viewer = current_user._get_current_object()
        lines = tables.tickets_csv(filters, viewer, now, shared(filters, now))
    else:
        report = figures.build(filters, current_user, now, shared(filters, now))
        lines = tables.table_csv(tables.tables(report)[slug])
    response = Response(stream_with_context(lines), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{tables.filename(slug, filters)}"'
    )
    return response
