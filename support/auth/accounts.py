"""Creating and finding accounts (shared by views, CLI and demo data)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from support.extensions import db
from support.models import Role, User


class EmailTaken(ValueError):
    pass


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def create_user(
    *,
    email: str,
    name: str,
    password: str,
    role: Role = Role.CUSTOMER,
    tier: int | None = None,
    team_id: int | None = None,
) -> User:
    """Create an account; raises EmailTaken if the address is already registered."""
    if find_by_email(email):
        raise EmailTaken(email)
    user = User(
        email=normalise_email(email),
        name=name.strip(),
        role=role,
        tier=tier,
        team_id=team_id,
    )
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError as exc:  # registered by a concurrent request
        db.session.rollback()
        raise EmailTaken(email) from exc
    return user


def authenticate(email: str, password: str) -> User | None:
    user = find_by_email(email)
    if user is None or not user.is_active or not user.check_password(password):
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
