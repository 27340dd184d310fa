"""Media of each session: recording status, folder and hash-chained manifest; network summary.

Revision ID: 0005_media
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_media"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_media",
        sa.Column(
            "session_id",
            sa.String(32),
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("recording_status", sa.String(16), nullable=True),
        sa.Column("recording_folder", sa.Text, nullable=True),
        sa.Column("manifest", sa.Text, nullable=True),
        sa.Column("manifest_head", sa.String(64), nullable=True),
        sa.Column("recording_started_ms", sa.BigInteger, nullable=True),
        sa.Column("recording_ended_ms", sa.BigInteger, nullable=True),
        sa.Column("recording_ms", sa.BigInteger, nullable=True),
        sa.Column("recording_error", sa.Text, nullable=True),
        sa.Column("network_summary", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("session_media")
