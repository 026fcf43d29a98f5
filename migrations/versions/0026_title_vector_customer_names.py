"""The board's search and the queue's sort by customer at 200,000 tickets: (PostgreSQL)
the search titles' tsvector stored, with its own GIN index, instead of an index on the
expression; (both) customers by name

The queue sorted by customer reads customers in name order (ix_users_name) and each
one's tickets, and stops after a page, instead of sorting all open work.

A plan that tests a team's tickets one by one parsed each title again
(to_tsvector per row: 110 ms of server CPU for 14,500 rows); a stored generated column
is read instead, written by PostgreSQL whenever the ticket service writes the title
(support/tickets/search.py refresh). Adding it fills it for every existing document.
SQLite's FTS5 table searches its title column from its own index: nothing to do there.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 11:30:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

# As support/tickets/search.py has it now (a migration never follows later changes).
# IF NOT EXISTS: migration 0013 makes the search table with search.schema() as it is
# today, which has the column already.
ADD_COLUMN = (
    "ALTER TABLE ticket_search ADD COLUMN IF NOT EXISTS title_vector TSVECTOR "
    "GENERATED ALWAYS AS (to_tsvector('english', title)) STORED"
)
ADD_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_ticket_search_title_vector ON ticket_search "
    "USING gin (title_vector)"
)
# Migration 0025's index, which nothing reads any more.
OLD_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_ticket_search_title ON ticket_search "
    "USING gin (to_tsvector('english', title))"
)


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_name", ["name"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(ADD_COLUMN)
        op.execute(ADD_INDEX)
        op.execute("DROP INDEX IF EXISTS ix_ticket_search_title")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(OLD_INDEX)
        op.execute("DROP INDEX IF EXISTS ix_ticket_search_title_vector")
        op.execute("ALTER TABLE ticket_search DROP COLUMN IF EXISTS title_vector")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_name")
