"""The hang-up SMS (挂机短信) and the missed-call reply (未接来电回复) as the shop set
them: text, on/off, quiet hours and cooldown.

Revision ID: m0008
Revises: m0007
"""

import sqlalchemy as sa
from alembic import op

revision = "m0008"
down_revision = "m0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merchant_auto_sms_settings",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("template", sa.Text, nullable=False),
        sa.Column("quiet_start", sa.String(5)),
        sa.Column("quiet_end", sa.String(5)),
        sa.Column("cooldown_s", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("merchant_auto_sms_settings")
