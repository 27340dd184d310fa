"""The live SOP assistant's input log (so a host restart loses nothing), and the QA
report's score and verdict as columns of the session's SOP report (the records list).

Revision ID: 0006_sop_assist_inputs
Revises: 0005_sop
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0006_sop_assist_inputs"
down_revision = "0005_sop"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sop_assist_inputs",
        sa.Column(
            "session_id",
            sa.String(32),
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
    )
    op.add_column("sop_session_reports", sa.Column("qa_score", sa.Integer))
    op.add_column("sop_session_reports", sa.Column("qa_passed", sa.Boolean))
    # Reports written before this revision get their columns from the stored JSON.
    reports = sa.table(
        "sop_session_reports",
        sa.column("session_id", sa.String),
        sa.column("qa", sa.Text),
        sa.column("qa_score", sa.Integer),
        sa.column("qa_passed", sa.Boolean),
    )
    bind = op.get_bind()
    for session_id, qa in bind.execute(sa.select(reports.c.session_id, reports.c.qa)).all():
        report = json.loads(qa)
        bind.execute(
            reports.update()
            .where(reports.c.session_id == session_id)
            .values(qa_score=int(report["score"]), qa_passed=bool(report["passed"]))
        )


def downgrade() -> None:
    with op.batch_alter_table("sop_session_reports") as batch:
        batch.drop_column("qa_passed")
        batch.drop_column("qa_score")
    op.drop_table("sop_assist_inputs")
