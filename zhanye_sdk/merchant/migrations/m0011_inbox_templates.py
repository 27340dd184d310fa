"""Received SMS (收件箱) and the shop's SMS template library (短信模板).

Revision ID: m0011
Revises: m0010
"""

import sqlalchemy as sa
from alembic import op

revision = "m0011"
down_revision = "m0010"
branch_labels = None
depends_on = None

_DEFAULTS = [
    ("新品通知", "{name}您好，本店新品已到，欢迎到店品尝！"),
    ("降价优惠", "{name}您好，本周会员日全场8.8折，欢迎光临！"),
    ("节日祝福", "{name}您好，节日快乐！感谢您一直以来的支持。"),
]


def upgrade() -> None:
    op.create_table(
        "merchant_inbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("merchant_customers.id")),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("received_ms", sa.BigInteger, nullable=False),
        sa.Column("opt_out", sa.Boolean, nullable=False),
    )
    op.create_index("ix_merchant_inbox_customer", "merchant_inbox", ["customer_id", "received_ms"])
    templates = op.create_table(
        "merchant_sms_templates",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(32), nullable=False, unique=True),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.bulk_insert(templates, [{"name": n, "text": t} for n, t in _DEFAULTS])


def downgrade() -> None:
    op.drop_table("merchant_sms_templates")
    op.drop_index("ix_merchant_inbox_customer", "merchant_inbox")
    op.drop_table("merchant_inbox")
