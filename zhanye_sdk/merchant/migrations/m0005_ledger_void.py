"""Voided bills (冲红): when and why, kept on the bill.

Revision ID: m0005
Revises: m0004
"""

import sqlalchemy as sa
from alembic import op

revision = "m0005"
down_revision = "m0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("merchant_ledger") as batch:
        batch.add_column(sa.Column("voided_ms", sa.BigInteger))
        batch.add_column(sa.Column("void_reason", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("merchant_ledger") as batch:
        batch.drop_column("void_reason")
        batch.drop_column("voided_ms")
