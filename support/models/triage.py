"""Triage settings and memory: priority rules admins edit, and agents' category corrections."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from support import clock
from support.extensions import db


class PriorityRule(db.Model):
    """Impact × severity: when a new ticket matches, it gets at least `priority`.

    `impact` None matches any impact; `signals` (one phrase per line, matched in
    the lowercased subject and description) None or empty matches any text.
    When several rules match, the highest priority wins; among equals, the
    lowest `position` (the earlier rule).
    """

    __tablename__ = "priority_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(80))
    impact: Mapped[str | None] = mapped_column(String(20), default=None)
    signals: Mapped[str | None] = mapped_column(Text, default=None)
    priority: Mapped[str] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(default=True)


class CategoryCorrection(db.Model):
    """An agent moved a ticket with a suggested category to another one: a training example."""

    __tablename__ = "category_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    suggested: Mapped[str | None] = mapped_column(String(60), default=None)
    category: Mapped[str] = mapped_column(String(60))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
