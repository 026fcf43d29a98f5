"""Reports: the kept rows carry a copy of their ticket's filing time and filter columns
(and the per-ticket facts its SLA columns and rating), and the counted events are kept
by ticket and day, so a page reads the kept rows alone and never joins the tickets

The kept tables hold nothing but what the sweep works out again from the tickets: they
are made anew (empty) and the sweep's state is cleared, so its next runs fill them
while pages work every figure out from the tickets meanwhile.

Revision ID: 0024
Revises: 0021
Create Date: 2026-12-06 08:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0021'
branch_labels = None
depends_on = None

# The values as this revision knew them (support/models/ticket.py then).
CHANNELS = ('portal', 'email', 'phone', 'chat', 'api')
PRIORITIES = ('low', 'normal', 'high', 'urgent')
EVENT_KINDS = (
    'created', 'acknowledged', 'reply', 'note', 'status_changed', 'assigned',
    'priority_changed', 'category_changed', 'escalated', 'sla_warning', 'sla_breach',
    'delay_notice', 'workaround', 'follow_up_sent', 'rated', 'reopened', 'merged', 'linked',
    'team_changed', 'category_suggested', 'priority_set', 'routed', 'tags_changed',
    'anonymised',
)


def _ticket_columns():
    """The copy of the ticket's columns every kept row carries."""
    return [
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=True),
        sa.Column('category_id', sa.Integer(), nullable=True),
        sa.Column('channel', sa.Enum(*CHANNELS, name='channel', native_enum=False, length=20), nullable=False),
        sa.Column('priority', sa.Enum(*PRIORITIES, name='priority', native_enum=False, length=20), nullable=False),
        sa.Column('assignee_id', sa.Integer(), nullable=True),
    ]


def _ticket_key():
    return [
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
    ]


def upgrade():
    op.execute('DELETE FROM report_facts_state')
    _drop_0020_tables()
    _create_facts(
        sa.Column('resolved_at', sa.DateTime(), nullable=True),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.Column('first_responded_at', sa.DateTime(), nullable=True),
        sa.Column('first_response_due', sa.DateTime(), nullable=True),
        sa.Column('resolution_due', sa.DateTime(), nullable=True),
        sa.Column('sla_paused_at', sa.DateTime(), nullable=True),
        sa.Column('rated_at', sa.DateTime(), nullable=True),
        sa.Column('rating_score', sa.Integer(), nullable=True),
        *_ticket_columns(),
    )
    with op.batch_alter_table('report_ticket_facts', schema=None) as batch_op:
        batch_op.create_index('ix_report_ticket_facts_created', ['created_at'], unique=False)
        batch_op.create_index('ix_report_ticket_facts_resolved', ['resolved_at'], unique=False)
        batch_op.create_index('ix_report_ticket_facts_closed', ['closed_at'], unique=False)
        batch_op.create_index('ix_report_ticket_facts_rated', ['rated_at'], unique=False)
    _create_spans(*_ticket_columns())
    op.create_table(
        'report_event_counts',
        *_ticket_key(),
        sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('day', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum(*EVENT_KINDS, name='eventkind', native_enum=False, length=24), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('n', sa.Integer(), nullable=False),
        *_ticket_columns(),
        sa.PrimaryKeyConstraint('ticket_id', 'seq'),
    )
    with op.batch_alter_table('report_event_counts', schema=None) as batch_op:
        batch_op.create_index('ix_report_event_counts_day', ['day'], unique=False)


def _drop_0020_tables():
    with op.batch_alter_table('report_backlog_spans', schema=None) as batch_op:
        batch_op.drop_index('ix_report_backlog_spans_closed')
        batch_op.drop_index('ix_report_backlog_spans_opened')
    op.drop_table('report_backlog_spans')
    op.drop_table('report_ticket_facts')


def downgrade():
    """Back to 0020's kept tables, empty (the sweep of that version fills them again)."""
    op.execute('DELETE FROM report_facts_state')
    with op.batch_alter_table('report_event_counts', schema=None) as batch_op:
        batch_op.drop_index('ix_report_event_counts_day')
    op.drop_table('report_event_counts')
    with op.batch_alter_table('report_ticket_facts', schema=None) as batch_op:
        for name in ('rated', 'closed', 'resolved', 'created'):
            batch_op.drop_index(f'ix_report_ticket_facts_{name}')
    _drop_0020_tables()
    _create_facts()
    _create_spans()


def _create_facts(*more):
    op.create_table(
        'report_ticket_facts',
        *_ticket_key(),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('fr', sa.BigInteger(), nullable=True),
        sa.Column('res', sa.BigInteger(), nullable=True),
        *more,
        sa.PrimaryKeyConstraint('ticket_id'),
    )


def _create_spans(*more):
    op.create_table(
        'report_backlog_spans',
        *_ticket_key(),
        sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        *more,
        sa.PrimaryKeyConstraint('ticket_id', 'seq'),
    )
    with op.batch_alter_table('report_backlog_spans', schema=None) as batch_op:
        batch_op.create_index('ix_report_backlog_spans_opened', ['opened_at'], unique=False)
        batch_op.create_index('ix_report_backlog_spans_closed', ['closed_at'], unique=False)
