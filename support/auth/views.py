"""Register, log in, log out, and set a new password from a "forgot password" link."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, flash, g, request, session, url_for
from flask_limiter import RateLimitExceeded
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from support import ratelimit
from support.auth import accounts, links, reset, verify
from support.auth.forms import ForgotPasswordForm, LoginForm, NewPasswordForm, RegistrationForm
from support.extensions import db, login_manager
from support.forms import EmptyForm
from support.models import User
from support.notify import inbox
from support.privacy import audit
from support.web import redirect_after_post, render, wants_fragment

bp = Blueprint("auth", __name__)
# Pages reached by a reset link: no cache keeps them (or the link) after use.
NO_STORE = {"Cache-Control": "no-store"}

login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to continue."
login_manager.login_message_category = "info"


def _page_shows_badge() -> bool:
    """Whether this request will most likely render a whole page, hence the bell: a GET
    that is not an htmx swap. A wrong guess costs a count, never a wrong number."""
    return request.method == "GET" and not wants_fragment()


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The user a session or remember cookie names, if its version is still current."""
    user_id, _, version = session_id.partition(".")
    if not (user_id.isascii() and user_id.isdigit() and version.isascii() and version.isdigit()):
        return None  # also a cookie from before versions: signed in again, once
    if len(user_id) > 12 or len(version) > 12:
        return None
    count = None
    if _page_shows_badge():
        # The bell's count read with the user: one statement fewer on every page.
        row = db.session.execute(
            select(User, inbox.unread_count_of(User.id)).where(User.id == int(user_id))
        ).one_or_none()
        user, count = row if row is not None else (None, None)
    else:
        user = db.session.get(User, int(user_id))
    if user is None or not user.is_active or user.session_version != int(version):
        return None
    if count is not None:
        inbox.keep_badge(user, count)
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
    """The same answer for a new address and one that has an account (no enumeration):
    "check your email". The new account gets a link to confirm it; the owner of an
    existing one gets a notice. Nobody is signed in here: the link does that."""
    if current_user.is_authenticated:
        return redirect_after_post(home_for(current_user))
    form = RegistrationForm()
    if form.validate_on_submit():
        verify.register(email=form.email.data, name=form.name.data, password=form.password.data)
        return redirect_after_post(url_for("auth.register", sent=1))
    sent = request.method == "GET" and request.args.get("sent") == "1"
    status = 422 if form.errors else 200
    return render("auth/register.html", block="form", status=status, form=form, sent=sent)


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


@bp.errorhandler(RateLimitExceeded)
def sign_ins_refused(error: RateLimitExceeded) -> Response:
    """Refused sign-ins are audited too, once per key and window: the failures before
    the limit are in the log, and so is the fact that someone kept going."""
    if request.endpoint == "auth.login" and ratelimit.first_refusal_in_window():
        email = request.form.get("email") or ""
        known = accounts.find_by_email(email) if email else None
        details: dict[str, str] = {"limit": ratelimit.refused_scope(error)}
        if email and known is None:
            details["email_fingerprint"] = audit.email_fingerprint(email)
        audit.record(audit.Action.SIGN_IN_THROTTLED, None, known, details, request.remote_addr)
    return ratelimit.refusal(error)


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
    except links.InvalidLink as problem:
        return _bad_link(token, "auth.reset_password", problem)
    form = NewPasswordForm(email=user.email)
    if form.validate_on_submit():
        reset.set_new_password(user, form.password.data)
        _sign_in_afresh(user)
        flash(
            "Your password is changed and you're signed in. "
            "Everywhere else you were signed in, you're now signed out.",
            "success",
        )
        return redirect_after_post(home_for(user))
    return _new_password_page("auth/reset_password.html", form, user)


@bp.route("/welcome/<token>", methods=["GET", "POST"])
def claim_account(token: str) -> Response:
    """An account made for someone (by email, an agent, the API): they choose a password."""
    try:
        user = verify.CLAIM.load(token)[0]
    except links.InvalidLink as problem:
        return _bad_link(token, "auth.claim_account", problem)
    form = NewPasswordForm(email=user.email)
    if form.validate_on_submit():
        verify.claim(user, form.password.data)
        _sign_in_afresh(user)
        flash(f"Welcome, {user.first_name}! Your account is ready.", "success")
        return redirect_after_post(home_for(user))
    return _new_password_page("auth/claim_account.html", form, user)


@bp.get("/email/verify/<token>")
def verify_email(token: str) -> Response:
    """The link from the welcome email: the address is proven, and whoever holds it is
    signed in (unless someone else is signed in on this browser: they stay)."""
    try:
        user = verify.verify(token)
    except links.InvalidLink as problem:
        return _bad_link(token, "auth.verify_email", problem)
    if not current_user.is_authenticated:
        login_user(user)
        _new_csrf_token()
    flash("Thank you: your email address is confirmed.", "success")
    return redirect_after_post(home_for(current_user))


@bp.route("/email/change/<token>", methods=["GET", "POST"])
def confirm_email_change(token: str) -> Response:
    """The link sent to a new address: a page that asks, then a POST that changes (so a
    mail scanner that opens links changes nothing)."""
    try:
        user, new_email = verify.email_change_for(token)
    except links.InvalidLink as problem:
        return _bad_link(token, "auth.confirm_email_change", problem)
    form = EmptyForm()
    error = None
    if form.validate_on_submit():
        try:
            verify.change_email(user, new_email)
        except accounts.EmailTaken:
            error = "Another account uses that address now, so we can't move yours to it."
        else:
            flash(f"Done: your account's email address is now {new_email}.", "success")
            signed_in = current_user.is_authenticated and current_user.id == user.id
            return redirect_after_post(url_for("account.index" if signed_in else "auth.login"))
    return render(
        "auth/confirm_email_change.html",
        status=409 if error else 200,
        headers=NO_STORE,
        form=form,
        user=user,
        new_email=new_email,
        error=error,
    )


def _sign_in_afresh(user: User) -> None:
    """A fresh session on this browser; every other one ended with the old version."""
    logout_user()
    session.clear()
    login_user(user)
    _new_csrf_token()


def _new_password_page(template: str, form: NewPasswordForm, user: User) -> Response:
    status = 422 if form.errors else 200
    return render(template, block="form", status=status, headers=NO_STORE, form=form, user=user)


# What each kind of link is for, in the words of its error page.
_LINKS = {
    "auth.reset_password": ("choose a new password", "auth.forgot_password", "Ask for a new link"),
    "auth.claim_account": ("choose a password", "auth.forgot_password", "Ask for a new link"),
    "auth.verify_email": ("confirm your address", "account.index", "Send a new link"),
    "auth.confirm_email_change": ("change your address", "account.index", "Go to My account"),
}


def _bad_link(token: str, endpoint: str, problem: links.InvalidLink) -> Response:
    """An expired link says so, a used one says so; any other (tampered, made up) is "not
    valid". A form posted from a page whose link has since stopped working goes to that page."""
    if request.method == "POST":
        return redirect_after_post(url_for(endpoint, token=token))
    purpose, again_endpoint, again_label = _LINKS[endpoint]
    expired = isinstance(problem, links.ExpiredLink)
    used = isinstance(problem, links.UsedLink)
    return render(
        "auth/link_problem.html",
        status=410 if expired or used else 404,
        headers=NO_STORE,
        expired=expired,
        used=used,
        purpose=purpose,
        reset=endpoint == "auth.reset_password",
        again_url=url_for(again_endpoint),
        again_label=again_label,
    )
