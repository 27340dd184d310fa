"""Which line of the desk phone each call was on: the SIM's (``gsm``) or the optional
landline port's (``pstn``, 一机双号). Calls from before are the SIM's.

Revision ID: m0012
Revises: m0011
"""

import sqlalchemy as sa
from alembic import op

revision = "m0012"
down_revision = "m0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("merchant_calls") as batch:
        batch.add_column(sa.Column("line", sa.String(8), nullable=False, server_default="gsm"))


def downgrade() -> None:
    with op.batch_alter_table("merchant_calls") as batch:
        batch.drop_column("line")
