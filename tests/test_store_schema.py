"""The migrations build exactly the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.store import open_database
from zhanye_sdk.store.schema import metadata

pytestmark = pytest.mark.anyio


async def test_migrated_database_matches_the_declared_schema(database_url: str) -> None:
    db = await open_database(database_url)
    try:
        async with db.connect() as conn:

            def diff(sync_conn: sa.Connection) -> list[object]:
                context = MigrationContext.configure(sync_conn)
                return list(compare_metadata(context, metadata))

            assert await conn.run_sync(diff) == []
            version = (
                await conn.execute(sa.text("select version_num from alembic_version"))
            ).scalar()
            assert version is not None
    finally:
        await db.close()
    # Opening again applies nothing and keeps the data.
    again = await open_database(database_url)
    await again.close()


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: object) -> None:
    db = await open_database(f"sqlite:///{tmp_path}/x.db")
    try:
        async with db.connect() as conn:
            assert (await conn.execute(sa.text("pragma journal_mode"))).scalar() == "wal"
            assert (await conn.execute(sa.text("pragma foreign_keys"))).scalar() == 1
    finally:
        await db.close()


@pytest.mark.parametrize("url", ["mysql://x/y", "not a url", "redis://localhost"])
async def test_unsupported_urls_are_refused_clearly(url: str) -> None:
    with pytest.raises(InvalidInput, match="sqlite|postgresql"):
        await open_database(url)
