"""``DeskRuntime``: the call desk's long-running tasks, kept alive, and the desk's state.

A kiosk runs a few loops for as long as it is up: the SMS gateway's sender, the call
desk reading the phone's events, the daily chores. A loop that fails (a bug, a broken
database, input nobody foresaw) is logged and restarted after a back-off that doubles
up to a bound, so one bad event never leaves the desk deaf until someone restarts it;
while a loop is failing the desk's state says so (``error``), and the page shows it.

:meth:`DeskRuntime.status` is what the desk's header shows: the phone connected,
unplugged (or reconnecting), its SIM not registered, or a desk error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Protocol

import anyio
import attrs

from zhanye_sdk.merchant.calldesk import CallDesk, DeskStatus
from zhanye_sdk.merchant.registration import Registration, RegistrationVerifier

__all__ = ["Backoff", "DeskRuntime", "PhoneLine", "SimRegistration", "TaskSupervisor"]

log = logging.getLogger(__name__)

TaskFactory = Callable[[], Awaitable[Any]]


@attrs.frozen
class Backoff:
    """Delays between restarts of a failing task: ``initial`` doubling up to ``maximum``;
    a task that ran ``healthy_after`` seconds before failing starts again from ``initial``."""

    initial: float = 0.5
    maximum: float = 30.0
    healthy_after: float = 60.0

    def delay(self, failures: int) -> float:
        """Seconds to wait before restart number ``failures`` (1, 2, …)."""
        return float(min(self.maximum, self.initial * 2 ** max(0, min(failures, 60) - 1)))


@attrs.define
class _Failure:
    reason: str
    failures: int
    restarted_at: float | None = None


class TaskSupervisor:
    """Runs named tasks and restarts each one that fails or returns (see module doc).

    Args:
        backoff: see :class:`Backoff`.
        clock: monotonic seconds.
        settle: after a restart, how long a task must run before it no longer counts
            as failing.
    """

    def __init__(
        self,
        backoff: Backoff | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        settle: float = 2.0,
    ) -> None:
        self.backoff = backoff or Backoff()
        self._clock = clock
        self._settle = settle
        self._failures: dict[str, _Failure] = {}
        self.restarts: dict[str, int] = {}

    def failing(self) -> dict[str, str]:
        """The tasks that failed and have not run ``settle`` seconds since, with why."""
        now = self._clock()
        return {
            name: failure.reason
            for name, failure in self._failures.items()
            if failure.restarted_at is None or now - failure.restarted_at < self._settle
        }

    async def run(self, tasks: Mapping[str, TaskFactory]) -> None:
        """Run every task until cancelled, restarting the ones that end."""
        async with anyio.create_task_group() as group:
            for name, factory in tasks.items():
                group.start_soon(self.keep, name, factory)

    async def keep(self, name: str, factory: TaskFactory) -> None:
        """Run ``factory()`` until cancelled, restarting it whenever it ends."""
        while True:
            started = self._clock()
            try:
                await factory()
                reason = "stopped unexpectedly"
                log.error("desk task %s %s", name, reason)
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
                log.exception("desk task %s failed", name)
            previous = self._failures.get(name)
            failures = 1
            if previous is not None and self._clock() - started < self.backoff.healthy_after:
                failures = previous.failures + 1
            self._failures[name] = _Failure(reason, failures)
            delay = self.backoff.delay(failures)
            log.warning("desk task %s: restart %d in %.1f s (%s)", name, failures, delay, reason)
            await anyio.sleep(delay)
            self._failures[name].restarted_at = self._clock()
            self.restarts[name] = self.restarts.get(name, 0) + 1


class PhoneLine(Protocol):
    """What the runtime needs from the modem."""

    @property
    def connected(self) -> bool:
        """Connected and initialised."""
        ...

    def events(self) -> Any:
        """The modem's event stream."""
        ...


class IdentifiedPhone(Protocol):
    """A modem that says which SIM it holds (``Modem`` does)."""

    @property
    def connected(self) -> bool:
        """Connected and initialised."""
        ...

    @property
    def connects(self) -> int:
        """How many times it has connected."""
        ...

    async def info(self) -> Any:
        """The device's identity (``iccid``, ``imsi``)."""
        ...


