"""Sending SMS through a gateway: the interface, a logging one for tests, and the
modem one with a persistent queue.

:class:`ModemSmsGateway` writes every message to an SQLite outbox before anything
goes to the modem, and records each part's progress around its AT+CMGS, so a crash
or an unplugged modem neither loses a message nor sends a part twice: on restart
the queue resumes at the next unsent part with the same concatenation reference. A
part whose payload left but whose answer never came (the one in-doubt window) is
recorded as in doubt and not resent — a duplicate would reach the customer, a gap
is visible in :attr:`SendResult.in_doubt`, and such a message ends ``in_doubt``, not
``sent``.

While the modem is away (unplugged, reconnecting) the queue waits with a bounded
exponential back-off instead of trying (and writing to its database) every few
milliseconds. A ``lock`` (e.g. the SIM's registration, see
:func:`zhanye_sdk.merchant.registration.sms_lock`) holds every message back at the
door — confirmations and automatic messages as well as bulk ones — and records it
``blocked`` with the reason.

Sending respects per-SIM limits (a token bucket for the pace, sliding hour and day
windows from the persistent send log), skips a repeat of the same text to the same
number within ``dedupe_window``, appends the 【signature】, and retries only on
+CMS errors that the code table marks transient.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import anyio
import anyio.to_thread
import attrs

from zhanye_sdk.devices import pdu
from zhanye_sdk.devices.at_errors import CmsError, DeviceDisconnected
from zhanye_sdk.devices.modem import SubmitInDoubt
from zhanye_sdk.devices.sms import SendResult, SmsGateway
from zhanye_sdk.errors import DeviceError, InvalidInput, NotFound, ZhanyeError

__all__ = [
    "GatewayConfig",
    "LoggingSmsGateway",
    "ModemSmsGateway",
    "RateLimits",
    "SendResult",
    "SmsGateway",
    "SmsSender",
]

T = TypeVar("T")
_NUMBER = re.compile(r"\+?[0-9]{3,20}")


def _check_numbers(numbers: Sequence[str]) -> list[str]:
    if isinstance(numbers, str):
        raise InvalidInput("numbers must be a list of numbers, not one string")
    cleaned: list[str] = []
    bad: list[str] = []
    for raw in numbers:
        number = re.sub(r"[\s\-().]", "", str(raw))
        if not _NUMBER.fullmatch(number):
            bad.append(repr(raw))
        elif number not in cleaned:
            cleaned.append(number)
    if bad:
        raise InvalidInput(f"not phone numbers (digits, optional leading '+'): {', '.join(bad)}")
    if not cleaned:
        raise InvalidInput("no recipients")
    return cleaned


def _with_signature(text: str, signature: str | None) -> str:
    if not text.strip():
        raise InvalidInput("the message text is empty")
    if not signature:
        return text
    tag = f"【{signature.strip('【】')}】"
    return text if text.endswith(tag) or text.startswith(tag) else text + tag


class LoggingSmsGateway:
    """Records messages instead of sending them (tests, demos).

    Args:
        signature: appended as 【signature】, like the real gateway.
    """

    def __init__(self, *, signature: str | None = None) -> None:
        self.signature = signature
        self.sent: list[tuple[str, str]] = []

    async def send(self, numbers: Sequence[str], text: str) -> list[SendResult]:
        """Record ``text`` (signed) for each number; every result is ``sent``."""
        body = _with_signature(text, self.signature)
        results = []
        for number in _check_numbers(numbers):
            self.sent.append((number, body))
            parts = pdu.count_parts(body).parts
            results.append(SendResult(len(self.sent), number, "sent", parts=parts))
        return results


class SmsSender(Protocol):
    """What the modem gateway needs from a modem (``Modem`` provides it)."""

    def encode(self, number: str, text: str) -> list[pdu.SubmitPart]:
        """The SMS-SUBMIT parts for ``text``."""
        ...

    async def send_pdu(self, part: pdu.SubmitPart) -> int:
        """Submit one part; returns its message reference."""
        ...


@attrs.frozen
class RateLimits:
    """Per-SIM sending limits (each part of a long message counts as one SMS).

    Args:
        min_interval: seconds per token of the pacing bucket.
        burst: tokens the bucket holds.
        per_hour, per_day: most parts in any sliding hour / day.
    """

    min_interval: float = 3.0
    burst: int = 1
    per_hour: int = 150
    per_day: int = 800

    def __attrs_post_init__(self) -> None:
        bad = [
            name
            for name, value in attrs.asdict(self).items()
            if not isinstance(value, int | float) or value <= 0
        ]
        if bad:
            raise InvalidInput(f"rate limits must be positive: {', '.join(bad)}")


@attrs.frozen
class GatewayConfig:
    """Settings of :class:`ModemSmsGateway`.

    Args:
        signature: the shop's SMS signature, appended as 【signature】 (None: none).
        sim: the SIM these limits and this outbox belong to (e.g. its ICCID).
        limits: see :class:`RateLimits`.
        dedupe_window: seconds within which the same text to the same number is sent once.
        max_attempts: tries on transient +CMS errors before giving up.
        retry_base, retry_max: exponential backoff between those tries.
        idle_poll: longest sleep of :meth:`ModemSmsGateway.run` between checks.
        offline_retry_min, offline_retry_max: back-off bounds while the modem is away.
    """

    signature: str | None = None
    sim: str = "default"
    limits: RateLimits = attrs.field(factory=RateLimits)
    dedupe_window: float = 600.0
    max_attempts: int = 5
    retry_base: float = 5.0
    retry_max: float = 600.0
    idle_poll: float = 1.0
    offline_retry_min: float = 0.1
    offline_retry_max: float = 2.0


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


class ModemSmsGateway:
    """The modem's gateway with a persistent outbox (see module doc).

    :meth:`send` only queues; :meth:`run` (start it in a task group) sends. Tests can
    call :meth:`process_due` with an injected clock instead.

    Args:
        sender: the modem (anything with ``encode`` and ``send_pdu``).
        database: SQLite file path, or ``":memory:"``.
        config: see :class:`GatewayConfig`.
        clock: wall clock in seconds (persisted windows survive restarts).
        lock: asked before each message is queued; an error it returns holds the
            message back (``blocked``, with the error as the reason).
    """

    def __init__(
        self,
        sender: SmsSender,
        database: str | Path = ":memory:",
        config: GatewayConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        lock: Callable[[], ZhanyeError | None] | None = None,
    ) -> None:
        self.sender = sender
        self.config = config or GatewayConfig()
        self._clock = clock
        self._lock = lock
        self._offline = 0
        self._offline_until = 0.0
        #: How many times a send found the modem away (each followed by a back-off).
        self.offline_attempts = 0
        self._db = sqlite3.connect(str(database), check_same_thread=False, isolation_level=None)
        self._db_lock = threading.Lock()
        self._db.executescript(_SCHEMA)
        self._wake = anyio.Event()
        self._tokens = float(self.config.limits.burst)
        self._tokens_at = clock()
        self._recover()

    @property
    def signature(self) -> str | None:
        """The shop's signature (``GatewayConfig.signature``), appended to every message."""
        return self.config.signature

    def close(self) -> None:
        """Close the database."""
        with self._db_lock:
            self._db.close()

    # ------------------------------------------------------------ database helpers

    async def _in_thread(self, fn: Callable[[], T]) -> T:
        def locked() -> T:
            with self._db_lock:
                return fn()

        return await anyio.to_thread.run_sync(locked)

    def _recover(self) -> None:
        """A crash during an AT+CMGS leaves the row 'sending': that part is in doubt."""
        sim = self.config.sim
        with self._db_lock:
            rows = self._db.execute(
                "SELECT id, parts, parts_sent, in_doubt FROM sms_outbox "
                "WHERE sim = ? AND state = 'sending'",
                (sim,),
            ).fetchall()
            for row_id, parts_json, parts_sent, doubt_json in rows:
                parts = json.loads(parts_json or "[]")
                doubt = [*json.loads(doubt_json), parts_sent + 1]
                done = parts_sent + 1 >= len(parts)
                self._db.execute(
                    "UPDATE sms_outbox SET state = ?, parts_sent = ?, in_doubt = ? WHERE id = ?",
                    ("in_doubt" if done else "queued", parts_sent + 1, json.dumps(doubt), row_id),
                )
            last = self._db.execute(
                "SELECT MAX(at) FROM sms_sent_log WHERE sim = ?", (sim,)
            ).fetchone()[0]
        if last is not None:
            # Don't start with a full bucket right after a restart.
            self._tokens = 0.0
            self._tokens_at = float(last)

    def _result(self, row: tuple[Any, ...], status: str | None = None) -> SendResult:
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

    _COLUMNS = "id, number, state, parts, refs, in_doubt, error"

    # ------------------------------------------------------------ public API

    def locked(self) -> ZhanyeError | None:
        """Why messages are held back now (None: they are not)."""
        return self._lock() if self._lock is not None else None

    async def send(self, numbers: Sequence[str], text: str) -> list[SendResult]:
        """Queue ``text`` (signed) for each number; returns ``queued`` or ``duplicate``
        results. Raises :class:`InvalidInput` listing every bad number."""
        cleaned = _check_numbers(numbers)
        body = _with_signature(text, self.config.signature)
        now = self._clock()
        sim = self.config.sim
        window = self.config.dedupe_window
        refusal = self.locked()
        if refusal is not None:
            return await self._in_thread(lambda: self._hold(cleaned, body, now, refusal))

        def enqueue() -> list[SendResult]:
            out = []
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for number in cleaned:
                    row = self._db.execute(
                        f"SELECT {self._COLUMNS} FROM sms_outbox WHERE sim = ? AND number = ? "
                        "AND body = ? AND created >= ? AND state NOT IN ('failed', 'blocked') "
                        "ORDER BY id DESC LIMIT 1",
                        (sim, number, body, now - window),
                    ).fetchone()
                    if row is not None:
                        out.append(self._result(row, "duplicate"))
                        continue
                    cursor = self._db.execute(
                        "INSERT INTO sms_outbox (sim, number, body, state, next_attempt, created)"
                        " VALUES (?, ?, ?, 'queued', ?, ?)",
                        (sim, number, body, now, now),
                    )
                    assert cursor.lastrowid is not None
                    out.append(SendResult(cursor.lastrowid, number, "queued"))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return out

        results = await self._in_thread(enqueue)
        self._wake.set()
        return results

    def _hold(
        self, numbers: list[str], body: str, now: float, refusal: ZhanyeError
    ) -> list[SendResult]:
        out = []
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for number in numbers:
                cursor = self._db.execute(
                    "INSERT INTO sms_outbox (sim, number, body, state, next_attempt, created, "
                    "error) VALUES (?, ?, ?, 'blocked', ?, ?, ?)",
                    (self.config.sim, number, body, now, now, str(refusal)),
                )
                assert cursor.lastrowid is not None
                out.append(SendResult(cursor.lastrowid, number, "blocked", error=str(refusal)))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return out

    async def recent(self, limit: int = 50) -> list[SendResult]:
        """The newest messages of this SIM's outbox, newest first, whatever their state."""
        sim = self.config.sim

        def load() -> list[tuple[Any, ...]]:
            return self._db.execute(
                f"SELECT {self._COLUMNS} FROM sms_outbox WHERE sim = ? ORDER BY id DESC LIMIT ?",
                (sim, max(1, min(int(limit), 500))),
            ).fetchall()

        return [self._result(row) for row in await self._in_thread(load)]

    async def status(self, message_id: int) -> SendResult:
        """The current state of a queued message; raises :class:`NotFound`."""

        def load() -> tuple[Any, ...] | None:
            row: tuple[Any, ...] | None = self._db.execute(
                f"SELECT {self._COLUMNS} FROM sms_outbox WHERE id = ?", (message_id,)
            ).fetchone()
            return row

        row = await self._in_thread(load)
        if row is None:
            raise NotFound(f"no queued SMS with id {message_id}")
        return self._result(row)

    async def pending(self) -> int:
        """How many messages are still waiting to be (fully) sent."""
        sim = self.config.sim
        return await self._in_thread(
            lambda: int(
                self._db.execute(
                    "SELECT COUNT(*) FROM sms_outbox "
                    "WHERE sim = ? AND state IN ('queued', 'sending')",
                    (sim,),
                ).fetchone()[0]
            )
        )

    # ------------------------------------------------------------ rate limits

    def _refill(self, now: float) -> None:
        limits = self.config.limits
        elapsed = max(0.0, now - self._tokens_at)
        self._tokens = min(float(limits.burst), self._tokens + elapsed / limits.min_interval)
        self._tokens_at = now

    async def wait_time(self) -> float:
        """Seconds until the limits allow the next part (0: now)."""
        now = self._clock()
        self._refill(now)
        limits = self.config.limits
        waits = [0.0]
        if self._tokens < 1.0:
            waits.append((1.0 - self._tokens) * limits.min_interval)
        sim = self.config.sim

        def window_waits() -> list[float]:
            out = []
            for span, cap in ((3600.0, limits.per_hour), (86400.0, limits.per_day)):
                rows = self._db.execute(
                    "SELECT at FROM sms_sent_log WHERE sim = ? AND at > ? ORDER BY at DESC "
                    "LIMIT 1 OFFSET ?",
                    (sim, now - span, cap - 1),
                ).fetchone()
                if rows is not None:  # cap parts already inside the window
                    out.append(rows[0] + span - now)
            return out

        waits += await self._in_thread(window_waits)
        return max(waits)

    # ------------------------------------------------------------ sending

    async def process_due(self) -> int:
        """Send every part the limits allow now; returns how many parts went out."""
        sent = 0
        sim = self.config.sim
        while True:
            now = self._clock()
            if now < self._offline_until:
                return sent

            def next_row(now: float = now) -> tuple[Any, ...] | None:
                row: tuple[Any, ...] | None = self._db.execute(
                    "SELECT id, number, body, parts, parts_sent, refs, attempts FROM sms_outbox "
                    "WHERE sim = ? AND state = 'queued' AND next_attempt <= ? "
                    "ORDER BY id LIMIT 1",
                    (sim, now),
                ).fetchone()
                return row

            row = await self._in_thread(next_row)
            if row is None:
                return sent
            if await self.wait_time() > 0:
                return sent
            outcome = await self._send_next_part(row)
            if outcome == "stop":
                return sent
            if outcome == "sent":
                sent += 1

    async def _send_next_part(self, row: tuple[Any, ...]) -> str:
        row_id, number, body, parts_json, parts_sent, refs_json, attempts = row
        if parts_json is None:
            try:
                encoded = self.sender.encode(number, body)
            except InvalidInput as exc:
                await self._fail(row_id, f"cannot encode: {exc}")
                return "failed"
            parts_json = json.dumps([attrs.asdict(p) for p in encoded])
            await self._in_thread(
                lambda: self._db.execute(
                    "UPDATE sms_outbox SET parts = ? WHERE id = ?", (parts_json, row_id)
                )
            )
        parts = [pdu.SubmitPart(**p) for p in json.loads(parts_json)]
        part = parts[parts_sent]
        if not getattr(self.sender, "connected", True):
            # The modem is away: wait, without a write per try.
            self._back_off_offline()
            return "stop"
        await self._in_thread(
            lambda: self._db.execute(
                "UPDATE sms_outbox SET state = 'sending' WHERE id = ?", (row_id,)
            )
        )
        now = self._clock()
        try:
            reference = await self.sender.send_pdu(part)
        except SubmitInDoubt as exc:
            await self._advance(row_id, parts, parts_sent, refs_json, None, now, str(exc))
            return "sent"
        except DeviceDisconnected:
            await self._requeue(row_id, attempts, now, count=False)
            self._back_off_offline()
            return "stop"
        except CmsError as exc:
            if exc.retryable and attempts + 1 < self.config.max_attempts:
                await self._requeue(row_id, attempts, now, count=True, error=str(exc))
                return "retry"
            await self._fail(row_id, str(exc))
            return "failed"
        except DeviceError as exc:
            if exc.retryable:  # e.g. a timeout before the payload: not sent, try later
                await self._requeue(row_id, attempts, now, count=False, error=str(exc))
                return "stop"
            await self._fail(row_id, str(exc))
            return "failed"
        self._offline = 0
        await self._advance(row_id, parts, parts_sent, refs_json, reference, now, None)
        return "sent"

    def _back_off_offline(self) -> None:
        """Back off (bounded, exponential) before the next try while the modem is away."""
        self.offline_attempts += 1
        config = self.config
        delay = min(
            config.offline_retry_max, config.offline_retry_min * 2 ** min(self._offline, 30)
        )
        self._offline += 1
        self._offline_until = self._clock() + delay

    async def _advance(
        self,
        row_id: int,
        parts: list[pdu.SubmitPart],
        parts_sent: int,
        refs_json: str,
        reference: int | None,
        now: float,
        doubt: str | None,
    ) -> None:
        self._refill(now)
        self._tokens = max(0.0, self._tokens - 1.0)
        refs = json.loads(refs_json)
        if reference is not None:
            refs.append(reference)
        done = parts_sent + 1 >= len(parts)
        sim = self.config.sim

        def write() -> None:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                old = self._db.execute(
                    "SELECT in_doubt FROM sms_outbox WHERE id = ?", (row_id,)
                ).fetchone()[0]
                in_doubt = json.loads(old)
                if doubt is not None:
                    in_doubt.append(parts_sent + 1)
                    self._db.execute(
                        "UPDATE sms_outbox SET in_doubt = ?, error = ? WHERE id = ?",
                        (json.dumps(in_doubt), doubt, row_id),
                    )
                state = ("in_doubt" if in_doubt else "sent") if done else "queued"
                self._db.execute(
                    "UPDATE sms_outbox SET state = ?, parts_sent = ?, refs = ? WHERE id = ?",
                    (state, parts_sent + 1, json.dumps(refs), row_id),
                )
                self._db.execute("INSERT INTO sms_sent_log (sim, at) VALUES (?, ?)", (sim, now))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

        await self._in_thread(write)

    async def _requeue(
        self, row_id: int, attempts: int, now: float, *, count: bool, error: str | None = None
    ) -> None:
        n = attempts + 1 if count else attempts
        delay = min(self.config.retry_max, self.config.retry_base * 2 ** max(0, n - 1))
        await self._in_thread(
            lambda: self._db.execute(
                "UPDATE sms_outbox SET state = 'queued', attempts = ?, next_attempt = ?, "
                "error = ? WHERE id = ?",
                (n, now + (delay if count else 0.0), error, row_id),
            )
        )

    async def _fail(self, row_id: int, error: str) -> None:
        await self._in_thread(
            lambda: self._db.execute(
                "UPDATE sms_outbox SET state = 'failed', error = ? WHERE id = ?", (error, row_id)
            )
        )

    async def _next_due(self) -> float | None:
        """When the earliest queued message may go (None: nothing queued)."""
        sim = self.config.sim

        def load() -> float | None:
            value = self._db.execute(
                "SELECT MIN(next_attempt) FROM sms_outbox WHERE sim = ? AND state = 'queued'",
                (sim,),
            ).fetchone()[0]
            return None if value is None else float(value)

        return await self._in_thread(load)

    async def run(self) -> None:
        """Send forever (start in a task group; cancel to stop)."""
        while True:
            self._wake = anyio.Event()
            await self.process_due()
            delay = self.config.idle_poll
            due = await self._next_due()
            if due is not None:
                now = self._clock()
                # Every condition must hold before the next part can go: sleep until
                # the latest of them (never a busy loop while a message waits).
                waits = [await self.wait_time(), due - now, self._offline_until - now]
                delay = min(delay, max(0.01, *waits))
            with anyio.move_on_after(delay):
                await self._wake.wait()
