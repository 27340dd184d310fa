"""The fencing token of each session's owner: a write must carry it, a new owner raises it.

Revision ID: 0007_room_fence
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_room_fence"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(
            sa.Column("owner_fence", sa.BigInteger, nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("owner_fence")
