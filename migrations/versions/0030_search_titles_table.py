"""The board's search at 200,000 tickets on PostgreSQL: the titles' tsvectors move from
the wide search table to a narrow table of their own, ticket_search_titles

A team's overdue tickets searched by title read one title vector per ticket (14,500 at
200,000 tickets); from the wide rows (title, body, document: a few per page) that was
most of the board's 68 ms of server CPU. SQLite's FTS5 table searches its title column
from its own index: nothing to do there.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06 15:00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

# As support/tickets/search.py has it now (a migration never follows later changes).
# IF NOT EXISTS: migration 0013 makes the search tables with search.schema() as it is
# today, which has this table already.
CREATE_TABLE = (
    "CREATE TABLE IF NOT EXISTS ticket_search_titles ("
    "ticket_id INTEGER PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE, "
    "title_vector TSVECTOR NOT NULL)"
)
CREATE_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_ticket_search_titles_title_vector "
    "ON ticket_search_titles USING gin (title_vector)"
)
FILL = (
    "INSERT INTO ticket_search_titles (ticket_id, title_vector) "
    "SELECT ticket_id, to_tsvector('english', title) FROM ticket_search "
    "ON CONFLICT (ticket_id) DO UPDATE SET title_vector = excluded.title_vector"
)
# Migration 0026's column (its index goes with it).
OLD_COLUMN = (
    "ALTER TABLE ticket_search ADD COLUMN IF NOT EXISTS title_vector TSVECTOR "
    "GENERATED ALWAYS AS (to_tsvector('english', title)) STORED"
)
OLD_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_ticket_search_title_vector ON ticket_search "
    "USING gin (title_vector)"
)


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CREATE_TABLE)
        op.execute(FILL)
        op.execute(CREATE_INDEX)  # after the rows: one pass, not each through GIN's pending list
        op.execute("ALTER TABLE ticket_search DROP COLUMN IF EXISTS title_vector")
        op.execute("ANALYZE ticket_search_titles")  # planned from its statistics at once


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(OLD_COLUMN)
        op.execute(OLD_INDEX)
        op.execute("DROP TABLE IF EXISTS ticket_search_titles")
