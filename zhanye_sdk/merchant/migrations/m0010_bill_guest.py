"""Who a bill was for (流水录入: 姓名、性别、电话), kept on the bill as typed.

Revision ID: m0010
Revises: m0009
"""

import sqlalchemy as sa
from alembic import op

revision = "m0010"
down_revision = "m0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("merchant_ledger") as batch:
        batch.add_column(sa.Column("guest_name", sa.String(64)))
        batch.add_column(sa.Column("guest_gender", sa.String(8)))
        batch.add_column(sa.Column("guest_phone", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("merchant_ledger") as batch:
        batch.drop_column("guest_phone")
        batch.drop_column("guest_gender")
        batch.drop_column("guest_name")
