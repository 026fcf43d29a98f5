"""Tickets and their timelines.

The timeline (TicketEvent rows) is the single source of truth for what
happened; the Ticket row holds the current state for fast lists and boards.
Only support.tickets.service writes these tables.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Enum,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from support import clock
from support.extensions import db
from support.models.user import Skill, Team, User


def str_enum(enum_cls: type[StrEnum], length: int = 20) -> Enum:
    """Stored as plain strings (portable, readable in SQL), loaded as the enum."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
    )


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def is_active(self) -> bool:
        """Still being worked on (not resolved or closed)."""
        return self not in (Status.RESOLVED, Status.CLOSED)


STATUS_LABELS = {
    Status.NEW: "New",
    Status.OPEN: "Open",
    Status.PENDING: "Waiting for you",
    Status.ON_HOLD: "On hold",
    Status.ESCALATED: "Escalated",
    Status.RESOLVED: "Resolved",
    Status.CLOSED: "Closed",
}


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Impact(StrEnum):
    JUST_ME = "just_me"
    SOME_USERS = "some_users"
    MANY_USERS = "many_users"

    @property
    def label(self) -> str:
        return {"just_me": "Just me", "some_users": "Some users", "many_users": "Many users"}[
            self.value
        ]


class Channel(StrEnum):
    PORTAL = "portal"
    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"
    API = "api"


class EventKind(StrEnum):
    CREATED = "created"
    ACKNOWLEDGED = "acknowledged"
    REPLY = "reply"
    NOTE = "note"
    STATUS_CHANGED = "status_changed"
    ASSIGNED = "assigned"
    PRIORITY_CHANGED = "priority_changed"
    CATEGORY_CHANGED = "category_changed"
    ESCALATED = "escalated"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    DELAY_NOTICE = "delay_notice"
    WORKAROUND = "workaround"
    FOLLOW_UP_SENT = "follow_up_sent"
    RATED = "rated"
    REOPENED = "reopened"
    MERGED = "merged"
    LINKED = "linked"
    TEAM_CHANGED = "team_changed"
    # Automatic triage on filing (support/triage), internal, with the reason in data.
    CATEGORY_SUGGESTED = "category_suggested"
    PRIORITY_SET = "priority_set"
    ROUTED = "routed"
    TAGS_CHANGED = "tags_changed"
    # Its personal text was removed (erasure or retention, support/privacy), internal.
    ANONYMISED = "anonymised"


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), default=None)
    # Routing gives this category's tickets only to agents with this skill.
    skill_id: Mapped[int | None] = mapped_column(
        ForeignKey("skills.id", ondelete="SET NULL"), default=None
    )
    is_active: Mapped[bool] = mapped_column(default=True)

    team: Mapped[Team | None] = relationship()
    skill: Mapped[Skill | None] = relationship()

    def __repr__(self) -> str:
        return f"<Category {self.slug}>"


