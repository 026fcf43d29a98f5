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


SEARCH_QUERY_MAX = 200  # the search box's maxlength
TOKEN_LENGTH = 64


class KbSearch(db.Model):
    """One search in the help centre, as typed in one search box (no person, no address).

    `token` is random per rendered search box: the results as-you-type of one box
    update one row, so "ref", "refu", "refund" count as one search for "refund";
    an article opened from those results marks it `clicked`.
    """

    __tablename__ = "kb_searches"
    __table_args__ = (Index("ix_kb_searches_created", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str | None] = mapped_column(String(TOKEN_LENGTH), unique=True, default=None)
    query_text: Mapped[str] = mapped_column("query", String(SEARCH_QUERY_MAX))
    results: Mapped[int] = mapped_column(default=0)
    clicked: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class ArticleView(db.Model):
    """An article page was shown (who read it is not kept)."""

    __tablename__ = "kb_article_views"
    __table_args__ = (Index("ix_kb_article_views_created_slug", "created_at", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(SLUG_LENGTH))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class SuggestionShown(db.Model):
    """Articles suggested while a customer wrote a ticket: one row per article and form.

    `form_token` is the new-ticket form's client token, so a ticket filed from that
    form (tickets.client_token) is known to have been filed after seeing them. The
    customer's text is not kept here.
    """

    __tablename__ = "kb_suggestions_shown"
    __table_args__ = (
        Index("uq_kb_suggestions_shown_form_slug", "form_token", "slug", unique=True),
        Index("ix_kb_suggestions_shown_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form_token: Mapped[str] = mapped_column(String(TOKEN_LENGTH))
    slug: Mapped[str] = mapped_column(String(SLUG_LENGTH))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
