"""`/account`: the signed-in person's own settings, and agents' personal API tokens.

My account has one form per section (profile, email, password, notifications, sessions),
each posted on its own: the whole page without JavaScript (303 back, or the page with
the errors next to the fields), just its section for htmx.

A new token's secret is in exactly one response: the answer to the POST that made it,
marked `no-store`. It never goes into the session, a flash message, a redirect URL or
a log, so a reload shows the list without it.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, request, url_for
from flask_login import current_user, login_required, login_user
from flask_login.config import EXEMPT_METHODS

from support import clock, ratelimit, timezones
from support.account import settings
from support.account.forms import (
    EmailChangeForm,
    PasswordChangeForm,
    ProfileForm,
    TokenForm,
    notifications_form,
)
from support.api import tokens
from support.auth import verify
from support.forms import EmptyForm
from support.models import TokenScope
from support.notify import preferences
from support.web import redirect_after_post, render, wants_fragment

bp = Blueprint("account", __name__, url_prefix="/account")

PAGE = "account/tokens.html"
ACCOUNT_PAGE = "account/index.html"
PRIVACY_PATH = "/account/privacy"  # the privacy pages' entry (export and erasure)
# The one answer to an email change, whether or not the address is free (no enumeration).
EMAIL_SENT = (
    "We've sent a link to {email}. Open it to confirm the change: until then we keep "
    "using your current address."
)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Everything here is the signed-in person's own: anonymous visitors get the login page."""


def agents_only(view: Any) -> Any:
    """Tokens are for agents and admins: customers get 403."""

    @wraps(view)
    def check(*args: Any, **kwargs: Any) -> Any:
        if request.method not in EXEMPT_METHODS and not current_user.is_agent:
            abort(403)
        return view(*args, **kwargs)

    return check


# --- My account ---------------------------------------------------------------------------


def _forms(**given: Any) -> dict[str, Any]:
    """Every section's form: the one posted (with its errors), fresh ones for the rest."""
    user = current_user
    forms: dict[str, Any] = {
        "profile_form": ProfileForm(
            formdata=None, name=user.name, time_zone=timezones.zone_name_for(user), prefix="profile"
        ),
        "email_form": EmailChangeForm(formdata=None, prefix="email"),
        "password_form": PasswordChangeForm(formdata=None, prefix="password"),
        "notifications_form": notifications_form(
            preferences.choices_for(user),
            preferences.opted_out(user),
            formdata=None,
            prefix="notify",
        ),
        "plain_form": EmptyForm(formdata=None),
    }
    forms.update(given)
    return forms


def _account_page(section: str | None = None, *, status: int = 200, **context: Any) -> Response:
    """The page, or for htmx just `section` (its block) with its message or errors."""
    # Each form has its own prefix: field ids stay unique on the page ("email-password").
    context = {
        "message": None,
        "section": section,
        "privacy_url": _privacy_url(),
        **_forms(**context),
    }
    block = section if section and wants_fragment() else None
    return render(ACCOUNT_PAGE, block=block, status=status, **context)


def _privacy_url() -> str | None:
    """Where "Your data" leads (export, erasure), once that page exists."""
    rules = current_app.url_map.iter_rules()
    return PRIVACY_PATH if any(rule.rule == PRIVACY_PATH for rule in rules) else None


def _saved(section: str, message: str) -> Response:
    """Done: htmx gets the section with the message; a plain form goes back to the page."""
    if wants_fragment():
        return _account_page(section, message=message)
    flash(message, "success")
    return redirect_after_post(url_for("account.index") + f"#{section}")


def _sign_in_again() -> None:
    """After ending every session: this browser stays signed in with the new version
    (and keeps its "keep me signed in" if it had one)."""
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
    login_user(current_user._get_current_object(), remember=remembered)


@bp.get("")
def index() -> Response:
    return _account_page()


@bp.post("/profile")
def save_profile() -> Response:
    form = ProfileForm(prefix="profile")
    if not form.validate_on_submit():
        return _account_page("profile", status=422, profile_form=form)
    settings.save_profile(current_user, name=form.name.data, time_zone=form.time_zone.data)
    zone = form.time_zone.data.replace("_", " ")
    return _saved("profile", f"Saved. Times are now shown in {zone} time.")


@bp.post("/email")
@ratelimit.account_emails
def change_email() -> Response:
    form = EmailChangeForm(prefix="email")
    if form.validate_on_submit():
        if not current_user.check_password(form.password.data):
            form.password.errors.append("That isn't your current password.")
        elif form.email.data.lower() == current_user.email:
            form.email.errors.append("That is your current address already.")
        else:
            new_email = form.email.data.lower()
            verify.request_email_change(current_user, new_email)
            return _saved("email", EMAIL_SENT.format(email=new_email))
    return _account_page("email", status=422, email_form=form)


@bp.post("/verify")
@ratelimit.account_emails
def resend_verification() -> Response:
    if current_user.email_verified_at is not None:
        return _saved("email", "Your address is confirmed already: nothing more to do.")
    verify.send_verification(current_user)
    return _saved("email", f"We've sent a new link to {current_user.email}.")


@bp.post("/password")
@ratelimit.account_emails
def change_password() -> Response:
    form = PasswordChangeForm(email=current_user.email, prefix="password")
    if not form.validate_on_submit():
        return _account_page("password", status=422, password_form=form)
    if not settings.change_password(
        current_user, current=form.current.data, new=form.password.data
    ):
        form.current.errors.append("That isn't your current password.")
        return _account_page("password", status=422, password_form=form)
    _sign_in_again()
    return _saved(
        "password",
        "Your password is changed. Everywhere else you were signed in, you're now signed out.",
    )


@bp.post("/notifications")
def save_notifications() -> Response:
    choices = preferences.choices_for(current_user)
    form = notifications_form(choices, preferences.opted_out(current_user), prefix="notify")
    if not form.validate_on_submit():
        return _account_page("notifications", status=422, notifications_form=form)
    settings.save_notifications(
        current_user, {c.kind: bool(form[f"email_{c.kind.value}"].data) for c in choices}
    )
    return _saved(
        "notifications", "Saved. In-app notifications keep coming whatever you choose here."
    )


@bp.post("/sessions")
def sign_out_everywhere() -> Response:
    settings.sign_out_everywhere(current_user)
    _sign_in_again()
    return _saved(
        "sessions", "Done: every other browser and device is signed out. This one stays signed in."
    )


# --- API tokens ---------------------------------------------------------------------------


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
@agents_only
def token_list() -> Response:
    return _page()


@bp.post("/tokens")
@agents_only
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
@agents_only
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
