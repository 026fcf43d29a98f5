"""Reports: the kept tables' indexes carry every column a page reads for its range, so
the 90-day page reads index entries in order and never the rows they point to

At 200,000 tickets a 90-day page reads ~45,000 kept rows per statement; through the
one-column indexes SQLite looked up each row (~1 µs each, most of the statement's time)
and PostgreSQL visited the heap. Each index keeps its leading column and adds the
copied filter columns, the ticket, and what the statements count. The ratings get an
index on their time: the latest comments are the newest five of the range.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 11:50:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

# As support/models/report.py has them now (a migration never follows later changes).
FILTERED = ["team_id", "category_id", "channel", "priority", "assignee_id", "ticket_id"]
SLA = ["first_responded_at", "first_response_due", "resolution_due", "sla_paused_at"]
WIDE = {
    "report_ticket_facts": {
        "ix_report_ticket_facts_created": [
            "created_at", *FILTERED, *SLA, "resolved_at", "closed_at", "fr", "res",
        ],
        "ix_report_ticket_facts_resolved": ["resolved_at", "closed_at", *FILTERED],
        "ix_report_ticket_facts_closed": ["closed_at", "resolved_at", *FILTERED],
        "ix_report_ticket_facts_rated": ["rated_at", "rating_score", *FILTERED],
    },
    "report_backlog_spans": {
        "ix_report_backlog_spans_opened": ["opened_at", "closed_at", "created_at", *FILTERED],
        "ix_report_backlog_spans_closed": ["closed_at", "opened_at", "created_at", *FILTERED],
    },
    "report_event_counts": {
        "ix_report_event_counts_day": ["day", "kind", "actor_id", "n", *FILTERED],
    },
}


def _replace(narrow: bool) -> None:
    for table, indexes in WIDE.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, columns in indexes.items():
                batch_op.drop_index(name)
                batch_op.create_index(name, columns[:1] if narrow else columns, unique=False)


def upgrade():
    _replace(narrow=False)
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.create_index("ix_ratings_created", ["created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.drop_index("ix_ratings_created")
    _replace(narrow=True)
