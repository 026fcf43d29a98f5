"""Knowledge-base insights at /reports/kb: for agents and admins (issue 15).

Thin: parse the date range, call `support.kb.insights` / `gaps` / `drafts`,
render the page, a CSV table or a markdown draft.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, Response, abort, make_response, request
from flask_login import current_user, login_required

from support.kb import drafts, gaps, insights
from support.web import render

bp = Blueprint("kb_insights", __name__, url_prefix="/reports/kb")
PAGE = "kb/insights.html"


@bp.before_request
@login_required
def _agents_only() -> None:
    """Customers get 403, anonymous visitors the login page."""
    if not current_user.is_agent:
        abort(403)


def _range() -> insights.DateRange:
    return insights.parse_range(request.args.get("from"), request.args.get("to"))


def _bad_range(error: insights.RangeError, status: int = 400) -> Response:
    """The page with the error next to its field: 422 for the page's own form (htmx swaps
    it in, as for every form error), 400 for a download asked for with a bad range."""
    values = {"from": request.args.get("from", ""), "to": request.args.get("to", "")}
    return render(PAGE, block="report", status=status, error=error, values=values, period=None)


@bp.get("")
def page() -> Response:
    try:
        period = _range()
    except insights.RangeError as error:
        return _bad_range(error, 422)
    context: dict[str, Any] = {
        "period": period,
        "values": {"from": period.first.isoformat(), "to": period.last.isoformat()},
        "searches": insights.search_summary(period),
        "top": insights.top_searches(period),
        "no_click": insights.top_searches(period, without_click=True),
        "articles": insights.article_table(period),
        "suggested": insights.suggestion_summary(period),
        "suggestions": insights.suggestion_table(period),
        "topics": gaps.find_topics(period),
    }
    return render(PAGE, block="report", **context)


def _percent(share: float | None) -> str:
    return "" if share is None else f"{100 * share:.1f}"


# Each CSV table: a header and its rows, from the same functions as the page.
TABLES: dict[str, tuple[list[str], Callable[[insights.DateRange], Iterable[list[Any]]]]] = {
    "searches": (
        ["query", "searches", "zero_results", "clicked"],
        lambda p: (
            [r.query, r.searches, r.zero_results, r.clicked]
            for r in insights.top_searches(p, limit=1000)
        ),
    ),
    "no-click": (
        ["query", "searches", "zero_results"],
        lambda p: (
            [r.query, r.searches, r.zero_results]
            for r in insights.top_searches(p, without_click=True, limit=1000)
        ),
    ),
    "articles": (
        ["slug", "title", "views", "helpful", "not_helpful", "helpful_percent"],
        lambda p: (
            [r.slug, r.title, r.views, r.helpful, r.not_helpful, _percent(r.helpful_share)]
            for r in insights.article_table(p)
        ),
    ),
    "suggestions": (
        ["slug", "title", "suggested_in_forms", "filed_anyway", "deflections"],
        lambda p: (
            [r.slug, r.title, r.shown, r.filed_anyway, r.deflections]
            for r in insights.suggestion_table(p)
        ),
    ),
    "gaps": (
        ["topic", "tickets", "saw_suggestions", "no_suggestion", "closest_article", "example_refs"],
        lambda p: (
            [
                t.label,
                len(t.tickets),
                t.saw_suggestions,
                t.no_suggestion,
                t.closest.slug if t.closest else "",
                " ".join(x.ref for x in t.examples),
            ]
            for t in gaps.find_topics(p, limit=50)
        ),
    ),
}


def _csv_safe(value: Any) -> Any:
    # A cell starting with = + - @ is a formula to a spreadsheet: customers typed these.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


@bp.get("/export/<table>.csv")
def export(table: str) -> Response:
    if table not in TABLES:
        abort(404, description=f"There is no table “{table}”. Use one of: {', '.join(TABLES)}.")
    try:
        period = _range()
    except insights.RangeError as error:
        return _bad_range(error)
    header, rows = TABLES[table]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([_csv_safe(v) for v in row] for row in rows(period))
    response = make_response(out.getvalue())
    response.mimetype = "text/csv"
    name = f"kb-{table}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/draft")
def draft() -> Response:
    """A markdown draft for one content gap, as a download (nothing is written here)."""
    try:
        period = _range()
    except insights.RangeError as error:
        return _bad_range(error)
    key = request.args.get("topic", "")[:200]
    topic = gaps.topic_for(period, key) if key.strip() else None
    if topic is None:
        abort(
            404,
            description="That topic is not among this range's content gaps: "
            "go back to the report and choose “Draft an article” again.",
        )
    response = make_response(drafts.draft_markdown(topic))
    response.mimetype = "text/markdown"
    name = f"{drafts.slug_for(topic)}.md"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