class Tag(db.Model):
    """A label agents put on tickets ("refund", "vip"): lower case, no spaces at the ends."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)

    def __repr__(self) -> str:
        return f"<Tag {self.name}>"


ticket_tags = Table(
    "ticket_tags",
    db.metadata,
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    # A tag's tickets from the index alone (filter by tag on the board and the queue).
    Index("ix_ticket_tags_tag_ticket", "tag_id", "ticket_id"),
)

# Open work (not resolved or closed), as SQL for the partial indexes below. A query
# uses them only when its WHERE says the same, literally: support/queue/queries.py's
# `open_work()` writes this condition with the values inline, never as parameters.
ACTIVE_STATUSES = tuple(s for s in Status if s.is_active)
ACTIVE_SQL = "status IN (" + ", ".join(f"'{s.value}'" for s in ACTIVE_STATUSES) + ")"


# PostgreSQL's autovacuum visits `tickets` after 2 % of its rows changed (or were
# inserted), not the default 20 %. Open tickets change all day: each change leaves a dead
# row version and takes its page out of the visibility map, and the board's column counts
# read ix_tickets_board alone only on pages marked all-visible; elsewhere they read the
# table, dead versions and all (on the load test's 10,000 tickets: 3.5 ms of server CPU a
# board vacuumed, 10.5 ms with a dead copy of each). At 100,000 tickets the default waits
# for 20,000 changes; a vacuum of the table's changed pages costs milliseconds.
TICKETS_STORAGE = {
    "autovacuum_vacuum_scale_factor": "0.02",
    "autovacuum_vacuum_insert_scale_factor": "0.02",
}


def _open_work_index(name: str, *columns: str) -> Index:
    """An index of open tickets only: the queue's cost follows the open work, not the
    years of closed history beside it."""
    where = text(ACTIVE_SQL)
    return Index(name, *columns, sqlite_where=where, postgresql_where=where)


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("customer_id", "client_token", name="uq_tickets_customer_client_token"),
        Index("ix_tickets_customer_updated", "customer_id", "updated_at"),
        Index("ix_tickets_status_priority", "status", "priority"),
        # The queue's default order, latest activity first (support/queue/queries.py).
        Index("ix_tickets_updated", "updated_at", "id"),
        # The board's columns read this index and never the table: first cards in
        # sort key order, overdue counts, the usual filters (support/tickets/due.py).
        Index(
            "ix_tickets_board",
            "status",
            "board_sort_key",
            "id",
            "next_due_at",
            "sla_paused_at",
            "assignee_id",
            "team_id",
            "priority",
            "category_id",
        ),
        # The queue (support/queue/queries.py): open work latest first and by due time,
        # and one agent's or one team's tickets by status, latest first.
        _open_work_index("ix_tickets_open_updated", "updated_at", "id"),
        # (sla_paused_at: "due within N hours" counts its tickets from the index alone.)
        _open_work_index("ix_tickets_open_due", "next_due_at", "id", "sla_paused_at"),
        Index("ix_tickets_assignee_status", "assignee_id", "status", "updated_at"),
        # …and by priority: "unassigned, open, most urgent first" sorts index entries only.
        Index("ix_tickets_assignee_status_priority", "assignee_id", "status", "priority"),
        Index("ix_tickets_team_status", "team_id", "status", "priority", "updated_at"),
        # Reports (support/reports): tickets filed, resolved or closed in a date range.
        Index("ix_tickets_created_at", "created_at"),
        Index("ix_tickets_resolved_at", "resolved_at"),
        Index("ix_tickets_closed_at", "closed_at"),
        {"postgresql_with": TICKETS_STORAGE},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(16), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel), default=Channel.PORTAL)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), default=None)
    priority: Mapped[Priority] = mapped_column(str_enum(Priority), default=Priority.NORMAL)
    impact: Mapped[Impact] = mapped_column(str_enum(Impact), default=Impact.JUST_ME)
    status: Mapped[Status] = mapped_column(str_enum(Status), default=Status.NEW)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), default=None)
    tier: Mapped[int] = mapped_column(default=1)

    first_response_due: Mapped[datetime | None] = mapped_column(default=None)
    next_update_due: Mapped[datetime | None] = mapped_column(default=None)
    resolution_due: Mapped[datetime | None] = mapped_column(default=None)
    first_responded_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)

    # Ties a form submission to the ticket it created: a double-click files once.
    client_token: Mapped[str | None] = mapped_column(String(64), default=None)
    # A reply to a closed ticket starts a follow-up ticket that points back here.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), default=None)
    # Set while we wait for the customer: the SLA clock stops, due times move on resume.
    sla_paused_at: Mapped[datetime | None] = mapped_column(default=None)
    # Bumped on every update; a writer holding an older number gets StaleTicket.
    version: Mapped[int] = mapped_column(default=1)
    # Order within a board column, set by dragging; None sorts by SLA due time.
    # It is on the same scale as a due time (seconds since 1970), see board/queries.py.
    board_position: Mapped[float | None] = mapped_column(default=None)
    # Worked out from the columns above after every write, for the board to sort and
    # count by: support/tickets/due.py. Never set them by hand.
    next_due_at: Mapped[datetime | None] = mapped_column(default=None)
    board_sort_key: Mapped[float | None] = mapped_column(default=None)
    # A duplicate merged into another ticket points at the ticket that carries on.
    # Indexed: the timeline of the ticket that carries on reads its duplicates' events.
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id"), default=None, index=True
    )
    # Set once its personal text is gone (erasure or retention): status, times,
    # category and rating stay for the statistics.
    anonymised_at: Mapped[datetime | None] = mapped_column(default=None)

    customer: Mapped[User] = relationship(foreign_keys=[customer_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    team: Mapped[Team | None] = relationship()
    category: Mapped[Category | None] = relationship()
    parent: Mapped[Ticket | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
    merged_into: Mapped[Ticket | None] = relationship(
        remote_side=[id], foreign_keys=[merged_into_id]
    )
    tags: Mapped[list[Tag]] = relationship(secondary=ticket_tags, order_by=Tag.name)

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Ticket {self.ref} {self.status}>"


class TicketEvent(db.Model):
    """One entry of a ticket's timeline: who, when, what, public or internal."""

    __tablename__ = "ticket_events"
    __table_args__ = (
        UniqueConstraint("ticket_id", "client_token", name="uq_ticket_events_ticket_client_token"),
        Index("ix_ticket_events_ticket_public_id", "ticket_id", "is_public", "id"),
        # Reports: escalations, reopens and replies in a date range.
        Index("ix_ticket_events_kind_created", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind, 24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    is_public: Mapped[bool] = mapped_column(default=True)
    # Text as written, and its HTML rendered once at write time (escaped, linkified).
    body_text: Mapped[str | None] = mapped_column(Text, default=None)
    body_html: Mapped[str | None] = mapped_column(Text, default=None)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    client_token: Mapped[str | None] = mapped_column(String(64), default=None)

    ticket: Mapped[Ticket] = relationship()
    actor: Mapped[User | None] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="event", order_by="Attachment.id"
    )

    def __repr__(self) -> str:
        return f"<TicketEvent {self.kind} public={self.is_public}>"


class Attachment(db.Model):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_events.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(80), unique=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    ticket: Mapped[Ticket] = relationship()
    event: Mapped[TicketEvent | None] = relationship(back_populates="attachments")


class Rating(db.Model):
    """The customer's satisfaction with a resolved ticket (1–5, optional comment)."""

    __tablename__ = "ratings"
    # The reports' latest comments: newest first within the range, from the index.
    __table_args__ = (Index("ix_ratings_created", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    score: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
