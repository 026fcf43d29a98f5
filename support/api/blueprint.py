"""The /api/v1 blueprint: token authentication, scopes, limits and errors for every route.

The API never looks at the session cookie: a request is whoever its bearer token
belongs to, or nobody (401). So there is no cookie for a cross-site form to ride on,
and no CSRF token to ask for.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, request
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from support.api import problems, tokens
from support.api.problems import Problem
from support.extensions import db
from support.models import ApiToken, TokenScope, User
from support.ratelimit import limiter, retry_after_seconds
from support.security import NUL_REFUSED
from support.tickets.service import StaleTicket, TicketError

bp = Blueprint("api", __name__, url_prefix="/api/v1")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_ENDPOINTS = frozenset({"api.docs", "api.openapi"})


def current_token() -> ApiToken:
    return g.api_token


def current_user() -> User:
    return g.api_token.user


def _limit_key() -> str:
    """One budget per token (its hash, so no lookup is needed); per address without one."""
    header = request.headers.get("Authorization", "")
    if header:
        return "api-token:" + tokens.digest(header)[:24]
    return "api-address:" + (request.remote_addr or "")


@bp.before_request
def authenticate() -> None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    request.max_content_length = current_app.config["API_MAX_BODY_BYTES"]
    try:
        token = tokens.authenticate(request.headers.get("Authorization"))
    except tokens.TokenRefused as refused:
        raise Problem(401, str(refused), headers={"WWW-Authenticate": "Bearer"}) from None
    if request.method not in SAFE_METHODS and token.scope != TokenScope.WRITE:
        raise Problem(403, "This token is read only; create a read-and-write token to do this.")
    g.api_token = token
    if request.method in ("POST", "PATCH", "PUT") and request.content_length:
        _check_json_body()


def _check_json_body() -> None:
    if not request.is_json:
        raise Problem(415, problems.ADVICE[415])
    if not isinstance(request.get_json(silent=True), dict):
        raise Problem(400, "The body must be a JSON object.")
    if b"\\u0000" in request.get_data(cache=True):  # PostgreSQL stores no NUL in text
        raise Problem(400, NUL_REFUSED)


@bp.errorhandler(Problem)
def problem(error: Problem) -> Response:
    db.session.rollback()
    return problems.response(error)


@bp.errorhandler(TicketError)
def refused_change(error: TicketError) -> Response:
    db.session.rollback()
    if isinstance(error, StaleTicket):
        return problems.for_status(412, str(error))
    return problems.for_status(409, str(error))


@bp.errorhandler(RateLimitExceeded)
def too_many(error: RateLimitExceeded) -> Response:
    seconds = retry_after_seconds()
    return problems.for_status(429, headers={"Retry-After": str(seconds)})


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    return problems.for_status(error.code or 500)


limiter.limit(lambda: current_app.config["RATELIMIT_API"], key_func=_limit_key)(bp)
