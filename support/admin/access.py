"""Who may use the admin area: admins only, one rule for every blueprint on /admin.

Registered per blueprint as a `before_request` guard rather than a decorator per
view, so a page added later is guarded without anyone remembering to.
"""

from __future__ import annotations

from flask import Blueprint, abort, request
from flask_login import current_user, login_required
from flask_login.config import EXEMPT_METHODS


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
