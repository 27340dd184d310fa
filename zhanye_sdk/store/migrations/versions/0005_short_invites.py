"""Short invite codes (/j/<code>): code → signed invite token, expiring with it.

Revision ID: 0005_short_invites
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_short_invites"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "short_invites",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column(
            "session_id",
            sa.String(32),
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("expires_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_short_invites_expires", "short_invites", ["expires_ms"])


def downgrade() -> None:
    op.drop_index("ix_short_invites_expires", "short_invites")
    op.drop_table("short_invites")
