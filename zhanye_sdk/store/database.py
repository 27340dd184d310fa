"""Opening the database from a URL and bringing its schema up to date.

URLs: ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``,
``sqlite:///:memory:`` (tests), ``postgresql://user:password@host:port/dbname``.
SQLite runs in WAL mode with foreign keys enforced; PostgreSQL goes through psycopg 3.
Migrations (Alembic, in ``zhanye_sdk/store/migrations``) are applied on open.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import attrs
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from zhanye_sdk.errors import InvalidInput

__all__ = ["Database", "downgrade", "migrate", "open_database"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _engine_url(url: str) -> tuple[str, str]:
    """Map a user URL to the async driver's URL; return (driver url, dialect name)."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with little context
        raise InvalidInput(
            f"database URL {url!r} is not valid; expected sqlite:///path or postgresql://…"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite")), "sqlite"
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(False), "postgresql"
    raise InvalidInput(
        f"database URL scheme {backend!r} is not supported; use sqlite or postgresql"
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


@attrs.define
class Database:
    """An open database: the async engine and which dialect it speaks."""

    engine: AsyncEngine
    dialect: str

    def connect(self) -> Any:
        """An async connection context (``async with db.connect() as conn``)."""
        return self.engine.connect()

    def begin(self) -> Any:
        """An async transaction context (``async with db.begin() as conn``)."""
        return self.engine.begin()

    async def close(self) -> None:
        """Dispose of every pooled connection."""
        await self.engine.dispose()


def _run(sync_connection: Any, versions: Path, revision: str, down: bool) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(versions))
    config.attributes["connection"] = sync_connection
    (command.downgrade if down else command.upgrade)(config, revision)


async def migrate(connection: AsyncConnection, versions: Path = MIGRATIONS / "versions") -> None:
    """Apply every migration in ``versions`` that the database does not have yet."""
    await connection.run_sync(_run, versions, "heads", False)


async def downgrade(db: Database, revision: str, versions: Path = MIGRATIONS / "versions") -> None:
    """Take the schema of ``db`` back to ``revision`` (``"base"``: no tables), e.g. to roll
    back a release; opening the database with newer code upgrades it again.

    Raises:
        ZhanyeError: a migration cannot be undone with the data there is (its message says
            what to change first); the database is left as it was.
    """
    if db.dialect == "sqlite":
        await _migrate_sqlite(db.engine, versions, revision, down=True)
        return
    async with db.engine.begin() as connection:
        await connection.run_sync(_run, versions, revision, True)


async def open_database(url: str, versions: Path = MIGRATIONS / "versions") -> Database:
    """Open the database at ``url`` and migrate it to the current schema.

    ``versions`` is the folder of migrations to apply: the platform's by default; the
    merchant desk keeps its own database with its own migrations.

    Raises:
        InvalidInput: the URL is malformed or names an unsupported database.
    """
    driver_url, dialect = _engine_url(url)
    kwargs: dict[str, Any] = {}
    if dialect == "sqlite":
        database = make_url(driver_url).database or ""
        if database in ("", ":memory:"):
            # One shared connection, or every connection would see its own empty database.
            kwargs["poolclass"] = StaticPool
        else:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(driver_url, **kwargs)
    if dialect == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        await _migrate_sqlite(engine, versions, "heads", down=False)
    else:
        async with engine.begin() as connection:
            await migrate(connection, versions)
    return Database(engine=engine, dialect=dialect)


async def _migrate_sqlite(engine: Any, versions: Path, revision: str, *, down: bool) -> None:
    # SQLite changes a constraint by rebuilding the table; with foreign keys on, dropping
    # the old table would cascade into the rows that point at it. SQLite's own recipe:
    # foreign keys off (outside a transaction), migrate, check them, back on. References
    # that were dangling before (an old database's orphans) are not the migration's doing.
    # The driver commits each DDL statement on its own; BEGIN is issued by hand so that a
    # migration that fails halfway (or refuses) leaves the database as it was.
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                before = await _dangling_references(connection)
                await connection.run_sync(_run, versions, revision, down)
                after = await _dangling_references(connection)
                broken = {key: n for key, n in after.items() if n > before.get(key, 0)}
                if broken:
                    raise RuntimeError(f"a migration broke foreign keys: {broken}")
            except BaseException:
                await connection.exec_driver_sql("ROLLBACK")
                raise
            await connection.exec_driver_sql("COMMIT")
        finally:
            await connection.exec_driver_sql("PRAGMA foreign_keys=ON")


async def _dangling_references(connection: Any) -> Counter[tuple[str, str]]:
    """How many rows of each (table, referenced table) point at a row that is not there."""
    rows = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
    return Counter((str(row[0]), str(row[2])) for row in rows)
