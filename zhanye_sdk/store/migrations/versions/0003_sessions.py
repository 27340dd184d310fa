"""Sessions, their event logs and participants; platform secrets.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("meeting_number", sa.String(8), nullable=False, unique=True),
        sa.Column("company_id", sa.String(32), sa.ForeignKey("companies.id"), nullable=False),
        sa.Column("org_id", sa.String(32), sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("host_account_id", sa.String(32), nullable=False),
        sa.Column("host_name", sa.String(64), nullable=False),
        sa.Column("project", sa.String(64)),
        sa.Column("terminal", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("started_ms", sa.BigInteger),
        sa.Column("ended_ms", sa.BigInteger),
        sa.Column("end_reason", sa.String(32)),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("room_snapshot", sa.Text, nullable=False),
        sa.Column("sms_invites", sa.Integer, nullable=False),
    )
    op.create_index("ix_sessions_org_created", "sessions", ["org_id", "created_ms"])
    op.create_index("ix_sessions_host_state", "sessions", ["host_account_id", "state"])
    op.create_table(
        "session_events",
        sa.Column(
            "session_id",
            sa.String(32),
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "session_participants",
        sa.Column(
            "session_id",
            sa.String(32),
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("participant_id", sa.String(32), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("terminal", sa.String(16), nullable=False),
        sa.Column("phone", sa.String(20)),
        sa.Column("recording_ack_ms", sa.BigInteger),
        sa.Column("first_joined_ms", sa.BigInteger),
        sa.Column("duration_ms", sa.BigInteger, nullable=False),
        sa.Column("score", sa.Integer),
        sa.Column("comment", sa.Text),
    )
    op.create_table(
        "platform_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(128), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("platform_secrets")
    op.drop_table("session_participants")
    op.drop_table("session_events")
    op.drop_index("ix_sessions_host_state", "sessions")
    op.drop_index("ix_sessions_org_created", "sessions")
    op.drop_table("sessions")
