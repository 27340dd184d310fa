"""The merchant desk's own database (商户管家单机版): customers, calls, levels,
reservations, ledger. Money is kept as decimal strings, times as epoch milliseconds."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false

__all__ = [
    "auto_sms_log",
    "auto_sms_settings",
    "calls",
    "care_sent",
    "care_settings",
    "customer_groups",
    "customers",
    "groups",
    "holidays",
    "inbox",
    "ledger",
    "levels",
    "metadata",
    "reservations",
    "resources",
    "sms_templates",
]

metadata = MetaData()

levels = Table(
    "merchant_levels",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(32), nullable=False, unique=True),
    Column("discount", String(8), nullable=False),
)

customers = Table(
    "merchant_customers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("phone", String(20), nullable=False, unique=True),
    Column("name", String(64)),
    Column("gender", String(8)),
    Column("company", String(128)),
    Column("customer_type", String(32)),
    Column("birthday", String(10)),
    Column("notes", Text),
    Column("level_id", Integer, ForeignKey("merchant_levels.id")),
    Column("initials", Text, nullable=False),
    Column("opted_out", Boolean, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

groups = Table(
    "merchant_groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(32), nullable=False, unique=True),
)

customer_groups = Table(
    "merchant_customer_groups",
    metadata,
    Column(
        "customer_id",
        Integer,
        ForeignKey("merchant_customers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "group_id", Integer, ForeignKey("merchant_groups.id", ondelete="CASCADE"), primary_key=True
    ),
)

calls = Table(
    "merchant_calls",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", Integer, ForeignKey("merchant_customers.id", ondelete="CASCADE")),
    Column("phone", String(20), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("started_ms", BigInteger, nullable=False),
    Column("duration_s", Integer, nullable=False),
    Column("notes", Text),
    Column("auto_sms", String(16)),
    Column("auto_sms_detail", Text),
    #: ``gsm`` (the SIM's line) or ``pstn`` (the landline port, 一机双号).
    Column("line", String(8), nullable=False, server_default="gsm"),
    Index("ix_merchant_calls_customer", "customer_id", "started_ms"),
    Index("ix_merchant_calls_started", "started_ms"),
)

resources = Table(
    "merchant_resources",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(32), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("capacity", Integer, nullable=False),
    # Taken out of use: kept for the bookings it had, offered for none.
    Column("retired", Boolean, nullable=False, server_default=sa_false()),
)

reservations = Table(
    "merchant_reservations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("resource_id", Integer, ForeignKey("merchant_resources.id"), nullable=False),
    Column("customer_id", Integer, ForeignKey("merchant_customers.id"), nullable=False),
    Column("party_size", Integer, nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("notes", Text),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_merchant_reservations_resource", "resource_id", "start_ms"),
)

ledger = Table(
    "merchant_ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", Integer, ForeignKey("merchant_customers.id")),
    Column("reservation_id", Integer, ForeignKey("merchant_reservations.id")),
    Column("at_ms", BigInteger, nullable=False),
    Column("items", Text, nullable=False),
    Column("amount", String(16), nullable=False),
    Column("discount", String(8), nullable=False),
    Column("payable", String(16), nullable=False),
    Column("paid", String(16), nullable=False),
    Column("change_due", String(16), nullable=False),
    Column("voided_ms", BigInteger),
    Column("void_reason", Text),
    # Who the bill was for, as the desk typed it (a walk-in has no card).
    Column("guest_name", String(64)),
    Column("guest_gender", String(8)),
    Column("guest_phone", String(32)),
    Index("ix_merchant_ledger_at", "at_ms"),
    UniqueConstraint("reservation_id", name="uq_merchant_ledger_reservation"),
)

inbox = Table(
    "merchant_inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("phone", String(32), nullable=False),
    Column("customer_id", Integer, ForeignKey("merchant_customers.id")),
    Column("text", Text, nullable=False),
    Column("received_ms", BigInteger, nullable=False),
    # The message was a 退订/TD reply: the number was put on the opt-out list.
    Column("opt_out", Boolean, nullable=False),
    Index("ix_merchant_inbox_customer", "customer_id", "received_ms"),
)

sms_templates = Table(
    "merchant_sms_templates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(32), nullable=False, unique=True),
    Column("text", Text, nullable=False),
)

auto_sms_log = Table(
    "merchant_auto_sms",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("phone", String(20), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("sent_ms", BigInteger, nullable=False),
    Index("ix_merchant_auto_sms_phone", "phone", "kind", "sent_ms"),
)

care_sent = Table(
    "merchant_care_sent",
    metadata,
    Column(
        "customer_id",
        Integer,
        ForeignKey("merchant_customers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("occasion", String(64), primary_key=True),
    Column("sent_ms", BigInteger, nullable=False),
)

care_settings = Table(
    "merchant_care_settings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("birthday_enabled", Boolean, nullable=False),
    Column("birthday_template", Text, nullable=False),
    Column("send_at", String(5), nullable=False),
)

holidays = Table(
    "merchant_holidays",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(32), nullable=False),
    Column("day", String(10), nullable=False, unique=True),
    Column("template", Text, nullable=False),
    Column("send_at", String(5), nullable=False),
)

auto_sms_settings = Table(
    "merchant_auto_sms_settings",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("template", Text, nullable=False),
    Column("quiet_start", String(5)),
    Column("quiet_end", String(5)),
    Column("cooldown_s", Integer, nullable=False),
)
