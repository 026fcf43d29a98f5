"""Integrations: personal API tokens, and webhooks with their delivery outbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from support import clock
from support.extensions import db
from support.models.ticket import Ticket, str_enum
from support.models.user import User


class TokenScope(StrEnum):
    READ = "read"  # GET only
    WRITE = "write"  # everything the owner may do

    @property
    def label(self) -> str:
        return {"read": "Read only", "write": "Read and write"}[self.value]


class ApiToken(db.Model):
    """A personal token for the JSON API. Only its SHA-256 is stored: the token itself
    is shown once, when it is created. `prefix` (its first characters) tells tokens apart
    in the list without revealing them."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scope: Mapped[TokenScope] = mapped_column(str_enum(TokenScope, 10))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship()

    def is_usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def __repr__(self) -> str:
        return f"<ApiToken {self.prefix}… {self.scope}>"


class WebhookEvent(StrEnum):
    """What a webhook can subscribe to."""

    TICKET_CREATED = "ticket.created"
    TICKET_REPLIED = "ticket.replied"
    TICKET_STATUS_CHANGED = "ticket.status_changed"
    TICKET_ASSIGNED = "ticket.assigned"
    SURVEY_ANSWERED = "survey.answered"


class Webhook(db.Model):
    """An admin's subscription: POST these events, signed with `secret`, to `url`."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    # WebhookEvent values.
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Shared with the receiver to check signatures, so kept as is (not hashed).
    secret: Mapped[str] = mapped_column(String(80))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    created_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Webhook {self.id} {self.url}>"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the last retry; an admin can send it again


class WebhookDelivery(db.Model):
    """One event for one webhook, written in the same transaction as the change.

    The body is fixed when the row is written, so every attempt sends the same bytes;
    `event_key` makes an event one delivery per webhook however often it is recorded.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_key", name="uq_webhook_deliveries_event"),
        Index("ix_webhook_deliveries_webhook_status", "webhook_id", "status", "id"),
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(40))
    event_key: Mapped[str] = mapped_column(String(120))
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), default=None
    )
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=clock.now)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    response_code: Mapped[int | None] = mapped_column(default=None)
    response_ms: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    webhook: Mapped[Webhook] = relationship()
    ticket: Mapped[Ticket | None] = relationship()

    def __repr__(self) -> str:
        return f"<WebhookDelivery {self.id} {self.event} {self.status}>"
