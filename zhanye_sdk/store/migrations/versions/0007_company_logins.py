"""Logins unique per company, and company codes for signing in as login@code.

Revision ID: 0007_company_logins
Revises: 0004
"""

import secrets

import sqlalchemy as sa
from alembic import op

from zhanye_sdk.errors import ConflictError

revision = "0007_company_logins"
down_revision = "0004"
branch_labels = None
depends_on = None

_LETTERS = "abcdefghjkmnpqrstuvwxyz23456789"


def upgrade() -> None:
    with op.batch_alter_table("companies") as batch:
        batch.add_column(sa.Column("code", sa.String(16)))
        batch.add_column(sa.Column("home", sa.Boolean, nullable=False, server_default=sa.false()))
    bind = op.get_bind()
    taken: set[str] = set()
    rows = bind.execute(sa.text("select id from companies order by created_ms, id")).all()
    if rows:
        # The oldest company keeps bare logins: its people sign in as before.
        bind.execute(
            sa.text("update companies set home = :yes where id = :id"),
            {"yes": True, "id": rows[0][0]},
        )
    for (company_id,) in rows:
        code = ""
        while not code or code in taken:
            code = "c" + "".join(secrets.choice(_LETTERS) for _ in range(5))
        taken.add(code)
        bind.execute(
            sa.text("update companies set code = :code where id = :id"),
            {"code": code, "id": company_id},
        )
    with op.batch_alter_table("companies") as batch:
        batch.alter_column("home", server_default=None)
        batch.create_unique_constraint("uq_companies_code", ["code"])
    if bind.dialect.name == "postgresql":
        op.drop_constraint("accounts_login_key", "accounts", type_="unique")
        op.create_unique_constraint(
            "uq_accounts_company_login", "accounts", ["company_id", "login"]
        )
        return
    # SQLite: the platform-wide unique of 0001 has no name; the table is rebuilt from
    # this definition without it.
    with op.batch_alter_table(
        "accounts", copy_from=_accounts(login_unique=False), recreate="always"
    ) as batch:
        batch.create_unique_constraint("uq_accounts_company_login", ["company_id", "login"])


def _accounts(*, login_unique: bool) -> sa.Table:
    """The accounts table as 0001 made it, with or without its platform-wide unique login."""
    return sa.Table(
        "accounts",
        sa.MetaData(),
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("company_id", sa.String(32), sa.ForeignKey("companies.id")),
        sa.Column("org_id", sa.String(32), sa.ForeignKey("organizations.id")),
        sa.Column("login", sa.String(64), nullable=False, unique=login_unique),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("phone", sa.String(20)),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
        sa.Index("ix_accounts_company_org", "company_id", "org_id"),
    )


def downgrade() -> None:
    """Make logins platform-unique again, refusing while two companies share one."""
    bind = op.get_bind()
    shared = [
        str(row[0])
        for row in bind.execute(
            sa.text("select login from accounts group by login having count(*) > 1 order by login")
        )
    ]
    if shared:
        listed = ", ".join(shared[:10]) + (" …" if len(shared) > 10 else "")
        raise ConflictError(
            f"cannot downgrade below 0007_company_logins: {len(shared)} login(s) are used "
            f"in more than one company ({listed}); rename them so each is unique first",
            zh=f"无法降级到 0007_company_logins 之前：{len(shared)} 个登录名在多个公司中重复"
            f"（{listed}），请先改名使其在整个平台唯一",
        )
    if bind.dialect.name == "postgresql":
        op.drop_constraint("uq_accounts_company_login", "accounts", type_="unique")
        op.create_unique_constraint("accounts_login_key", "accounts", ["login"])
    else:
        with op.batch_alter_table(
            "accounts", copy_from=_accounts(login_unique=True), recreate="always"
        ):
            pass
    with op.batch_alter_table("companies") as batch:
        batch.drop_constraint("uq_companies_code", type_="unique")
        batch.drop_column("home")
        batch.drop_column("code")
