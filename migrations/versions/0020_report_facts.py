"""Reports: per-ticket facts kept by the sweep (clock times, stretches in the backlog)
and how far it has kept them

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 04:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'report_ticket_facts',
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('fr', sa.BigInteger(), nullable=True),
        sa.Column('res', sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('ticket_id'),
    )
    op.create_table(
        'report_backlog_spans',
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('ticket_id', 'seq'),
    )
    with op.batch_alter_table('report_backlog_spans', schema=None) as batch_op:
        batch_op.create_index('ix_report_backlog_spans_opened', ['opened_at'], unique=False)
        batch_op.create_index('ix_report_backlog_spans_closed', ['closed_at'], unique=False)
    op.create_table(
        'report_facts_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=True),
        sa.Column('watermark', sa.DateTime(), nullable=True),
        sa.Column('cursor_updated_at', sa.DateTime(), nullable=True),
        sa.Column('cursor_id', sa.Integer(), nullable=True),
        sa.Column('target', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade():
    op.drop_table('report_facts_state')
    with op.batch_alter_table('report_backlog_spans', schema=None) as batch_op:
        batch_op.drop_index('ix_report_backlog_spans_closed')
        batch_op.drop_index('ix_report_backlog_spans_opened')
    op.drop_table('report_backlog_spans')
    op.drop_table('report_ticket_facts')
