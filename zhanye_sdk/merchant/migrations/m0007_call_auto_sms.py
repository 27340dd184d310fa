"""What became of each call's automatic SMS (sent, or why not), kept on the call so
the call log can say it.

Revision ID: m0007
Revises: m0006
"""

import sqlalchemy as sa
from alembic import op

revision = "m0007"
down_revision = "m0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("merchant_calls") as batch:
        batch.add_column(sa.Column("auto_sms", sa.String(16)))
        batch.add_column(sa.Column("auto_sms_detail", sa.Text))
    op.create_index("ix_merchant_calls_started", "merchant_calls", ["started_ms"])


def downgrade() -> None:
    op.drop_index("ix_merchant_calls_started", "merchant_calls")
    with op.batch_alter_table("merchant_calls") as batch:
        batch.drop_column("auto_sms_detail")
        batch.drop_column("auto_sms")
