"""privacy: audit log (append-only), data exports, erasure requests, retention settings;
users.erased_at and tickets.anonymised_at

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 00:40:00

"""
import sqlalchemy as sa
from alembic import op

from support.models.privacy import AUDIT_TRIGGERS

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

_JOB_STATES = sa.Enum('queued', 'running', 'done', 'failed', 'refused', name='jobstate',
                      native_enum=False, length=20)
_ERASURE_STATES = sa.Enum('requested', 'running', 'done', 'failed', 'cancelled',
                          name='erasurestate', native_enum=False, length=20)


def upgrade():
    op.create_table(
        'audit_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('target_type', sa.String(length=20), nullable=True),
        sa.Column('target_id', sa.String(length=40), nullable=True),
        sa.Column('details', sa.JSON(), nullable=True),
        sa.Column('address', sa.String(length=45), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_log_created', 'audit_log', ['created_at'])
    op.create_index('ix_audit_log_action_created', 'audit_log', ['action', 'created_at'])
    op.create_index('ix_audit_log_actor_created', 'audit_log', ['actor_id', 'created_at'])
    for sql in AUDIT_TRIGGERS.get(op.get_bind().dialect.name, []):
        op.execute(sql)

    op.create_table(
        'data_exports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('state', _JOB_STATES, nullable=False),
        sa.Column('done_items', sa.Integer(), nullable=False),
        sa.Column('total_items', sa.Integer(), nullable=False),
        sa.Column('file_key', sa.String(length=64), nullable=True),
        sa.Column('size', sa.Integer(), nullable=True),
        sa.Column('error', sa.String(length=300), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_data_exports_user_created', 'data_exports', ['user_id', 'created_at'])

    op.create_table(
        'erasure_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('state', _ERASURE_STATES, nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
        sa.Column('confirmed_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('error', sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['users.id']),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id']),
        sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_erasure_requests_customer', 'erasure_requests', ['customer_id', 'state'])

    op.create_table(
        'privacy_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('anonymise_closed_after_days', sa.Integer(), nullable=True),
        sa.Column('delete_files_after_days', sa.Integer(), nullable=True),
        sa.Column('audit_days', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
    op.drop_table('privacy_settings')
    op.drop_index('ix_erasure_requests_customer', table_name='erasure_requests')
    op.drop_table('erasure_requests')
    op.drop_index('ix_data_exports_user_created', table_name='data_exports')
    op.drop_table('data_exports')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS audit_log_guard ON audit_log')
        op.execute('DROP FUNCTION IF EXISTS audit_log_guard()')
    op.drop_table('audit_log')
