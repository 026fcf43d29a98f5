"""People: customers, agents and admins, the teams agents belong to and their skills."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, Column, Enum, ForeignKey, Index, String, Table
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from support import clock
from support.extensions import db


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    ADMIN = "admin"


class Team(db.Model):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)

    members: Mapped[list[User]] = relationship(back_populates="team")

    def __repr__(self) -> str:
        return f"<Team {self.name}>"


class Skill(db.Model):
    """What an agent can handle ("Spanish", "Chargebacks"); a category may need one."""

    __tablename__ = "skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)

    def __repr__(self) -> str:
        return f"<Skill {self.name}>"


agent_skills = Table(
    "agent_skills",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_id", ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True),
)


# A password hash no password matches (werkzeug reads no method in it).
UNCLAIMED = "!unclaimed"


class User(UserMixin, db.Model):
    __tablename__ = "users"
    # The team (agents and admins) without reading every customer: the queue's and the
    # panel's "assign to" lists, routing.
    __table_args__ = (
        Index("ix_users_role_name", "role", "name"),
        # Customers in name order: the queue sorted by customer reads them, then each
        # one's tickets, and stops after a page (support/queue/queries.py).
        Index("ix_users_name", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=Role.CUSTOMER,
    )
    tier: Mapped[int | None] = mapped_column(default=None)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), default=None)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Routing (support/triage/routing.py): off duty agents get no new tickets, and
    # nobody gets more open tickets than max_open (None: the routing default).
    is_available: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    max_open: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    # Part of every session and "keep me signed in" cookie (get_id): raising it ends
    # them all, wherever they are (log out, a new password, "sign out everywhere").
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    # When the owner proved the address is theirs (support/auth/verify.py); None: not yet.
    email_verified_at: Mapped[datetime | None] = mapped_column(default=None)
    # A zoneinfo name (support/timezones.py); None: the site's DEFAULT_TIME_ZONE.
    time_zone: Mapped[str | None] = mapped_column(String(64), default=None)
    # EmailKind values this person asked not to get by email (in-app notices still come).
    email_opt_out: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    # Set when the account's personal data was erased (support/privacy/erasure.py): the
    # row stays as a tombstone ("Deleted customer 4821") so statistics stay right.
    erased_at: Mapped[datetime | None] = mapped_column(default=None)

    team: Mapped[Team | None] = relationship(back_populates="members")
    skills: Mapped[list[Skill]] = relationship(secondary=agent_skills, order_by=Skill.name)

    def get_id(self) -> str:
        """What Flask-Login puts in the session and the remember cookie: "id.version"."""
        return f"{self.id}.{self.session_version}"

    def end_sessions(self) -> None:
        """Every cookie issued so far stops working (the caller commits)."""
        self.session_version = (self.session_version or 1) + 1

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def leave_unclaimed(self) -> None:
        """An account made for someone (their first email to us): no password matches
        until its owner chooses one through a claim link or "forgot password"."""
        self.password_hash = UNCLAIMED

    @property
    def is_unclaimed(self) -> bool:
        return self.password_hash == UNCLAIMED

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_agent(self) -> bool:
        """Agents and admins work tickets; admins are agents with more rights."""
        return self.role in (Role.AGENT, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else self.email.split("@")[0]

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"
