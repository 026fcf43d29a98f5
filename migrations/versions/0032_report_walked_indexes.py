"""Reports: the kept clock times get indexes in the order of each one (first response,
resolution, first response by agent and by channel), so SQLite reads a percentile by
walking an index to its position instead of sorting every value of the range; and a
ticket's kept facts carry the days it was filed, done and rated

At 200,000 tickets a 90-day page sorted ~45,000 clock times for each of its percentile
series on SQLite (50-80 ms each); the walk to a position costs a few milliseconds. Each
index also carries the ticket's filing time and the copied filter columns, so the walk
reads index entries alone. The day numbers spare the page working them out from a
timestamp for each of ~45,000 tickets per statement; the indexes the page reads those
rows through carry them. The backlog's stretches get indexes led by the days they began
and ended, so the page counts them by day in the index's order rather than sorting.

The kept facts hold nothing but what the sweep works out again from the tickets: they
are emptied, with the sweep's state, so its next runs fill them anew while pages work
every figure out from the tickets meanwhile.

Revision ID: 0032
Revises: 0030
Create Date: 2026-12-06 18:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0032"
down_revision = "0030"
branch_labels = None
depends_on = None

# As support/models/report.py has them now (a migration never follows later changes).
FILTERED = ["team_id", "category_id", "channel", "priority", "assignee_id", "ticket_id"]
SLA = ["first_responded_at", "first_response_due", "resolution_due", "sla_paused_at"]
DAYS = ["created_day", "done_day", "rated_day"]
WALKED = {
    "ix_report_ticket_facts_fr": ["fr"],
    "ix_report_ticket_facts_res": ["res"],
    "ix_report_ticket_facts_agent_fr": ["assignee_id", "fr"],
    "ix_report_ticket_facts_channel_fr": ["channel", "fr"],
}


def _read(days: bool) -> dict[str, list[str]]:
    """The indexes a page reads the kept facts' ranges through, with the days or not."""
    created, done, rated = (["created_day"], ["done_day"], ["rated_day"]) if days else ([],) * 3
    return {
        "ix_report_ticket_facts_created": [
            "created_at", *created, *FILTERED, *SLA, "resolved_at", "closed_at", "fr", "res",
        ],
        "ix_report_ticket_facts_resolved": ["resolved_at", "closed_at", *done, *FILTERED],
        "ix_report_ticket_facts_closed": ["closed_at", "resolved_at", *done, *FILTERED],
        "ix_report_ticket_facts_rated": ["rated_at", "rating_score", *rated, *FILTERED],
    }


# The stretches begun and ended in a range, counted by day in the order of these; the
# index on opened_at goes (nothing reads through it: the backlog reads closed_at's).
SPAN_COUNTED = ["opened_day", "closed_day", "filed_s"]
SPAN_OPENED = ["opened_at", "closed_at", *SPAN_COUNTED, *FILTERED]
SPAN_DAYS = {
    "ix_report_backlog_spans_began": ["opened_day", "filed_s", *FILTERED],
    "ix_report_backlog_spans_ended": ["closed_day", "filed_s", *FILTERED],
}


def _start_over() -> None:
    op.execute("DELETE FROM report_facts_state")
    op.execute("DELETE FROM report_ticket_facts")


def upgrade():
    _start_over()
    with op.batch_alter_table("report_ticket_facts", schema=None) as batch_op:
        for name in _read(days=False):
            batch_op.drop_index(name)
        batch_op.add_column(sa.Column("created_day", sa.Integer(), nullable=False))
        batch_op.add_column(sa.Column("done_day", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rated_day", sa.Integer(), nullable=True))
        for name, columns in _read(days=True).items():
            batch_op.create_index(name, columns, unique=False)
        for name, leading in WALKED.items():
            rest = [c for c in ["created_at", *FILTERED] if c not in leading]
            batch_op.create_index(name, [*leading, *rest], unique=False)
    with op.batch_alter_table("report_backlog_spans", schema=None) as batch_op:
        batch_op.drop_index("ix_report_backlog_spans_opened")
        for name, columns in SPAN_DAYS.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade():
    _start_over()
    with op.batch_alter_table("report_ticket_facts", schema=None) as batch_op:
        for name in [*WALKED, *_read(days=True)]:
            batch_op.drop_index(name)
        for name in DAYS:
            batch_op.drop_column(name)
        for name, columns in _read(days=False).items():
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table("report_backlog_spans", schema=None) as batch_op:
        for name in SPAN_DAYS:
            batch_op.drop_index(name)
        batch_op.create_index("ix_report_backlog_spans_opened", SPAN_OPENED, unique=False)
