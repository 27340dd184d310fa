"""Storage: one schema, versioned migrations, SQLite or PostgreSQL chosen by URL."""

from zhanye_sdk.store.database import Database, open_database

__all__ = ["Database", "open_database"]
