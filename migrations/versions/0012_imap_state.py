"""imap_mailbox_state: how far IMAP polling got in each mailbox (UIDVALIDITY and UID watermark)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 00:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'imap_mailbox_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('mailbox', sa.String(length=500), nullable=False),
        sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
        sa.Column('last_uid', sa.BigInteger(), nullable=False),
        sa.Column('polled_at', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_imap_mailbox_state')),
        sa.UniqueConstraint('mailbox', name=op.f('uq_imap_mailbox_state_mailbox')),
    )


def downgrade():
    op.drop_table('imap_mailbox_state')
