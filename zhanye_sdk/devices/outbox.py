"""The modem gateway's persistent outbox: every message and each part's progress, in
SQLite, and the log of parts sent that the sliding rate windows count.

A crash during an AT+CMGS leaves a row ``sending``: ``recover`` marks that part in doubt
(never resent). Every call runs the database in a worker thread under one lock.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread

from zhanye_sdk.devices import pdu
from zhanye_sdk.devices.sms import SendResult
from zhanye_sdk.errors import NotFound

__all__ = ["SmsOutbox"]

T = TypeVar("T")

_SCHEMA = """
PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS sms_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sim TEXT NOT NULL,
    number TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    parts TEXT,
    parts_sent INTEGER NOT NULL DEFAULT 0,
    refs TEXT NOT NULL DEFAULT '[]',
    in_doubt TEXT NOT NULL DEFAULT '[]',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    created REAL NOT NULL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS sms_outbox_due ON sms_outbox (sim, state, next_attempt);
CREATE INDEX IF NOT EXISTS sms_outbox_dedupe ON sms_outbox (sim, number, created);
CREATE TABLE IF NOT EXISTS sms_sent_log (sim TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sms_sent_log_at ON sms_sent_log (sim, at);
"""

_COLUMNS = "id, number, state, parts, refs, in_doubt, error"

#: A queued row as ``next_row`` reads it:
#: (id, number, body, parts json, parts sent, refs json, attempts).
QueuedRow = tuple[int, str, str, str | None, int, str, int]


def _result(row: tuple[Any, ...], status: str | None = None) -> SendResult:
    row_id, number, state, parts_json, refs, doubt, error = row
    parts = len(json.loads(parts_json)) if parts_json else 0
    return SendResult(
        row_id,
        number,
        status or state,
        tuple(json.loads(refs)),
        parts,
        tuple(json.loads(doubt)),
        error,
    )


class SmsOutbox:
    """One SIM's outbox in an SQLite file (or ``":memory:"``).

    Args:
        database: the SQLite file.
        sim: the SIM whose messages these are.
    """

    def __init__(self, database: str | Path, sim: str) -> None:
        self.sim = sim
        self.db = sqlite3.connect(str(database), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self.db.close()

    async def _in_thread(self, fn: Callable[[], T]) -> T:
        def locked() -> T:
            with self._lock:
                return fn()

        return await anyio.to_thread.run_sync(locked)

    def _transaction(self, fn: Callable[[], T]) -> T:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            out = fn()
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return out

    def recover(self) -> float | None:
        """Mark the part each ``sending`` row was sending in doubt (a crash during its
        AT+CMGS); returns when the last part went out (``None``: never)."""
        with self._lock:
            rows = self.db.execute(
                "SELECT id, parts, parts_sent, in_doubt FROM sms_outbox "
                "WHERE sim = ? AND state = 'sending'",
                (self.sim,),
            ).fetchall()
            for row_id, parts_json, parts_sent, doubt_json in rows:
                parts = json.loads(parts_json or "[]")
                doubt = [*json.loads(doubt_json), parts_sent + 1]
                done = parts_sent + 1 >= len(parts)
                self.db.execute(
                    "UPDATE sms_outbox SET state = ?, parts_sent = ?, in_doubt = ? WHERE id = ?",
                    ("in_doubt" if done else "queued", parts_sent + 1, json.dumps(doubt), row_id),
                )
            last = self.db.execute(
                "SELECT MAX(at) FROM sms_sent_log WHERE sim = ?", (self.sim,)
            ).fetchone()[0]
        return None if last is None else float(last)

    async def enqueue(
        self, numbers: Sequence[str], body: str, now: float, window: float
    ) -> list[SendResult]:
        """Queue ``body`` for each number; a repeat within ``window`` is ``duplicate``."""
        sim = self.sim

        def enqueue() -> list[SendResult]:
            out = []
            for number in numbers:
                row = self.db.execute(
                    f"SELECT {_COLUMNS} FROM sms_outbox WHERE sim = ? AND number = ? "
                    "AND body = ? AND created >= ? AND state NOT IN ('failed', 'blocked') "
                    "ORDER BY id DESC LIMIT 1",
                    (sim, number, body, now - window),
                ).fetchone()
                if row is not None:
                    out.append(_result(row, "duplicate"))
                    continue
                cursor = self.db.execute(
                    "INSERT INTO sms_outbox (sim, number, body, state, next_attempt, created)"
                    " VALUES (?, ?, ?, 'queued', ?, ?)",
                    (sim, number, body, now, now),
                )
                assert cursor.lastrowid is not None
                out.append(SendResult(cursor.lastrowid, number, "queued"))
            return out

        return await self._in_thread(lambda: self._transaction(enqueue))

    async def hold(
        self, numbers: Sequence[str], body: str, now: float, reason: str
    ) -> list[SendResult]:
        """Record each message ``blocked`` with ``reason``: held back, never sent."""

        def hold() -> list[SendResult]:
            out = []
            for number in numbers:
                cursor = self.db.execute(
                    "INSERT INTO sms_outbox (sim, number, body, state, next_attempt, created, "
                    "error) VALUES (?, ?, ?, 'blocked', ?, ?, ?)",
                    (self.sim, number, body, now, now, reason),
                )
                assert cursor.lastrowid is not None
                out.append(SendResult(cursor.lastrowid, number, "blocked", error=reason))
            return out

        return await self._in_thread(lambda: self._transaction(hold))

    async def recent(self, limit: int) -> list[SendResult]:
        """The newest messages, newest first, whatever their state."""

        def load() -> list[tuple[Any, ...]]:
            return self.db.execute(
                f"SELECT {_COLUMNS} FROM sms_outbox WHERE sim = ? ORDER BY id DESC LIMIT ?",
                (self.sim, max(1, min(int(limit), 500))),
            ).fetchall()

        return [_result(row) for row in await self._in_thread(load)]

    async def status(self, message_id: int) -> SendResult:
        """The current state of a message; raises :class:`NotFound`."""

        def load() -> tuple[Any, ...] | None:
            row: tuple[Any, ...] | None = self.db.execute(
                f"SELECT {_COLUMNS} FROM sms_outbox WHERE id = ?", (message_id,)
            ).fetchone()
            return row

        row = await self._in_thread(load)
        if row is None:
            raise NotFound(f"no queued SMS with id {message_id}")
        return _result(row)

    async def pending(self) -> int:
        """How many messages are still waiting to be (fully) sent."""
        return await self._in_thread(
            lambda: int(
                self.db.execute(
                    "SELECT COUNT(*) FROM sms_outbox "
                    "WHERE sim = ? AND state IN ('queued', 'sending')",
                    (self.sim,),
                ).fetchone()[0]
            )
        )

    async def window_waits(self, now: float, windows: Sequence[tuple[float, int]]) -> list[float]:
        """For each full sliding window (span, cap), the seconds until a part leaves it."""

        def load() -> list[float]:
            out = []
            for span, cap in windows:
                row = self.db.execute(
                    "SELECT at FROM sms_sent_log WHERE sim = ? AND at > ? ORDER BY at DESC "
                    "LIMIT 1 OFFSET ?",
                    (self.sim, now - span, cap - 1),
                ).fetchone()
                if row is not None:  # cap parts already inside the window
                    out.append(row[0] + span - now)
            return out

        return await self._in_thread(load)

    async def next_row(self, now: float) -> QueuedRow | None:
        """The oldest queued message that is due."""

        def load() -> QueuedRow | None:
            row: QueuedRow | None = self.db.execute(
                "SELECT id, number, body, parts, parts_sent, refs, attempts FROM sms_outbox "
                "WHERE sim = ? AND state = 'queued' AND next_attempt <= ? "
                "ORDER BY id LIMIT 1",
                (self.sim, now),
            ).fetchone()
            return row

        return await self._in_thread(load)

    async def set_parts(self, row_id: int, parts_json: str) -> None:
        """Store the message's encoded parts (encoded once: the references stay)."""
        await self._in_thread(
            lambda: self.db.execute(
                "UPDATE sms_outbox SET parts = ? WHERE id = ?", (parts_json, row_id)
            )
        )

    async def mark_sending(self, row_id: int) -> None:
        """A part is about to go to the modem."""
        await self._in_thread(
            lambda: self.db.execute(
                "UPDATE sms_outbox SET state = 'sending' WHERE id = ?", (row_id,)
            )
        )

    async def advance(
        self,
        row_id: int,
        parts: Sequence[pdu.SubmitPart],
        parts_sent: int,
        refs: list[int],
        now: float,
        doubt: str | None,
    ) -> None:
        """The next part went out (``doubt``: its answer never came) and is logged."""
        done = parts_sent + 1 >= len(parts)

        def write() -> None:
            old = self.db.execute(
                "SELECT in_doubt FROM sms_outbox WHERE id = ?", (row_id,)
            ).fetchone()[0]
            in_doubt = json.loads(old)
            if doubt is not None:
                in_doubt.append(parts_sent + 1)
                self.db.execute(
                    "UPDATE sms_outbox SET in_doubt = ?, error = ? WHERE id = ?",
                    (json.dumps(in_doubt), doubt, row_id),
                )
            state = ("in_doubt" if in_doubt else "sent") if done else "queued"
            self.db.execute(
                "UPDATE sms_outbox SET state = ?, parts_sent = ?, refs = ? WHERE id = ?",
                (state, parts_sent + 1, json.dumps(refs), row_id),
            )
            self.db.execute("INSERT INTO sms_sent_log (sim, at) VALUES (?, ?)", (self.sim, now))

        await self._in_thread(lambda: self._transaction(write))

    async def requeue(self, row_id: int, attempts: int, at: float, error: str | None) -> None:
        """Queue the message again, due at ``at``."""
        await self._in_thread(
            lambda: self.db.execute(
                "UPDATE sms_outbox SET state = 'queued', attempts = ?, next_attempt = ?, "
                "error = ? WHERE id = ?",
                (attempts, at, error, row_id),
            )
        )

    async def fail(self, row_id: int, error: str) -> None:
        """The message failed for good."""
        await self._in_thread(
            lambda: self.db.execute(
                "UPDATE sms_outbox SET state = 'failed', error = ? WHERE id = ?", (error, row_id)
            )
        )

    async def next_due(self) -> float | None:
        """When the earliest queued message may go (None: nothing queued)."""

        def load() -> float | None:
            value = self.db.execute(
                "SELECT MIN(next_attempt) FROM sms_outbox WHERE sim = ? AND state = 'queued'",
                (self.sim,),
            ).fetchone()[0]
            return None if value is None else float(value)

        return await self._in_thread(load)
