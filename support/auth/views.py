"""Register, log in, log out, and set a new password from a "forgot password" link."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, flash, g, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from support import ratelimit
from support.auth import accounts, reset
from support.auth.forms import ForgotPasswordForm, LoginForm, NewPasswordForm, RegistrationForm
from support.extensions import db, login_manager
from support.models import User
from support.privacy import audit
from support.web import redirect_after_post, render

bp = Blueprint("auth", __name__)
# Pages reached by a reset link: no cache keeps them (or the link) after use.
NO_STORE = {"Cache-Control": "no-store"}

login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to continue."
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The user a session or remember cookie names, if its version is still current."""
    user_id, _, version = session_id.partition(".")
    if not (user_id.isascii() and user_id.isdigit() and version.isascii() and version.isdigit()):
        return None  # also a cookie from before versions: signed in again, once
    if len(user_id) > 12 or len(version) > 12:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active or user.session_version != int(version):
        return None
    return user


def _new_csrf_token() -> None:
    """Forms rendered before someone signs in or out stop working afterwards."""
    field = current_app.config["WTF_CSRF_FIELD_NAME"]
    session.pop(field, None)
    g.pop(field, None)


def _safe_next(default: str) -> str:
    """Only same-site paths: `next` must never send people to another site."""
    target = request.args.get("next", "")
    parts = urlsplit(target)
    # Browsers treat a backslash as a slash (/\evil.com is //evil.com) and drop tabs.
    if (
        target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()
        and not parts.netloc
    ):
        return target
    return default


def home_for(user: User) -> str:
    return url_for("board.index" if user.is_agent else "portal.my_tickets")


@bp.route("/register", methods=["GET", "POST"])
@ratelimit.registration
def register() -> Response:
    if current_user.is_authenticated:
        return redirect_after_post(home_for(current_user))
    form = RegistrationForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                email=form.email.data, name=form.name.data, password=form.password.data
            )
        except accounts.EmailTaken:
            form.email.errors.append(
                "An account with this email already exists. Log in instead, or use another address."
            )
        else:
            login_user(user)
            _new_csrf_token()
            flash(f"Welcome, {user.first_name}! Your account is ready.", "success")
            return redirect_after_post(_safe_next(home_for(user)))
    status = 422 if form.errors else 200
    return render("auth/register.html", block="form", status=status, form=form)


@bp.route("/login", methods=["GET", "POST"])
@ratelimit.login_per_address
@ratelimit.login_per_address_and_email
def login() -> Response:
    if current_user.is_authenticated:
        return redirect_after_post(_safe_next(home_for(current_user)))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        _audit_sign_in(user, form.email.data)
        if user:
            login_user(user, remember=form.remember.data)
            _new_csrf_token()
            return redirect_after_post(_safe_next(home_for(user)))
        error = "That email and password don't match an account. Check both and try again."
    status = 422 if form.errors or error else 200
    return render("auth/login.html", block="form", status=status, form=form, error=error)


def _audit_sign_in(user: User | None, email: str) -> None:
    """Both outcomes go to the audit log. A failure names the account when there is one,
    else a keyed fingerprint of the address tried (the log holds no email addresses)."""
    if user is not None:
        audit.record(audit.Action.SIGN_IN, user, user, address=request.remote_addr)
        return
    known = accounts.find_by_email(email)
    details = None if known else {"email_fingerprint": audit.email_fingerprint(email)}
    audit.record(audit.Action.SIGN_IN_FAILED, None, known, details, request.remote_addr)


@bp.route("/logout", methods=["GET", "POST"])
@login_required
def logout() -> Response:
    if request.method == "GET":  # a link can't log anyone out: ask, then POST
        return render("auth/logout.html")
    # A session or remember cookie copied before now must not outlive the logout.
    current_user.end_sessions()
    db.session.commit()
    logout_user()
    _new_csrf_token()
    flash("You are logged out.", "info")
    return redirect_after_post(url_for("main.index"))


@bp.route("/password/reset", methods=["GET", "POST"])
@ratelimit.reset_per_address
@ratelimit.reset_per_address_and_email
def forgot_password() -> Response:
    """The same answer for every well-formed address, account or not (no enumeration)."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        reset.ask_for_link(form.email.data)
        return redirect_after_post(url_for("auth.forgot_password", sent=1))
    sent = request.method == "GET" and request.args.get("sent") == "1"
    status = 422 if form.errors else 200
    return render("auth/forgot_password.html", block="form", status=status, form=form, sent=sent)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response:
    try:
        user = reset.user_for(token)
    except reset.ExpiredLink:
        return _bad_link(token, expired=True)
    except reset.InvalidLink:
        return _bad_link(token, expired=False)
    form = NewPasswordForm(email=user.email)
    if form.validate_on_submit():
        reset.set_new_password(user, form.password.data)
        # A fresh session on this browser; every other one ended with the old version.
        logout_user()
        session.clear()
        login_user(user)
        _new_csrf_token()
        flash(
            "Your password is changed and you're signed in. "
            "Everywhere else you were signed in, you're now signed out.",
            "success",
        )
        return redirect_after_post(home_for(user))
    status = 422 if form.errors else 200
    return render(
        "auth/reset_password.html",
        block="form",
        status=status,
        headers=NO_STORE,
        form=form,
        user=user,
    )


def _bad_link(token: str, *, expired: bool) -> Response:
    """An expired link says so; any other (tampered, made up, used) is "not valid". A
    form posted from a page whose link has since stopped working goes to that page."""
    if request.method == "POST":
        return redirect_after_post(url_for("auth.reset_password", token=token))
    return render(
        "auth/reset_link_problem.html",
        status=410 if expired else 404,
        headers=NO_STORE,
        expired=expired,
    )
