"""/api/v1/me and /api/v1/customers: who the token is, and finding or adding customers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from support.api import present
from support.api import schemas as s
from support.api.blueprint import bp, current_token, current_user
from support.api.problems import Problem
from support.api.spec import responses, spec
from support.api.tickets import _cursor, _cursor_id
from support.auth import accounts
from support.board.queries import contains_anycase
from support.extensions import db
from support.models import Role, User
from support.urls import external_url

TAG = "People"


@bp.get("/me")
@spec.validate(resp=responses(200, s.MeOut), tags=[TAG])
def me() -> Any:
    """The token's owner and the token's scope"""
    user, token = current_user(), current_token()
    return s.MeOut(
        id=user.id,
        name=user.name,
        email=user.email,
        role=user.role.value,
        tier=user.tier,
        team=present.team(user.team),
        token=s.TokenOut(name=token.name, scope=token.scope, expires_at=s.utc(token.expires_at)),
    )


@bp.get("/customers")
@spec.validate(query=s.CustomerQuery, resp=responses(200, s.CustomerList, 422), tags=[TAG])
def list_customers(query: s.CustomerQuery) -> Any:
    """Find customers by exact email or by part of a name or address, oldest first"""
    statement = select(User).where(User.role == Role.CUSTOMER)
    if query.email:
        statement = statement.where(User.email == accounts.normalise_email(query.email))
    if query.q and query.q.strip():
        pattern = (
            "%" + query.q.strip().replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
        )
        statement = statement.where(
            or_(contains_anycase(User.name, pattern), contains_anycase(User.email, pattern))
        )
    if query.cursor:
        statement = statement.where(User.id > _cursor_id(query.cursor))
    rows = list(db.session.scalars(statement.order_by(User.id).limit(query.limit + 1)))
    page = rows[: query.limit]
    next_cursor = _cursor(page[-1].id) if len(rows) > query.limit else None
    return s.CustomerList(items=[present.customer(u) for u in page], next_cursor=next_cursor)


@bp.get("/customers/<int:customer_id>")
@spec.validate(resp=responses(200, s.CustomerOut), tags=[TAG])
def read_customer(customer_id: int) -> Any:
    """Read a customer"""
    user = db.session.get(User, customer_id)
    if user is None or user.role != Role.CUSTOMER:
        raise Problem(404, f"No customer {customer_id}.")
    return present.customer(user)


@bp.post("/customers")
@spec.validate(
    json=s.CustomerIn, resp=responses(201, s.CustomerOut, 403, 409, 415, 422), tags=[TAG]
)
def create_customer(json: s.CustomerIn) -> Any:
    """Add a customer

    The account has no password yet: the customer sets one with "forgot password"
    before signing in. An address that has an account already answers 409.
    """
    if not current_user().is_agent:
        raise Problem(403, "Only agents can add customers.")
    try:
        user = accounts.create_user(email=str(json.email), name=json.name, password=None)
    except accounts.EmailTaken:
        raise Problem(
            409, "There is an account with this email already: find it with ?email=."
        ) from None
    url = external_url("api.read_customer", customer_id=user.id)
    return present.customer(user), 201, {"Location": url}
