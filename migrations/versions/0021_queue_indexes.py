"""The queue at 200,000 tickets: partial indexes of open work (latest first, by due time),
an agent's and a team's tickets by status, a tag's tickets from the index alone,
users by role

The partial indexes hold open tickets only (support/models/ticket.py ACTIVE_SQL), so a
queue page reads its 50 rows from them whatever the closed history. ticket_tags' index
on tag_id alone becomes (tag_id, ticket_id): filtering by tag no longer reads the table.
Users by role and name: the "assign to" lists read the team, not every customer.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 04:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# The open statuses as this revision knew them (support/models/ticket.py ACTIVE_SQL then):
# a migration never follows later changes to the models.
ACTIVE_SQL = "status IN ('new', 'open', 'pending', 'on_hold', 'escalated')"


def upgrade():
    open_work = sa.text(ACTIVE_SQL)
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tickets_open_updated",
            ["updated_at", "id"],
            unique=False,
            sqlite_where=open_work,
            postgresql_where=open_work,
        )
        batch_op.create_index(
            "ix_tickets_open_due",
            ["next_due_at", "id", "sla_paused_at"],
            unique=False,
            sqlite_where=open_work,
            postgresql_where=open_work,
        )
        batch_op.create_index(
            "ix_tickets_assignee_status", ["assignee_id", "status", "updated_at"], unique=False
        )
        batch_op.create_index(
            "ix_tickets_team_status", ["team_id", "status", "priority", "updated_at"], unique=False
        )
    with op.batch_alter_table("ticket_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_tags_tag_id")
        batch_op.create_index("ix_ticket_tags_tag_ticket", ["tag_id", "ticket_id"], unique=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_role_name", ["role", "name"], unique=False)


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_role_name")
    with op.batch_alter_table("ticket_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_tags_tag_ticket")
        batch_op.create_index("ix_ticket_tags_tag_id", ["tag_id"], unique=False)
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_team_status")
        batch_op.drop_index("ix_tickets_assignee_status")
        batch_op.drop_index("ix_tickets_open_due")
        batch_op.drop_index("ix_tickets_open_updated")
