"""What the reports keep worked out per ticket, so a page need not work it out again
from the timeline (support/reports/facts.py fills these tables; nothing else writes them).

Each row is a copy of what the SQL in support/reports/clock.py says for one ticket,
made by INSERT … SELECT from that same SQL: the definition stays there, once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from support.extensions import db


class ReportTicketFacts(db.Model):
    """A ticket's clock seconds to its first response and to done (None: not yet),
    worked out under the SLA clock whose fingerprint is stored with them."""

    __tablename__ = "report_ticket_facts"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64))
    fr: Mapped[int | None] = mapped_column(BigInteger, default=None)
    res: Mapped[int | None] = mapped_column(BigInteger, default=None)


class ReportBacklogSpan(db.Model):
    """A stretch of time a ticket spent in the backlog: from filing (or a reopening) to
    being resolved or closed (closed_at None: still in it), as its status events say."""

    __tablename__ = "report_backlog_spans"
    __table_args__ = (
        Index("ix_report_backlog_spans_opened", "opened_at"),
        Index("ix_report_backlog_spans_closed", "closed_at"),
    )

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None] = mapped_column(default=None)


class ReportFactsState(db.Model):
    """One row: how far the sweep has kept the facts.

    Every ticket last updated before `watermark` has facts made from its current
    state under the clock `fingerprint`; later ones are worked out raw by the page.
    `cursor_*` is where an unfinished run stopped (tickets in (updated_at, id) order).
    """

    __tablename__ = "report_facts_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str | None] = mapped_column(String(64), default=None)
    watermark: Mapped[datetime | None] = mapped_column(default=None)
    cursor_updated_at: Mapped[datetime | None] = mapped_column(default=None)
    cursor_id: Mapped[int | None] = mapped_column(default=None)
    target: Mapped[datetime | None] = mapped_column(default=None)
