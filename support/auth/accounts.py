"""Creating and finding accounts (shared by views, CLI and demo data)."""

from __future__ import annotations

import secrets
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from support.extensions import db
from support.models import Role, Status, Ticket, User
from support.tickets import service


class EmailTaken(ValueError):
    pass


STAFF_TIERS = (1, 2, 3)


class AccessError(ValueError):
    """A change of someone's access that would lock the team out; written for the admin."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def create_user(
    *,
    email: str,
    name: str,
    password: str | None,
    role: Role = Role.CUSTOMER,
    tier: int | None = None,
    team_id: int | None = None,
) -> User:
    """Create an account; raises EmailTaken if the address is already registered.

    Without a password (a customer added by an agent or the API) nobody can sign in
    to it until its owner sets one by "forgot password"."""
    if find_by_email(email):
        raise EmailTaken(email)
    user = User(
        email=normalise_email(email),
        name=name.strip(),
        role=role,
        tier=tier,
        team_id=team_id,
    )
    user.set_password(password if password is not None else secrets.token_urlsafe(32))
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError as exc:  # registered by a concurrent request
        db.session.rollback()
        raise EmailTaken(email) from exc
    return user


@cache
def _nobody() -> str:
    """Checked against when there is no account, so an unknown email takes as long to
    refuse as a wrong password (the time must not say which addresses have accounts).
    Made on first use: a hash costs about 0.1 s of CPU that workers and CLI commands,
    which sign nobody in, would pay at every start."""
    return generate_password_hash(secrets.token_urlsafe(16))


def authenticate(email: str, password: str) -> User | None:
    user = find_by_email(email)
    if user is None:
        check_password_hash(_nobody(), password)
        return None
    if not user.check_password(password) or not user.is_active:
        return None
    return user


def set_role(user: User, role: Role, *, tier: int | None = None) -> User:
    """Make someone a customer, agent or admin (staff get a tier, 1 unless given)."""
    user.role = role
    if role == Role.CUSTOMER:
        user.tier = None
    else:
        user.tier = tier if tier is not None else (user.tier or 1)
    db.session.commit()
    return user


def change_access(user: User, *, role: Role, tier: int | None, active: bool, by: User) -> User:
    """An admin changes what someone may do. Nobody removes their own admin rights or
    account (another admin must), so there is always an admin left."""
    if user.id == by.id and (role != Role.ADMIN or not active):
        raise AccessError("You can't remove your own admin rights or account; ask another admin.")
    if role != Role.CUSTOMER and tier is not None and tier not in STAFF_TIERS:
        raise AccessError("Tiers are 1, 2 or 3.")
    user.is_active = active
    set_role(user, role, tier=tier)
    if not (user.is_agent and user.is_active):
        _release_open_tickets(user, by)
    return user


def _release_open_tickets(user: User, by: User) -> None:
    """Someone who no longer works tickets hands theirs back to "unassigned", each with
    its timeline event; routing gives them to someone else (the sweep)."""
    query = select(Ticket).where(
        Ticket.assignee_id == user.id, Ticket.status.in_([s for s in Status if s.is_active])
    )
    for ticket in db.session.scalars(query).all():
        service.assign(ticket, actor=by, assignee=None)


def people(
    text: str = "", role: Role | None = None, *, limit: int = 50, offset: int = 0
) -> tuple[list[User], int]:
    """Accounts matching `text` (in name or email) and `role`, staff first, then by name;
    and how many match in all."""
    query = select(User)
    if text.strip():
        needle = text.strip().lower()
        query = query.where(
            func.lower(User.email).contains(needle, autoescape=True)
            | func.lower(User.name).contains(needle, autoescape=True)
        )
    if role is not None:
        query = query.where(User.role == role)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    staff_first = (User.role == Role.CUSTOMER).asc()
    page = db.session.scalars(
        query.order_by(staff_first, func.lower(User.name), User.id).limit(limit).offset(offset)
    )
    return list(page), total
