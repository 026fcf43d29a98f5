"""users.session_version: logging out ends every copy of a session or remember cookie

Flask-Login's cookies carry "id.version"; raising the version ends them all.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 21:37:04.212971

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='1', nullable=False))



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')

