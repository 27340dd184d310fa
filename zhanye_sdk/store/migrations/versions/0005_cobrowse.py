"""Co-browse shares and their page event logs; mask selectors on link materials.

Revision ID: 0005_cobrowse
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_cobrowse"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("materials") as batch:
        batch.add_column(sa.Column("mask_selectors", sa.Text))
    op.create_table(
        "cobrowse_shares",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "session_id",
            sa.String(32),
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("material_id", sa.String(32)),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("sharer_id", sa.String(32), nullable=False),
        sa.Column("started_ms", sa.BigInteger, nullable=False),
        sa.Column("ended_ms", sa.BigInteger),
    )
    op.create_index("ix_cobrowse_shares_session", "cobrowse_shares", ["session_id"])
    op.create_table(
        "cobrowse_events",
        sa.Column(
            "share_id",
            sa.String(32),
            sa.ForeignKey("cobrowse_shares.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("materials") as batch:
        batch.drop_column("mask_selectors")
    op.drop_table("cobrowse_events")
    op.drop_index("ix_cobrowse_shares_session", "cobrowse_shares")
    op.drop_table("cobrowse_shares")
