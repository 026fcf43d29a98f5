"""The agents' queue: ticket search (FTS5 / tsvector + GIN), saved views, an index by update

The search table's SQL is support/tickets/search.py's (schema()); its documents are
written here once for the tickets that exist, and from then on by the ticket service.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 00:45:00

"""

from alembic import op
import sqlalchemy as sa

from support.tickets import search

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("query", sa.String(length=1000), nullable=False),
        sa.Column("is_shared", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner_id", "name", name="uq_saved_views_owner_name"),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_updated", ["updated_at", "id"], unique=False)
    connection = op.get_bind()
    for statement in search.schema(connection.dialect.name):
        op.execute(statement)
    search.rebuild(connection)


def downgrade():
    # search.schema() as it is today may have made the titles' table too (migration 0030).
    op.execute(f"DROP TABLE IF EXISTS {search.TITLES}")
    op.execute(f"DROP TABLE IF EXISTS {search.TABLE}")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_updated")
    op.drop_table("saved_views")
