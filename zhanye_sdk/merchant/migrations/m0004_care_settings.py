"""Customer-care settings kept by the desk: the birthday greeting and the holidays.

Revision ID: m0004
Revises: m0003
"""

import sqlalchemy as sa
from alembic import op

revision = "m0004"
down_revision = "m0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merchant_care_settings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("birthday_enabled", sa.Boolean, nullable=False),
        sa.Column("birthday_template", sa.Text, nullable=False),
        sa.Column("send_at", sa.String(5), nullable=False),
    )
    op.create_table(
        "merchant_holidays",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("day", sa.String(10), nullable=False, unique=True),
        sa.Column("template", sa.Text, nullable=False),
        sa.Column("send_at", sa.String(5), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("merchant_holidays")
    op.drop_table("merchant_care_settings")
