"""canned_responses: macros (a canned response that also sets status, priority, tags, assignee)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 00:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('canned_responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('set_status', sa.Enum('new', 'open', 'pending', 'on_hold', 'escalated', 'resolved', 'closed', name='status', native_enum=False, length=20), nullable=True))
        batch_op.add_column(sa.Column('set_priority', sa.Enum('low', 'normal', 'high', 'urgent', name='priority', native_enum=False, length=20), nullable=True))
        batch_op.add_column(sa.Column('add_tags', sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column('set_assignee_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_canned_responses_set_assignee_id_users'), 'users', ['set_assignee_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('canned_responses', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_canned_responses_set_assignee_id_users'), type_='foreignkey')
        batch_op.drop_column('set_assignee_id')
        batch_op.drop_column('add_tags')
        batch_op.drop_column('set_priority')
        batch_op.drop_column('set_status')
