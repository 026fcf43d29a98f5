"""knowledge base: article feedback ("Was this helpful?") and ticket deflections

Revision ID: d19ba55dd4b0
Revises: b9ef13673e4d
Create Date: 2026-11-23 16:30:28.933138

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd19ba55dd4b0'
down_revision = 'b9ef13673e4d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('kb_article_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('helpful', sa.Boolean(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_kb_article_feedback_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_article_feedback'))
    )
    with op.batch_alter_table('kb_article_feedback', schema=None) as batch_op:
        batch_op.create_index('ix_kb_article_feedback_slug_created', ['slug', 'created_at'], unique=False)

    op.create_table('kb_deflections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('query', sa.Text(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_kb_deflections_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_deflections'))
    )
    with op.batch_alter_table('kb_deflections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_deflections_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_kb_deflections_slug_created', ['slug', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('kb_deflections', schema=None) as batch_op:
        batch_op.drop_index('ix_kb_deflections_slug_created')
        batch_op.drop_index(batch_op.f('ix_kb_deflections_created_at'))

    op.drop_table('kb_deflections')
    with op.batch_alter_table('kb_article_feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_kb_article_feedback_slug_created')

    op.drop_table('kb_article_feedback')
