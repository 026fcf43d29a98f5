"""PostgreSQL vacuums `tickets` after 2 % of its rows changed or were inserted, not 20 %

The board's column counts read ix_tickets_board alone on pages the visibility map marks
all-visible, and the table itself (with every dead row version) elsewhere: 3.5 ms of
server CPU a board on a vacuumed table of 10,000 open tickets, 10.5 ms with a dead copy
of each. Open tickets change all day, and at the default 20 % a table of 100,000 tickets
waits for 20,000 changes between vacuums. Storage parameters only: nothing is rewritten.
SQLite has no autovacuum of this kind: nothing to do there.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 01:00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

# As support/models/ticket.py's TICKETS_STORAGE has them now (a migration never follows
# later changes).
SETTINGS = {
    "autovacuum_vacuum_scale_factor": "0.02",
    "autovacuum_vacuum_insert_scale_factor": "0.02",
}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    pairs = ", ".join(f"{name} = {value}" for name, value in SETTINGS.items())
    op.execute(f"ALTER TABLE tickets SET ({pairs})")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE tickets RESET ({', '.join(SETTINGS)})")
