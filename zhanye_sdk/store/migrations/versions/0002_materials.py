"""Material library: materials, their organizations, converted page images.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "materials",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("company_id", sa.String(32), sa.ForeignKey("companies.id"), nullable=False),
        sa.Column(
            "owner_org_id",
            sa.String(32),
            sa.ForeignKey("organizations.id", ondelete="SET NULL"),
        ),
        sa.Column("uploader_id", sa.String(32), sa.ForeignKey("accounts.id", ondelete="SET NULL")),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("content_kind", sa.String(16)),
        sa.Column("sha256", sa.String(64)),
        sa.Column("size", sa.BigInteger),
        sa.Column("url", sa.Text),
        sa.Column("title", sa.String(128)),
        sa.Column("has_audio", sa.Boolean, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_materials_company_created", "materials", ["company_id", "created_ms"])
    op.create_index("ix_materials_sha256", "materials", ["sha256"])
    op.create_table(
        "material_orgs",
        sa.Column(
            "material_id",
            sa.String(32),
            sa.ForeignKey("materials.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "org_id",
            sa.String(32),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_material_orgs_org", "material_orgs", ["org_id"])
    op.create_table(
        "material_renditions",
        sa.Column("source_sha256", sa.String(64), primary_key=True),
        sa.Column("width", sa.Integer, primary_key=True),
        sa.Column("page_count", sa.Integer, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "material_pages",
        sa.Column("source_sha256", sa.String(64), primary_key=True),
        sa.Column("width", sa.Integer, primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("image_sha256", sa.String(64), nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
    )
    op.create_index("ix_material_pages_image", "material_pages", ["image_sha256"])


def downgrade() -> None:
    op.drop_table("material_pages")
    op.drop_table("material_renditions")
    op.drop_table("material_orgs")
    op.drop_table("materials")
