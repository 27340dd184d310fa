"""The tables, as SQLAlchemy Core metadata (the migrations create exactly these).

Times are integer milliseconds since the Unix epoch, UTC: portable across SQLite and
PostgreSQL and free of time-zone ambiguity. Ids are random hex strings.
"""

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

metadata = MetaData()

companies = Table(
    "companies",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("created_ms", BigInteger, nullable=False),
)

organizations = Table(
    "organizations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("company_id", String(32), ForeignKey("companies.id"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("morning_start", String(8)),
    Column("morning_end", String(8)),
    Column("afternoon_start", String(8)),
    Column("afternoon_end", String(8)),
    Column("timezone", String(64), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_ms", BigInteger, nullable=False),
    UniqueConstraint("company_id", "name", name="uq_organizations_company_name"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("company_id", String(32), ForeignKey("companies.id")),
    Column("org_id", String(32), ForeignKey("organizations.id")),
    Column("login", String(64), nullable=False, unique=True),
    Column("name", String(64), nullable=False),
    Column("phone", String(20)),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_accounts_company_org", "company_id", "org_id"),
)

login_tokens = Table(
    "login_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Column("revoked_ms", BigInteger),
    Column("client_address", String(64)),
    Index("ix_login_tokens_account", "account_id"),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(128), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Index("ix_login_failures_key_at", "key", "at_ms"),
)
