"""Every migration can be undone: the platform's and the merchant desk's schemas go down to
nothing and back up to exactly what the code declares, on SQLite and on a real PostgreSQL;
going back below per-company logins keeps the accounts, or refuses while two companies
share a login."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from zhanye_sdk.errors import ConflictError
from zhanye_sdk.merchant.desk import MERCHANT_MIGRATIONS
from zhanye_sdk.merchant.schema import metadata as merchant_metadata
from zhanye_sdk.store.database import MIGRATIONS, Database, downgrade, open_database
from zhanye_sdk.store.schema import metadata

pytestmark = pytest.mark.anyio

PLATFORM = MIGRATIONS / "versions"


async def _tables(db: Database) -> set[str]:
    async with db.connect() as conn:
        names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
    return set(names) - {"alembic_version"}


async def _schema_diff(db: Database, declared: sa.MetaData) -> list[object]:
    async with db.connect() as conn:

        def diff(sync_conn: sa.Connection) -> list[object]:
            return list(compare_metadata(MigrationContext.configure(sync_conn), declared))

        return await conn.run_sync(diff)


@pytest.mark.parametrize(
    ("versions", "declared"),
    [(PLATFORM, metadata), (MERCHANT_MIGRATIONS, merchant_metadata)],
    ids=["platform", "merchant"],
)
async def test_every_migration_goes_down_to_nothing_and_up_again(
    database_url: str, versions: Path, declared: sa.MetaData
) -> None:
    db = await open_database(database_url, versions)
    try:
        assert await _tables(db) == set(declared.tables)
        await downgrade(db, "base", versions)
        assert await _tables(db) == set()
    finally:
        await db.close()
    again = await open_database(database_url, versions)
    try:
        assert await _schema_diff(again, declared) == []
    finally:
        await again.close()


async def _add(db: Database, company: str, login: str, *, home: bool = False) -> None:
    async with db.begin() as conn:
        exists = (
            await conn.execute(sa.text("select 1 from companies where id = :id"), {"id": company})
        ).first()
        if not exists:
            await conn.execute(
                sa.text(
                    "insert into companies (id, name, created_ms, code, home) "
                    "values (:id, :id, 0, :code, :home)"
                ),
                {"id": company, "code": f"c{company}", "home": home},
            )
        await _insert_account(conn, company, login)


async def _insert_account(conn: sa.ext.asyncio.AsyncConnection, company: str, login: str) -> None:
    await conn.execute(
        sa.text(
            "insert into accounts (id, company_id, login, name, role, password_hash, "
            "disabled, created_ms, updated_ms) values "
            "(:id, :company, :login, :login, 'staff', 'x', false, 0, 0)"
        ),
        {"id": f"{company}-{login}", "company": company, "login": login},
    )


async def _logins(db: Database) -> list[tuple[str, str]]:
    async with db.connect() as conn:
        rows = await conn.execute(sa.text("select company_id, login from accounts order by id"))
        return [(str(a), str(b)) for a, b in rows]


async def test_going_below_company_logins_keeps_accounts_and_makes_logins_unique_again(
    database_url: str,
) -> None:
    db = await open_database(database_url)
    try:
        await _add(db, "home", "alice", home=True)
        await _add(db, "other", "bob")
        await downgrade(db, "0004")
        assert await _logins(db) == [("home", "alice"), ("other", "bob")]
        async with db.connect() as conn:
            columns = await conn.run_sync(
                lambda c: {col["name"] for col in sa.inspect(c).get_columns("companies")}
            )
        assert columns == {"id", "name", "created_ms"}
        # The platform-wide unique login of 0001 is back.
        with pytest.raises(sa.exc.IntegrityError):
            async with db.begin() as conn:
                await _insert_account(conn, "other", "alice")
    finally:
        await db.close()
    again = await open_database(database_url)
    try:
        assert await _schema_diff(again, metadata) == []
        assert await _logins(again) == [("home", "alice"), ("other", "bob")]
        async with again.begin() as conn:
            await _insert_account(conn, "other", "alice")  # per company once more
    finally:
        await again.close()


async def test_going_below_company_logins_refuses_while_two_companies_share_a_login(
    database_url: str,
) -> None:
    db = await open_database(database_url)
    try:
        await _add(db, "home", "alice", home=True)
        await _add(db, "other", "alice")
        await _add(db, "other", "bob")
        with pytest.raises(ConflictError) as refused:
            await downgrade(db, "0004")
        assert "alice" in str(refused.value) and "bob" not in str(refused.value)
        assert refused.value.zh and "alice" in refused.value.zh and "重复" in refused.value.zh
        assert await _logins(db) == [("home", "alice"), ("other", "alice"), ("other", "bob")]
    finally:
        await db.close()
    # Nothing was lost: the database opens at the current schema with its accounts.
    again = await open_database(database_url)
    try:
        assert await _schema_diff(again, metadata) == []
        assert len(await _logins(again)) == 3
    finally:
        await again.close()
