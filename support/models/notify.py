"""Outgoing mail (the outbox), in-app notifications, SLA policies and their marks, surveys."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from support import clock
from support.extensions import db
from support.models.ticket import Ticket, TicketEvent, str_enum
from support.models.user import User


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the last retry; an admin can retry it


class EmailKind(StrEnum):
    """Why an email was sent. Stored as these strings; delivering an ACK also notes the
    acknowledgement on the ticket's timeline."""

    ACK = "ack"  # we received your request (starts the ticket's email thread)
    REPLY = "reply"  # an agent's words to the customer (a public reply, a workaround)
    EVENT = "event"  # something else happened on the customer's ticket
    FOLLOW_UP = "follow_up"  # after resolution: did the fix hold? (with the survey)
    ESCALATION = "escalation"  # to the agents of the tier a ticket was escalated to
    ACCOUNT = "account"  # about the reader's account (a password reset link), no ticket
    REPORT = "report"  # the weekly summary of the support figures, to admins

    @property
    def auto_submitted(self) -> str | None:
        """The email's `Auto-Submitted` header (RFC 3834), None for a person's words.

        The acknowledgement answers the customer's message (`auto-replied`); every other
        automatic email (status and SLA notices, follow-ups, escalations) is
        `auto-generated`; an agent's reply is not automatic at all.
        """
        match self:
            case EmailKind.REPLY:
                return None
            case EmailKind.ACK:
                return "auto-replied"
            case _:
                return "auto-generated"


class OutboxMessage(db.Model):
    """One email, written in the same transaction as the change it reports.

    The idempotency key makes "send this" safe to repeat: a message exists once,
    and a claimed or sent message is never sent again by a retry.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    # A non-native enum is a VARCHAR(40) like the String(40) it replaced: no migration.
    kind: Mapped[EmailKind] = mapped_column(str_enum(EmailKind, 40))
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    # Indexed: an inbound reply finds its ticket by the Message-IDs it references.
    message_id: Mapped[str] = mapped_column(String(200), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(200), default=None)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), default=None)
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    next_attempt_at: Mapped[datetime] = mapped_column(default=clock.now)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)

    ticket: Mapped[Ticket | None] = relationship()


class Notification(db.Model):
    """An in-app notice (the unread badge), one per person per public event."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_events.id"), default=None)
    text: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    read_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship()
    ticket: Mapped[Ticket] = relationship()
    event: Mapped[TicketEvent | None] = relationship()


class SlaPolicy(db.Model):
    """Targets for one priority, editable by admins (the config holds the defaults)."""

    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    priority: Mapped[str] = mapped_column(String(20), unique=True)
    first_response_minutes: Mapped[int]
    update_minutes: Mapped[int]
    resolution_minutes: Mapped[int]
    business_hours: Mapped[bool] = mapped_column(default=False)


class BusinessSchedule(db.Model):
    """The desk's business hours, one row (support/tickets/schedule.py holds the defaults
    used until an admin saves it): a time zone and each weekday's hours."""

    __tablename__ = "business_schedule"

    id: Mapped[int] = mapped_column(primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    # Seven entries, Monday first: [opening, closing] in minutes after local midnight,
    # or null on a closed day.
    week: Mapped[list[Any]] = mapped_column(JSON)


class BusinessHoliday(db.Model):
    """A date the desk is closed all day (in the schedule's time zone)."""

    __tablename__ = "business_holidays"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")


class BusinessInterval(db.Model):
    """Derived from the schedule (support/tickets/schedule.py rebuilds it): each opening
    as whole seconds since 1970 (UTC) and the business seconds before it, so the reports'
    SQL clock is one indexed look-up on either engine. `schedule_key` is the fingerprint
    of the schedule the rows were built from."""

    __tablename__ = "business_intervals"

    # Key first: the look-up is "this schedule's last opening at or before t", one seek.
    schedule_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    open_s: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    close_s: Mapped[int] = mapped_column(BigInteger)
    before_s: Mapped[int] = mapped_column(BigInteger)


class SlaMark(db.Model):
    """Remembers that a warning or breach was handled, so each happens once per due time."""

    __tablename__ = "sla_marks"
    __table_args__ = (
        UniqueConstraint("ticket_id", "target", "kind", "due_at", name="uq_sla_marks_once"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    # The values of sla.SlaTarget and sla.CheckpointKind, stored and loaded as plain
    # strings (the enums live with the SLA rules, which import this module).
    target: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class SurveyInvite(db.Model):
    """A signed, single-use, expiring satisfaction survey link for one resolution."""

    __tablename__ = "survey_invites"
    __table_args__ = (
        UniqueConstraint("ticket_id", "resolved_at", name="uq_survey_invites_resolution"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    resolved_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)

    ticket: Mapped[Ticket] = relationship()
