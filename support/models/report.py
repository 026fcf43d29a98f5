"""What the reports keep worked out per ticket, so a page need not work it out again
from the timeline (support/reports/facts.py fills these tables; nothing else writes them).

Each row is a copy of what the SQL in support/reports/clock.py says for one ticket,
made by INSERT … SELECT from that same SQL: the definition stays there, once. Each
also carries a copy of the ticket's columns the reports filter and count by, under
the tickets' own names (the filters' conditions are moved onto them by name, see
clock.on_copy), so a page reads these rows alone and never joins the tickets.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from support.extensions import db
from support.models.ticket import Channel, EventKind, Priority, str_enum


class TicketColumns:
    """The ticket's columns every kept row copies: when it was filed, and what the
    reports filter by (the viewer's scope, team, category, channel, priority, agent)."""

    created_at: Mapped[datetime]
    team_id: Mapped[int | None] = mapped_column(default=None)
    category_id: Mapped[int | None] = mapped_column(default=None)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel))
    priority: Mapped[Priority] = mapped_column(str_enum(Priority))
    assignee_id: Mapped[int | None] = mapped_column(default=None)


# The copied columns the reports filter and count by, and the row's ticket: the tail of
# every kept table's indexes, so a page reads the index alone (never the rows) for its
# range (migrations/versions/0027).
FILTERED = ("team_id", "category_id", "channel", "priority", "assignee_id", "ticket_id")
SLA = ("first_responded_at", "first_response_due", "resolution_due", "sla_paused_at")
# The indexes the clock times' percentiles are walked in (support/reports/times.py).
WALKED = {
    "fr": ["fr"],
    "res": ["res"],
    "agent_fr": ["assignee_id", "fr"],
    "channel_fr": ["channel", "fr"],
}
# What the page reads of a kept stretch besides its times (migrations/versions/0029).
SPAN_COUNTED = ("opened_day", "closed_day", "filed_s")


class ReportTicketFacts(TicketColumns, db.Model):
    """A ticket's clock seconds to its first response and to done (None: not yet),
    worked out under the SLA clock whose fingerprint is stored with them; the
    ticket's SLA columns and its rating, for the figures counted per ticket."""

    __tablename__ = "report_ticket_facts"
    __table_args__ = (
        Index(
            "ix_report_ticket_facts_created",
            "created_at",
            "created_day",
            *FILTERED,
            *SLA,
            "resolved_at",
            "closed_at",
            "fr",
            "res",
        ),
        Index("ix_report_ticket_facts_resolved", "resolved_at", "closed_at", "done_day", *FILTERED),
        Index("ix_report_ticket_facts_closed", "closed_at", "resolved_at", "done_day", *FILTERED),
        Index("ix_report_ticket_facts_rated", "rated_at", "rating_score", "rated_day", *FILTERED),
        # In the order of each clock time, alone and by agent and channel: the
        # percentiles are read by walking them (support/reports/times.py, migration 0032).
        *[
            Index(
                f"ix_report_ticket_facts_{name}",
                *leading,
                *[c for c in ["created_at", *FILTERED] if c not in leading],
            )
            for name, leading in WALKED.items()
        ],
    )

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64))
    fr: Mapped[int | None] = mapped_column(BigInteger, default=None)
    res: Mapped[int | None] = mapped_column(BigInteger, default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    first_responded_at: Mapped[datetime | None] = mapped_column(default=None)
    first_response_due: Mapped[datetime | None] = mapped_column(default=None)
    resolution_due: Mapped[datetime | None] = mapped_column(default=None)
    sla_paused_at: Mapped[datetime | None] = mapped_column(default=None)
    rated_at: Mapped[datetime | None] = mapped_column(default=None)
    rating_score: Mapped[int | None] = mapped_column(default=None)
    # The days (since 1970, sql.day_number) the page counts the ticket by: filed, done
    # (resolved, else closed) and rated, worked out once here rather than on every read.
    created_day: Mapped[int]
    done_day: Mapped[int | None] = mapped_column(default=None)
    rated_day: Mapped[int | None] = mapped_column(default=None)


class ReportBacklogSpan(TicketColumns, db.Model):
    """A stretch of time a ticket spent in the backlog: from filing (or a reopening) to
    being resolved or closed (closed_at None: still in it), as its status events say."""

    __tablename__ = "report_backlog_spans"
    __table_args__ = (
        Index("ix_report_backlog_spans_closed", "closed_at", "opened_at", *SPAN_COUNTED, *FILTERED),
        # Stretches begun and ended in a range, counted by day in the index's order
        # (backlog.backlog_moves, migration 0032).
        Index("ix_report_backlog_spans_began", "opened_day", "filed_s", *FILTERED),
        Index("ix_report_backlog_spans_ended", "closed_day", "filed_s", *FILTERED),
    )

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    # What the page counts by, worked out once here rather than from the timestamps on
    # every read: the days (since 1970) the stretch began and ended, and the ticket's
    # filing time in whole seconds (support/reports/sql.py's day_number and seconds).
    opened_day: Mapped[int]
    closed_day: Mapped[int | None] = mapped_column(default=None)
    filed_s: Mapped[int] = mapped_column(BigInteger)


class ReportEventCount(TicketColumns, db.Model):
    """How many timeline events the reports count (escalations, reopens, the team's
    replies) a ticket had on one day (days since 1970), by kind and actor."""

    __tablename__ = "report_event_counts"
    __table_args__ = (
        Index("ix_report_event_counts_day", "day", "kind", "actor_id", "n", *FILTERED),
    )

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    day: Mapped[int]
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind, 24))
    actor_id: Mapped[int | None] = mapped_column(default=None)
    n: Mapped[int]


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
