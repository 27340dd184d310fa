"""The merchant desk's first schema.

Revision ID: m0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "m0001"
down_revision = None
branch_labels = ("merchant",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merchant_levels",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(32), nullable=False, unique=True),
        sa.Column("discount", sa.String(8), nullable=False),
    )
    op.create_table(
        "merchant_customers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("phone", sa.String(20), nullable=False, unique=True),
        sa.Column("name", sa.String(64)),
        sa.Column("gender", sa.String(8)),
        sa.Column("company", sa.String(128)),
        sa.Column("customer_type", sa.String(32)),
        sa.Column("birthday", sa.String(10)),
        sa.Column("notes", sa.Text),
        sa.Column("level_id", sa.Integer, sa.ForeignKey("merchant_levels.id")),
        sa.Column("initials", sa.Text, nullable=False),
        sa.Column("opted_out", sa.Boolean, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "merchant_groups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(32), nullable=False, unique=True),
    )
    op.create_table(
        "merchant_customer_groups",
        sa.Column(
            "customer_id",
            sa.Integer,
            sa.ForeignKey("merchant_customers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "group_id",
            sa.Integer,
            sa.ForeignKey("merchant_groups.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_table(
        "merchant_calls",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "customer_id", sa.Integer, sa.ForeignKey("merchant_customers.id", ondelete="CASCADE")
        ),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("started_ms", sa.BigInteger, nullable=False),
        sa.Column("duration_s", sa.Integer, nullable=False),
        sa.Column("notes", sa.Text),
    )
    op.create_index("ix_merchant_calls_customer", "merchant_calls", ["customer_id", "started_ms"])
    op.create_table(
        "merchant_resources",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(32), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
    )
    op.create_table(
        "merchant_reservations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "resource_id", sa.Integer, sa.ForeignKey("merchant_resources.id"), nullable=False
        ),
        sa.Column(
            "customer_id", sa.Integer, sa.ForeignKey("merchant_customers.id"), nullable=False
        ),
        sa.Column("party_size", sa.Integer, nullable=False),
        sa.Column("start_ms", sa.BigInteger, nullable=False),
        sa.Column("end_ms", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("notes", sa.Text),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_merchant_reservations_resource", "merchant_reservations", ["resource_id", "start_ms"]
    )
    op.create_table(
        "merchant_ledger",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("merchant_customers.id")),
        sa.Column("reservation_id", sa.Integer, sa.ForeignKey("merchant_reservations.id")),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("items", sa.Text, nullable=False),
        sa.Column("amount", sa.String(16), nullable=False),
        sa.Column("discount", sa.String(8), nullable=False),
        sa.Column("payable", sa.String(16), nullable=False),
        sa.Column("paid", sa.String(16), nullable=False),
        sa.Column("change_due", sa.String(16), nullable=False),
        sa.UniqueConstraint("reservation_id", name="uq_merchant_ledger_reservation"),
    )
    op.create_index("ix_merchant_ledger_at", "merchant_ledger", ["at_ms"])


def downgrade() -> None:
    op.drop_table("merchant_ledger")
    op.drop_table("merchant_reservations")
    op.drop_table("merchant_resources")
    op.drop_table("merchant_calls")
    op.drop_table("merchant_customer_groups")
    op.drop_table("merchant_groups")
    op.drop_table("merchant_customers")
    op.drop_table("merchant_levels")
