"""The annotated pages of each session's whiteboard, rendered at its end for the record.

Revision ID: 0006_whiteboard_pages
Revises: 0005_whiteboard
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_whiteboard_pages"
down_revision = "0005_whiteboard"
branch_labels = None
depends_on = None


def _session_key() -> sa.Column[str]:
    return sa.Column(
        "session_id",
        sa.String(32),
        sa.ForeignKey("sessions.id", ondelete="CASCADE"),
        primary_key=True,
    )


def upgrade() -> None:
    op.create_table(
        "whiteboard_records",
        _session_key(),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("rendered_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "whiteboard_pages",
        _session_key(),
        sa.Column("document", sa.String(64), primary_key=True),
        sa.Column("page", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("strokes", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("png", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("whiteboard_pages")
    op.drop_table("whiteboard_records")
