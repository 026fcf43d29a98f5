"""board index covers the tier; index tickets.merged_into_id

The board's due time depends on the tier (escalated tickets owe an update, not a
first response), so ix_tickets_board covers it to keep the column queries off the
table. A ticket's timeline joins the tickets merged into it: merged_into_id is
looked up on every timeline read.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 19:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

OLD_BOARD = ['status', 'board_position', 'first_responded_at', 'first_response_due',
             'next_update_due', 'resolution_due', 'sla_paused_at', 'assignee_id', 'team_id',
             'priority', 'category_id']
NEW_BOARD = [*OLD_BOARD[:7], 'tier', *OLD_BOARD[7:]]


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_board')
        batch_op.create_index('ix_tickets_board', NEW_BOARD, unique=False)
        batch_op.create_index(
            batch_op.f('ix_tickets_merged_into_id'), ['merged_into_id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_merged_into_id'))
        batch_op.drop_index('ix_tickets_board')
        batch_op.create_index('ix_tickets_board', OLD_BOARD, unique=False)
