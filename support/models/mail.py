"""Inbound email: every message we receive (raw, as it came), the admins' mail settings,
addresses that bounce, and the people who follow a ticket by email.

The raw copy is committed before anything reads it (support/mail/inbound/intake.py), so
a message that cannot be parsed or filed is kept, with the reason, for an admin.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from support import clock
from support.extensions import db
from support.models.ticket import Ticket, TicketEvent, str_enum
from support.models.user import User


class InboundSource(StrEnum):
    IMAP = "imap"
    PIPE = "pipe"
    WEBHOOK = "webhook"


class InboundStatus(StrEnum):
    RECEIVED = "received"  # stored, not filed yet (the job or the sweep will)
    FILED = "filed"  # became (or deliberately did not become) an event: see `outcome`
    QUARANTINED = "quarantined"  # waits for an admin: see `reason`
    DISCARDED = "discarded"  # an admin threw it away (kept for the record)


class Outcome(StrEnum):
    """What filing made of a message: the words `flask mail ingest` prints."""

    NEW = "new"
    REPLY = "reply"
    FOLLOW_UP = "follow-up"
    NOTE = "note"
    IGNORED_AUTOMATIC = "ignored-automatic"
    BOUNCE = "bounce"
    QUARANTINED = "quarantined"


class InboundMessage(db.Model):
    """One email as received. `raw` is deferred: lists never load the bytes."""

    __tablename__ = "inbound_messages"
    __table_args__ = (Index("ix_inbound_messages_status_received", "status", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Idempotency: the same Message-ID (or, without one, the same bytes) is one row.
    message_id: Mapped[str | None] = mapped_column(String(500), unique=True, default=None)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[InboundSource] = mapped_column(str_enum(InboundSource, 16))
    received_at: Mapped[datetime] = mapped_column(default=clock.now)
    size: Mapped[int] = mapped_column(default=0)
    raw: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    # Read from the headers when stored (cheaply, for lists); None when missing or unreadable.
    from_address: Mapped[str | None] = mapped_column(String(254), default=None)
    subject: Mapped[str | None] = mapped_column(String(300), default=None)

    status: Mapped[InboundStatus] = mapped_column(
        str_enum(InboundStatus), default=InboundStatus.RECEIVED
    )
    outcome: Mapped[Outcome | None] = mapped_column(str_enum(Outcome), default=None)
    # Why it is quarantined, or a word on the outcome ("acknowledged", "not acknowledged: …").
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    filed_at: Mapped[datetime | None] = mapped_column(default=None)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id"), default=None, index=True
    )
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_events.id"), default=None)
    # An admin's last action on it (discard, retry, file as new, attach), who and when.
    handled_action: Mapped[str | None] = mapped_column(String(20), default=None)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    handled_at: Mapped[datetime | None] = mapped_column(default=None)

    ticket: Mapped[Ticket | None] = relationship()
    event: Mapped[TicketEvent | None] = relationship()
    handled_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<InboundMessage {self.id} {self.status} {self.outcome}>"


class MailSettings(db.Model):
    """The admins' inbound-mail settings: one row (id 1), defaults until saved."""

    __tablename__ = "mail_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # On: mail from an address without an account is quarantined, not filed.
    only_known_customers: Mapped[bool] = mapped_column(default=False)
    # Per sender and hour; over the cap, messages are quarantined (0: no limit).
    max_new_tickets_per_hour: Mapped[int] = mapped_column(default=10)
    max_acknowledgements_per_hour: Mapped[int] = mapped_column(default=5)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)


class BouncingAddress(db.Model):
    """An address our mail to bounced: shown on the panel, not emailed until it writes
    to us again (which deletes the row)."""

    __tablename__ = "bouncing_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(254), unique=True)
    since: Mapped[datetime] = mapped_column(default=clock.now)
    last_bounce_at: Mapped[datetime] = mapped_column(default=clock.now)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"), default=None)


class TicketFollower(db.Model):
    """Someone copied (Cc) on a ticket's email: they hear of its public updates."""

    __tablename__ = "ticket_followers"
    __table_args__ = (UniqueConstraint("ticket_id", "user_id", name="uq_ticket_followers"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    ticket: Mapped[Ticket] = relationship()
    user: Mapped[User] = relationship()
