"""Which greetings each customer has had (once per customer per occasion).

Revision ID: m0003
Revises: m0002
"""

import sqlalchemy as sa
from alembic import op

revision = "m0003"
down_revision = "m0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merchant_care_sent",
        sa.Column(
            "customer_id",
            sa.Integer,
            sa.ForeignKey("merchant_customers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("occasion", sa.String(64), primary_key=True),
        sa.Column("sent_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("merchant_care_sent")
