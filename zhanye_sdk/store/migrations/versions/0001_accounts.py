"""Companies, organizations, accounts, login tokens and login failures.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("company_id", sa.String(32), sa.ForeignKey("companies.id"), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("morning_start", sa.String(8)),
        sa.Column("morning_end", sa.String(8)),
        sa.Column("afternoon_start", sa.String(8)),
        sa.Column("afternoon_end", sa.String(8)),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("company_id", "name", name="uq_organizations_company_name"),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("company_id", sa.String(32), sa.ForeignKey("companies.id")),
        sa.Column("org_id", sa.String(32), sa.ForeignKey("organizations.id")),
        sa.Column("login", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("phone", sa.String(20)),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_accounts_company_org", "accounts", ["company_id", "org_id"])
    op.create_table(
        "login_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "account_id",
            sa.String(32),
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("expires_ms", sa.BigInteger, nullable=False),
        sa.Column("revoked_ms", sa.BigInteger),
        sa.Column("client_address", sa.String(64)),
    )
    op.create_index("ix_login_tokens_account", "login_tokens", ["account_id"])
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_login_failures_key_at", "login_failures", ["key", "at_ms"])


def downgrade() -> None:
    op.drop_table("login_failures")
    op.drop_table("login_tokens")
    op.drop_table("accounts")
    op.drop_table("organizations")
    op.drop_table("companies")
