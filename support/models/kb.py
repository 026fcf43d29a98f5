"""Knowledge-base analytics: "Was this helpful?" votes and ticket deflections."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from support import clock
from support.extensions import db

SLUG_LENGTH = 120
QUERY_MAX = 2000  # what a customer typed, kept for analytics, not the whole ticket


class ArticleFeedback(db.Model):
    """One reader's answer to "Was this helpful?", with an optional comment."""

    __tablename__ = "kb_article_feedback"
    __table_args__ = (Index("ix_kb_article_feedback_slug_created", "slug", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The article's slug, not a foreign key: articles are files, and feedback on
    # a renamed or removed article is still worth reading.
    slug: Mapped[str] = mapped_column(String(SLUG_LENGTH))
    helpful: Mapped[bool]
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    def __repr__(self) -> str:
        return f"<ArticleFeedback {self.slug} helpful={self.helpful}>"


class Deflection(db.Model):
    """A ticket that was not filed: the article that answered it and what was typed."""

    __tablename__ = "kb_deflections"
    __table_args__ = (Index("ix_kb_deflections_slug_created", "slug", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(SLUG_LENGTH))
    # Stored in the column "query"; named typed_text here so it does not hide Model.query.
    typed_text: Mapped[str] = mapped_column("query", Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=clock.now, index=True)

    def __repr__(self) -> str:
        return f"<Deflection {self.slug}>"
