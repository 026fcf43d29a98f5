"""Canned responses: reply templates agents insert into a reply (admins manage them).

A canned response may also be a macro: when the reply it filled is sent, the
ticket's status, priority, tags and/or assignee change with it, in the same
change (support/tickets/service/conversation.py `respond`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from support import clock
from support.extensions import db
from support.models.ticket import Priority, Status, str_enum
from support.models.user import User


class CannedResponse(db.Model):
    __tablename__ = "canned_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120), unique=True)
    # Plain text with placeholders such as {{ customer.first_name }}; filled by
    # support.tickets.canned, never evaluated as a template.
    body: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    # The macro's actions; None leaves that field alone.
    set_status: Mapped[Status | None] = mapped_column(str_enum(Status), default=None)
    set_priority: Mapped[Priority | None] = mapped_column(str_enum(Priority), default=None)
    add_tags: Mapped[str | None] = mapped_column(String(1000), default=None)  # comma-separated
    set_assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    set_assignee: Mapped[User | None] = relationship(foreign_keys=[set_assignee_id])

    @property
    def is_macro(self) -> bool:
        return bool(self.set_status or self.set_priority or self.add_tags or self.set_assignee_id)

    def __repr__(self) -> str:
        return f"<CannedResponse {self.title!r}>"
