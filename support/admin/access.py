"""Who may use the admin area: admins only, one rule for every blueprint on /admin.

Registered per blueprint as a `before_request` guard rather than a decorator per
view, so a page added later is guarded without anyone remembering to.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from flask_login import current_user, login_required
from flask_login.config import EXEMPT_METHODS

from support.privacy import audit


@login_required
def _admins_only() -> None:
    """Anonymous visitors get the login page; anyone signed in but not an admin, 403."""
    if request.method in EXEMPT_METHODS:
        # OPTIONS: flask-login lets it through unsigned; Flask answers it (methods, no data).
        return
    if not current_user.is_admin:
        abort(403)


def admins_only(bp: Blueprint) -> Blueprint:
    """Guard every view of `bp` with the admin rule; returns `bp` for `bp = admins_only(...)`."""
    bp.before_request(_admins_only)
    return bp


def audited(bp: Blueprint, area: str) -> Blueprint:
    """Record every successful change made through `bp` in the audit log: a POST that
    ends in a redirect (303, or htmx's 204 + HX-Redirect) or a 200 swap; previews and
    forms sent back with errors (422) are not changes. One rule for the whole area, so a
    settings page added later is audited without anyone remembering to."""

    def _record(response: Response) -> Response:
        if request.method == "POST" and response.status_code in (200, 204, 302, 303):
            if request.form.get("action") == "preview" or "preview" in (request.endpoint or ""):
                return response  # "what would happen" changes nothing
            details = {"page": request.endpoint, **(request.view_args or {})}
            audit.record(
                audit.Action.SETTINGS_CHANGED, current_user, area, details, request.remote_addr
            )
        return response

    bp.after_request(_record)
    return bp
