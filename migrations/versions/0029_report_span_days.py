"""Reports: a kept stretch in the backlog carries the days it began and ended and its
ticket's filing time in whole seconds, so the page counts integers rather than working
them out from three timestamps of each of the ~60,000 stretches a 90-day range reads

The kept stretches hold nothing but what the sweep works out again from the tickets:
they are emptied, with the sweep's state, so its next runs fill every kept table anew
while pages work every figure out from the tickets meanwhile.

Revision ID: 0029
Revises: 0027
Create Date: 2026-12-06 15:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0029"
down_revision = "0027"
branch_labels = None
depends_on = None

# As support/models/report.py has them now (a migration never follows later changes).
FILTERED = ["team_id", "category_id", "channel", "priority", "assignee_id", "ticket_id"]
COUNTED = ["opened_day", "closed_day", "filed_s"]
INDEXES = {
    "ix_report_backlog_spans_opened": ["opened_at", "closed_at"],
    "ix_report_backlog_spans_closed": ["closed_at", "opened_at"],
}


def _start_over() -> None:
    op.execute("DELETE FROM report_facts_state")
    op.execute("DELETE FROM report_backlog_spans")


def upgrade():
    _start_over()
    with op.batch_alter_table("report_backlog_spans", schema=None) as batch_op:
        for name in INDEXES:
            batch_op.drop_index(name)
        batch_op.add_column(sa.Column("opened_day", sa.Integer(), nullable=False))
        batch_op.add_column(sa.Column("closed_day", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("filed_s", sa.BigInteger(), nullable=False))
        for name, times in INDEXES.items():
            batch_op.create_index(name, [*times, *COUNTED, *FILTERED], unique=False)


def downgrade():
    _start_over()
    with op.batch_alter_table("report_backlog_spans", schema=None) as batch_op:
        for name in INDEXES:
            batch_op.drop_index(name)
        for name in COUNTED:
            batch_op.drop_column(name)
        for name, times in INDEXES.items():
            batch_op.create_index(name, [*times, "created_at", *FILTERED], unique=False)
