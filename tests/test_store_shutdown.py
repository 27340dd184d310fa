"""A process stops promptly while tasks are in the middle of SQLite transactions.

With aiosqlite 0.22, SQLAlchemy's clean-up of a connection whose task is cancelled
mid-query could wait forever for a worker thread that had already stopped: a host
stopped with requests in flight hung, and so did test runs, intermittently. The pinned
driver must let every such shutdown finish.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BUSY_THEN_STOP = """
import asyncio, random, sys
import sqlalchemy as sa
from zhanye_sdk.store.database import open_database

async def busy(db):
    while True:
        async with db.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
            await conn.execute(sa.text("INSERT INTO t VALUES (1)"))
            await conn.execute(sa.text("SELECT count(*) FROM t"))

async def main(path):
    db = await open_database(f"sqlite:///{path}")
    tasks = [asyncio.create_task(busy(db)) for _ in range(6)]
    await asyncio.sleep(random.uniform(0.05, 0.3))
    for task in tasks[:3]:
        task.cancel()
    await asyncio.sleep(random.uniform(0, 0.05))
    await db.close()
    # Returning cancels the other three mid-transaction, as a stopping host does.

asyncio.run(main(sys.argv[1]))
"""


def test_stopping_with_transactions_in_flight_never_hangs(tmp_path: Path) -> None:
    for attempt in range(6):
        result = subprocess.run(
            [sys.executable, "-c", BUSY_THEN_STOP, str(tmp_path / f"busy{attempt}.db")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr[-2000:]
