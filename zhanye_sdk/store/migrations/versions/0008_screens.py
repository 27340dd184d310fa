"""The manual's remaining screens: who created an account or organization (创建人), a
session's title and insurance outcome (是否投保), and the answers of shared assessments
(测评) kept with the session record.

Revision ID: 0008_screens
Revises: 0006_whiteboard_pages, 0007_company_logins

After 0007_company_logins: that one rebuilds ``accounts`` on SQLite from a fixed
definition, which would drop columns added before it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_screens"
down_revision = ("0006_whiteboard_pages", "0007_company_logins")
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("created_by", sa.String(32)))
        batch.add_column(sa.Column("created_by_name", sa.String(64)))
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("created_by", sa.String(32)))
        batch.add_column(sa.Column("created_by_name", sa.String(64)))
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("title", sa.String(64)))
        batch.add_column(sa.Column("insured", sa.Boolean))
        batch.add_column(sa.Column("insured_by", sa.String(64)))
        batch.add_column(sa.Column("insured_ms", sa.BigInteger))
    op.create_table(
        "session_assessments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "session_id",
            sa.String(32),
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("share_id", sa.String(32), nullable=False),
        sa.Column("material_id", sa.String(32)),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("participant_id", sa.String(32), nullable=False),
        sa.Column("participant_name", sa.String(64), nullable=False),
        sa.Column("answers", sa.Text, nullable=False),
        sa.Column("submitted_ms", sa.BigInteger, nullable=False),
        sa.Index("ix_session_assessments_session", "session_id"),
    )


def downgrade() -> None:
    op.drop_table("session_assessments")
    with op.batch_alter_table("sessions") as batch:
        for name in ("insured_ms", "insured_by", "insured", "title"):
            batch.drop_column(name)
    for table in ("organizations", "accounts"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("created_by_name")
            batch.drop_column("created_by")
