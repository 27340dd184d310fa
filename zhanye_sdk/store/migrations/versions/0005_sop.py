"""SOP library: script categories and scripts, flows, templates, QA rules; session reports.

Revision ID: 0005_sop
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_sop"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sop_script_categories",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "company_id",
            sa.String(32),
            sa.ForeignKey("companies.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "parent_id",
            sa.String(32),
            sa.ForeignKey("sop_script_categories.id", ondelete="CASCADE"),
        ),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_sop_script_categories_company", "sop_script_categories", ["company_id"])
    op.create_table(
        "sop_scripts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "company_id",
            sa.String(32),
            sa.ForeignKey("companies.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "category_id",
            sa.String(32),
            sa.ForeignKey("sop_script_categories.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("keywords", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_sop_scripts_company_category", "sop_scripts", ["company_id", "category_id"])
    op.create_table(
        "sop_flows",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "company_id",
            sa.String(32),
            sa.ForeignKey("companies.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("material_id", sa.String(32), sa.ForeignKey("materials.id", ondelete="SET NULL")),
        sa.Column("pages", sa.Text, nullable=False),
        sa.Column("nodes", sa.Text, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_sop_flows_company", "sop_flows", ["company_id"])
    op.create_table(
        "sop_templates",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "company_id",
            sa.String(32),
            sa.ForeignKey("companies.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_sop_templates_company", "sop_templates", ["company_id"])
    op.create_table(
        "sop_template_flows",
        sa.Column(
            "template_id",
            sa.String(32),
            sa.ForeignKey("sop_templates.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column(
            "flow_id",
            sa.String(32),
            sa.ForeignKey("sop_flows.id", ondelete="CASCADE"),
            nullable=False,
        ),
    )
    op.create_index("ix_sop_template_flows_flow", "sop_template_flows", ["flow_id"])
    op.create_table(
        "sop_template_orgs",
        sa.Column(
            "template_id",
            sa.String(32),
            sa.ForeignKey("sop_templates.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "org_id",
            sa.String(32),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_sop_template_orgs_org", "sop_template_orgs", ["org_id"])
    op.create_table(
        "sop_qa_rules",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "company_id",
            sa.String(32),
            sa.ForeignKey("companies.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_sop_qa_rules_company", "sop_qa_rules", ["company_id"])
    op.create_table(
        "sop_session_reports",
        sa.Column(
            "session_id",
            sa.String(32),
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("steps", sa.Text, nullable=False),
        sa.Column("qa", sa.Text, nullable=False),
        sa.Column("written_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sop_session_reports")
    op.drop_table("sop_qa_rules")
    op.drop_table("sop_template_orgs")
    op.drop_table("sop_template_flows")
    op.drop_table("sop_templates")
    op.drop_table("sop_flows")
    op.drop_table("sop_scripts")
    op.drop_table("sop_script_categories")
