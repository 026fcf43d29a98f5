"""tickets.next_due_at and board_sort_key, stored for the board; ix_tickets_board on them

The board worked both out per ticket on every request; now they are refreshed on
each write (support/board/keys.py) and the board's index is ordered by the key, so
a column reads its first cards from the index and stops. The backfill states the
rule in SQL here, not by importing the app, so this file keeps working as the app
changes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:20:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OLD_BOARD = [
    "status",
    "board_position",
    "first_responded_at",
    "first_response_due",
    "next_update_due",
    "resolution_due",
    "sla_paused_at",
    "tier",
    "assignee_id",
    "team_id",
    "priority",
    "category_id",
]
NEW_BOARD = [
    "status",
    "board_sort_key",
    "id",
    "next_due_at",
    "sla_paused_at",
    "assignee_id",
    "team_id",
    "priority",
    "category_id",
]

PROMISE = (
    "CASE WHEN first_responded_at IS NULL AND tier = 1 "
    "THEN first_response_due ELSE next_update_due END"
)
DUE = (
    f"CASE WHEN resolution_due IS NULL THEN {PROMISE} "
    f"WHEN ({PROMISE}) IS NULL THEN resolution_due "
    f"WHEN resolution_due < ({PROMISE}) THEN resolution_due ELSE {PROMISE} END"
)
EPOCH = {
    "sqlite": "((julianday({}) - 2440587.5) * 86400.0)",
    "postgresql": "EXTRACT(EPOCH FROM {})",
}
NO_DUE = "1e12"


def upgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_due_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("board_sort_key", sa.Double(), nullable=True))
        batch_op.drop_index("ix_tickets_board")
        batch_op.create_index("ix_tickets_board", NEW_BOARD, unique=False)
    epoch = EPOCH[op.get_bind().dialect.name].format(f"({DUE})")
    op.execute(
        f"UPDATE tickets SET next_due_at = {DUE}, "
        f"board_sort_key = COALESCE(board_position, {epoch}, {NO_DUE})"
    )


def downgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_board")
        batch_op.create_index("ix_tickets_board", OLD_BOARD, unique=False)
        batch_op.drop_column("board_sort_key")
        batch_op.drop_column("next_due_at")
