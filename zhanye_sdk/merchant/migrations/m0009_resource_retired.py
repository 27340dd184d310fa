"""Rooms and tables taken out of use at the desk: kept for the bookings they had.

Revision ID: m0009
Revises: m0008
"""

import sqlalchemy as sa
from alembic import op

revision = "m0009"
down_revision = "m0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("merchant_resources") as batch:
        batch.add_column(
            sa.Column("retired", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("merchant_resources") as batch:
        batch.drop_column("retired")
