"""Rate limits (Flask-Limiter) on login, password resets, registration, ticket filing and search.

Counts live in Redis (`REDIS_URL`), so every web process shares them. If Redis is
unreachable the limiter fails open: requests go through and a warning is logged.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import current_user
from redis.exceptions import RedisError

from support.jobs.redis import connection

log = logging.getLogger(__name__)

limiter = Limiter(
    key_func=get_remote_address,
    # No X-RateLimit-* headers on answers under a limit: working out "remaining" and
    # "reset" is a second Redis round trip on every limited request (the count itself
    # is the first), for headers no page reads. A refusal still says when to come back
    # (Retry-After, from the 429 handlers below and in support/api/blueprint.py).
    headers_enabled=False,
    swallow_errors=True,  # Redis down: let the request through rather than fail it
    key_prefix="support-desk",
    strategy="moving-window",
)


def storage_uri(redis_url: str) -> str:
    """limits' name for a Redis URL (the embedded Redis listens on a unix socket)."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url.removeprefix("unix://")
    return redis_url


def _configured(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


def login_address_and_email() -> str:
    """Never the email alone: a limit anyone can hit for someone else's address would
    lock its owner out (wrong passwords from ten addresses, then the right one refused)."""
    email = (request.form.get("email") or "").strip().lower()
    return f"email:{get_remote_address()}:{email}"


def user_or_address() -> str:
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return get_remote_address()


# Decorators for the views (below @bp.route). Only POSTs count for forms: showing
# the login page or the ticket form is free.
login_per_address = limiter.limit(
    _configured("RATELIMIT_LOGIN_ADDRESS"), methods=["POST"], scope="login-address"
)
login_per_address_and_email = limiter.limit(
    _configured("RATELIMIT_LOGIN"),
    key_func=login_address_and_email,
    methods=["POST"],
    scope="login-email",
)
# "Forgot password": per address, and per (address, email) so one address can't flood
# someone's inbox; never per email alone (that would let anyone block someone's reset).
reset_per_address = limiter.limit(
    _configured("RATELIMIT_RESET_ADDRESS"), methods=["POST"], scope="reset-address"
)
reset_per_address_and_email = limiter.limit(
    _configured("RATELIMIT_RESET"),
    key_func=login_address_and_email,
    methods=["POST"],
    scope="reset-email",
)
registration = limiter.limit(_configured("RATELIMIT_REGISTER"), methods=["POST"])
# Emails sent from /account (a new address's link, the verification link again): per
# person, and the checks of the current password they need can't be guessed fast.
account_emails = limiter.shared_limit(
    _configured("RATELIMIT_ACCOUNT"), key_func=user_or_address, scope="account-emails"
)
ticket_filing = limiter.limit(
    _configured("RATELIMIT_TICKETS"), key_func=user_or_address, methods=["POST"]
)
# Search and suggestions share one budget per address.
search = limiter.shared_limit(_configured("RATELIMIT_SEARCH"), scope="search")


def _wait_text(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return f"{minutes} minutes"
    return f"{math.ceil(minutes / 60)} hours"


def retry_after_seconds() -> int:
    """Whole seconds until the refused limit's window resets. From the window itself:
    Flask-Limiter's `reset_at` adds a second, which made a 60-second window say 61."""
    limit = limiter.current_limit
    if limit is None:
        return 60
    return max(1, math.ceil(limit.window.reset_time - time.time()))


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_uri(app.config["REDIS_URL"]))
    app.config.setdefault(
        "RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    )
    limiter.init_app(app)

    app.register_error_handler(RateLimitExceeded, refusal)


def refusal(error: RateLimitExceeded) -> Response:
    """The 429 page: what happened and when to come back (and Retry-After)."""
    from support.web import _error_response

    seconds = retry_after_seconds()
    response = _error_response(
        429,
        "Too many requests",
        f"To keep everyone's account safe we limit how often this can be done. "
        f"Please try again in {_wait_text(seconds)}.",
    )
    response.headers["Retry-After"] = str(seconds)
    return response


def refused_scope(error: RateLimitExceeded) -> str:
    """The name of the limit that refused the request (e.g. "login-email")."""
    scope = getattr(error.limit, "scope", None)
    return scope if isinstance(scope, str) else "unknown"


def first_refusal_in_window() -> bool:
    """True the first time this request's key is refused in the limit's window (one
    Redis SET NX that expires with the window), so a flood of refusals is noted once.
    True as well when Redis can't answer: noted twice rather than never."""
    limit = limiter.current_limit
    who = limit.key if limit is not None else request.remote_addr or ""
    key = "support-desk:refused:" + hashlib.sha256(who.encode()).hexdigest()[:32]
    try:
        return bool(connection().set(key, 1, nx=True, ex=retry_after_seconds()))
    except RedisError:
        return True
