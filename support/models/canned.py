"""Canned responses: reply templates agents insert into a reply (admins manage them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from support import clock
from support.extensions import db
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

    created_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<CannedResponse {self.title!r}>"
