"""Record export jobs shared by the processes of a scale-out deployment.

Revision ID: 0009_export_jobs
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_export_jobs"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "export_jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("owner_id", sa.String(32), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("done", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("claimed_by", sa.String(128)),
        sa.Column("claimed_until_ms", sa.BigInteger),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("finished_ms", sa.BigInteger),
        sa.Column("content", sa.LargeBinary),
    )
    op.create_index("ix_export_jobs_owner_id", "export_jobs", ["owner_id"])
    op.create_index("ix_export_jobs_state", "export_jobs", ["state"])


def downgrade() -> None:
    op.drop_index("ix_export_jobs_state", "export_jobs")
    op.drop_index("ix_export_jobs_owner_id", "export_jobs")
    op.drop_table("export_jobs")
