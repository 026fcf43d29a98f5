"""The queue and the board at 200,000 tickets: unassigned open work by priority from an
index, and (PostgreSQL) the search titles' own GIN index for the board's search

An agent's (or nobody's) tickets by status and priority: sorting "unassigned, open, most
urgent first" reads index entries, then fetches the 50 rows of the page. The board
searches ticket titles only (reference, subject, customer): on PostgreSQL a GIN index on
the title's tsvector finds them (support/tickets/search.py TITLE_VECTOR); SQLite's FTS5
table filters by column itself.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 08:50:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

# As support/tickets/search.py has it now (a migration never follows later changes).
TITLE_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_ticket_search_title ON ticket_search "
    "USING gin (to_tsvector('english', title))"
)


def upgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tickets_assignee_status_priority",
            ["assignee_id", "status", "priority"],
            unique=False,
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(TITLE_INDEX)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_ticket_search_title")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_assignee_status_priority")
