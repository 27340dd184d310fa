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

Split by job: this module speaks to the modem (``SmsSender``) and decides what goes when;
``devices.outbox`` stores the queue and the send log, ``devices.rate_limits`` holds the
limits and the pacing bucket.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import anyio
import attrs

from zhanye_sdk.devices import pdu
from zhanye_sdk.devices.at_errors import CmsError, DeviceDisconnected
from zhanye_sdk.devices.modem import SubmitInDoubt
from zhanye_sdk.devices.outbox import QueuedRow, SmsOutbox
from zhanye_sdk.devices.rate_limits import PaceBucket, RateLimits
from zhanye_sdk.devices.sms import SendResult, SmsGateway
from zhanye_sdk.errors import DeviceError, InvalidInput, ZhanyeError

__all__ = [
    "GatewayConfig",
    "LoggingSmsGateway",
    "ModemSmsGateway",
    "RateLimits",
    "SendResult",
    "SmsGateway",
    "SmsSender",
]

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
        self._outbox = SmsOutbox(database, self.config.sim)
        self._wake = anyio.Event()
        self._pace = PaceBucket(self.config.limits, clock())
        last = self._outbox.recover()
        if last is not None:
            # Don't start with a full bucket right after a restart.
            self._pace.empty_since(last)

    @property
    def _db(self) -> sqlite3.Connection:
        return self._outbox.db

    @property
    def signature(self) -> str | None:
        """The shop's signature (``GatewayConfig.signature``), appended to every message."""
        return self.config.signature

    def close(self) -> None:
        """Close the database."""
        self._outbox.close()

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
        refusal = self.locked()
        if refusal is not None:
            return await self._outbox.hold(cleaned, body, now, str(refusal))
        results = await self._outbox.enqueue(cleaned, body, now, self.config.dedupe_window)
        self._wake.set()
        return results

    async def recent(self, limit: int = 50) -> list[SendResult]:
        """The newest messages of this SIM's outbox, newest first, whatever their state."""
        return await self._outbox.recent(limit)

    async def status(self, message_id: int) -> SendResult:
        """The current state of a queued message; raises :class:`NotFound`."""
        return await self._outbox.status(message_id)

    async def pending(self) -> int:
        """How many messages are still waiting to be (fully) sent."""
        return await self._outbox.pending()

    async def wait_time(self) -> float:
        """Seconds until the limits allow the next part (0: now)."""
        now = self._clock()
        waits = [0.0, self._pace.wait(now)]
        waits += await self._outbox.window_waits(now, self.config.limits.windows())
        return max(waits)

    # ------------------------------------------------------------ sending

    async def process_due(self) -> int:
        """Send every part the limits allow now; returns how many parts went out."""
        sent = 0
        while True:
            now = self._clock()
            if now < self._offline_until:
                return sent
            row = await self._outbox.next_row(now)
            if row is None:
                return sent
            if await self.wait_time() > 0:
                return sent
            outcome = await self._send_next_part(row)
            if outcome == "stop":
                return sent
            if outcome == "sent":
                sent += 1

    async def _send_next_part(self, row: QueuedRow) -> str:
        row_id, number, body, parts_json, parts_sent, refs_json, attempts = row
        if parts_json is None:
            try:
                encoded = self.sender.encode(number, body)
            except InvalidInput as exc:
                await self._outbox.fail(row_id, f"cannot encode: {exc}")
                return "failed"
            parts_json = json.dumps([attrs.asdict(p) for p in encoded])
            await self._outbox.set_parts(row_id, parts_json)
        parts = [pdu.SubmitPart(**p) for p in json.loads(parts_json)]
        part = parts[parts_sent]
        if not getattr(self.sender, "connected", True):
            # The modem is away: wait, without a write per try.
            self._back_off_offline()
            return "stop"
        await self._outbox.mark_sending(row_id)
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
            await self._outbox.fail(row_id, str(exc))
            return "failed"
        except DeviceError as exc:
            if exc.retryable:  # e.g. a timeout before the payload: not sent, try later
                await self._requeue(row_id, attempts, now, count=False, error=str(exc))
                return "stop"
            await self._outbox.fail(row_id, str(exc))
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
        self._pace.take(now)
        refs: list[int] = json.loads(refs_json)
        if reference is not None:
            refs.append(reference)
        await self._outbox.advance(row_id, parts, parts_sent, refs, now, doubt)

    async def _requeue(
        self, row_id: int, attempts: int, now: float, *, count: bool, error: str | None = None
    ) -> None:
        n = attempts + 1 if count else attempts
        delay = min(self.config.retry_max, self.config.retry_base * 2 ** max(0, n - 1))
        await self._outbox.requeue(row_id, n, now + (delay if count else 0.0), error)

    async def run(self) -> None:
        """Send forever (start in a task group; cancel to stop)."""
        while True:
            self._wake = anyio.Event()
            await self.process_due()
            delay = self.config.idle_poll
            due = await self._outbox.next_due()
            if due is not None:
                now = self._clock()
                # Every condition must hold before the next part can go: sleep until
                # the latest of them (never a busy loop while a message waits).
                waits = [await self.wait_time(), due - now, self._offline_until - now]
                delay = min(delay, max(0.01, *waits))
            with anyio.move_on_after(delay):
                await self._wake.wait()
