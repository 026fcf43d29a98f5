"""business hours: business_schedule (time zone, hours per weekday), business_holidays,
and business_intervals (derived from them for the reports' SQL clock; built on first use)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 04:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'business_schedule',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('time_zone', sa.String(length=64), nullable=False),
        sa.Column('week', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'business_holidays',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('day'),
    )
    op.create_table(
        'business_intervals',
        sa.Column('schedule_key', sa.String(length=16), nullable=False),
        sa.Column('open_s', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('close_s', sa.BigInteger(), nullable=False),
        sa.Column('before_s', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('schedule_key', 'open_s'),
    )


def downgrade():
    op.drop_table('business_intervals')
    op.drop_table('business_holidays')
    op.drop_table('business_schedule')
