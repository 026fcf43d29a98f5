"""Knowledge-base insights: searches, article views, suggestions shown while filing

None of them keeps who searched, read or wrote: searches keep the query and a
random per-search-box token, suggestions the new-ticket form's client token.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 00:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'kb_searches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=True),
        sa.Column('query', sa.String(length=200), nullable=False),
        sa.Column('results', sa.Integer(), nullable=False),
        sa.Column('clicked', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token'),
    )
    op.create_index('ix_kb_searches_created', 'kb_searches', ['created_at'], unique=False)
    op.create_table(
        'kb_article_views',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('slug', sa.String(length=120), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(
        'ix_kb_article_views_created_slug', 'kb_article_views', ['created_at', 'slug'], unique=False
    )
    op.create_table(
        'kb_suggestions_shown',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('form_token', sa.String(length=64), nullable=False),
        sa.Column('slug', sa.String(length=120), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(
        'ix_kb_suggestions_shown_created', 'kb_suggestions_shown', ['created_at'], unique=False
    )
    op.create_index(
        'uq_kb_suggestions_shown_form_slug',
        'kb_suggestions_shown',
        ['form_token', 'slug'],
        unique=True,
    )


def downgrade():
    op.drop_index('uq_kb_suggestions_shown_form_slug', table_name='kb_suggestions_shown')
    op.drop_index('ix_kb_suggestions_shown_created', table_name='kb_suggestions_shown')
    op.drop_table('kb_suggestions_shown')
    op.drop_index('ix_kb_article_views_created_slug', table_name='kb_article_views')
    op.drop_table('kb_article_views')
    op.drop_index('ix_kb_searches_created', table_name='kb_searches')
    op.drop_table('kb_searches')
