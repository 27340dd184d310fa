"""Indexes for the session records list (company-wide and per host, newest first).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sessions_company_created", "sessions", ["company_id", "created_ms"])
    op.create_index("ix_sessions_host_created", "sessions", ["host_account_id", "created_ms"])


def downgrade() -> None:
    op.drop_index("ix_sessions_host_created", "sessions")
    op.drop_index("ix_sessions_company_created", "sessions")
