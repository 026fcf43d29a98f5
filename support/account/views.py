"""`/account/tokens`: agents and admins make and revoke their personal API tokens.

A new token's secret is in exactly one response: the answer to the POST that made it,
marked `no-store`. It never goes into the session, a flash message, a redirect URL or
a log, so a reload shows the list without it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, request, url_for
from flask_login import current_user, login_required
from flask_login.config import EXEMPT_METHODS

from support import clock
from support.account.forms import TokenForm
from support.api import tokens
from support.forms import EmptyForm
from support.models import TokenScope
from support.web import redirect_after_post, render, wants_fragment

bp = Blueprint("account", __name__, url_prefix="/account")

PAGE = "account/tokens.html"


@bp.before_request
@login_required
def _agents_only() -> None:
    """Tokens are for agents and admins: customers get 403, anonymous visitors the login page."""
    if request.method in EXEMPT_METHODS:
        return  # OPTIONS: Flask answers it (methods, no data)
    if not current_user.is_agent:
        abort(403)


def _page(
    form: TokenForm | None = None,
    *,
    status: int = 200,
    created: tokens.NewToken | None = None,
    message: str | None = None,
) -> Response:
    now = clock.now()
    context: dict[str, Any] = {
        "form": form or TokenForm(formdata=None),
        "revoke_form": EmptyForm(formdata=None),
        "rows": [(t, tokens.status_of(t, now)) for t in tokens.tokens_of(current_user)],
        "created": created,
        "message": message,
        "api_docs_url": url_for("api.docs"),
        "name_max": tokens.NAME_MAX,
    }
    response = render(PAGE, block="tokens", status=status, **context)
    if created is not None:
        # The one response that carries the secret: no cache may keep it.
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/tokens")
def token_list() -> Response:
    return _page()


@bp.post("/tokens")
def create_token() -> Response:
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, status=422)
    created = tokens.create(
        current_user,
        name=form.name.data,
        scope=TokenScope(form.scope.data),
        expires_at=form.expires_at(clock.now()),
        address=request.remote_addr,
    )
    # Answered directly, not redirected: the secret must not travel through a URL or session.
    return _page(created=created)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int) -> Response:
    token = tokens.token_of(current_user, token_id)
    if token is None:
        abort(404)
    # CSRFProtect has checked the form's token before this view runs.
    tokens.revoke(token, by=current_user, address=request.remote_addr)
    message = f"“{token.name}” is revoked: requests that send it are refused from now on."
    if wants_fragment():
        return _page(message=message)
    flash(message, "success")
    return redirect_after_post(url_for("account.token_list"))
