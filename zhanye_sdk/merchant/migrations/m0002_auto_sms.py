"""When the desk last texted a number by itself (for the cooldown).

Revision ID: m0002
Revises: m0001
"""

import sqlalchemy as sa
from alembic import op

revision = "m0002"
down_revision = "m0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merchant_auto_sms",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("sent_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_merchant_auto_sms_phone", "merchant_auto_sms", ["phone", "kind", "sent_ms"])


def downgrade() -> None:
    op.drop_table("merchant_auto_sms")