class SimRegistration:
    """The registration of the SIM in the phone, verified again after every (re)connect
    (another SIM may have been put in). Run :meth:`run` as a desk task.

    Args:
        phone: the modem.
        verifier: asks the management platform.
        poll: seconds between checks for a new connection.
    """

    def __init__(
        self, phone: IdentifiedPhone, verifier: RegistrationVerifier, *, poll: float = 0.5
    ) -> None:
        self.phone = phone
        self.verifier = verifier
        self._poll = poll
        self._current: Registration | None = None
        self._verified_for = -1
        #: The SIM last read from the phone: (ICCID, IMSI).
        self.sim: tuple[str, str | None] | None = None

    def current(self) -> Registration | None:
        """The registration (None until the SIM has been verified on this connection)."""
        return self._current if self._verified_for == self.phone.connects else None

    async def register(self) -> Registration:
        """注册: ask the management platform about the SIM in the phone now.

        Raises:
            DeviceDisconnected: the phone is not plugged in.
        """
        connects = self.phone.connects
        info = await self.phone.info()
        self.sim = (info.iccid or "", info.imsi)
        self._current = await self.verifier.verify(info.iccid or "", info.imsi)
        self._verified_for = connects
        log.info("desk SIM %s: active=%s", info.iccid, self._current.active)
        return self._current

    async def run(self) -> None:
        """Verify the SIM whenever the phone has (re)connected."""
        while True:
            if self.phone.connected and self.phone.connects != self._verified_for:
                await self.register()
            await anyio.sleep(self._poll)


class Sender(Protocol):
    """What the runtime needs from the SMS gateway."""

    async def run(self) -> None:
        """Send queued messages forever."""
        ...


class DeskRuntime:
    """The call desk's tasks under a :class:`TaskSupervisor`, and the desk's state.

    Args:
        phone: the modem.
        gateway: the SMS gateway (its ``run`` sends).
        calldesk: the call desk; its subscribers also get :class:`DeskStatus` changes.
        registration: the SIM's current registration (None: not verified yet).
        chores: more tasks to keep running, by name.
        backoff: see :class:`Backoff`.
        poll: how often (seconds) the state is checked for changes to publish.
    """

    def __init__(
        self,
        phone: PhoneLine,
        gateway: Sender,
        calldesk: CallDesk,
        registration: Callable[[], Registration | None],
        *,
        chores: Mapping[str, TaskFactory] | None = None,
        backoff: Backoff | None = None,
        poll: float = 0.25,
    ) -> None:
        self.phone = phone
        self.gateway = gateway
        self.calldesk = calldesk
        self.registration = registration
        self.supervisor = TaskSupervisor(backoff)
        self._chores = dict(chores or {})
        self._poll = poll

    def status(self) -> DeskStatus:
        """The desk's state now (see :class:`DeskStatus`)."""
        failing = self.supervisor.failing()
        if failing:
            return DeskStatus(
                "error", "; ".join(f"{name}: {why}" for name, why in sorted(failing.items()))
            )
        if not self.phone.connected:
            return DeskStatus("unplugged")
        registration = self.registration()
        if registration is None or not registration.active:
            detail = registration.message if registration is not None else "not verified yet"
            return DeskStatus("unregistered", detail)
        return DeskStatus("connected")

    async def watch(self) -> AsyncIterator[DeskStatus]:
        """The current state, then each change."""
        last = self.status()
        yield last
        while True:
            await anyio.sleep(self._poll)
            now = self.status()
            if now != last:
                last = now
                yield now

    async def _publish(self) -> None:
        async for status in self.watch():
            self.calldesk.publish(status)

    async def run(self) -> None:
        """Keep every desk task running until cancelled."""
        events = self.phone.events()
        tasks: dict[str, TaskFactory] = {
            "sms": self.gateway.run,
            "calls": lambda: self.calldesk.run(events),
            "status": self._publish,
            **self._chores,
        }
        await self.supervisor.run(tasks)
