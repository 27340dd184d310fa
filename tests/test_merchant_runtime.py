"""The desk's tasks under supervision: a failing task is restarted with a growing,
bounded back-off and logged, and the desk's state says what is wrong."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest

from zhanye_sdk.clock import ManualClock
from zhanye_sdk.devices import Modem, ModemConfig
from zhanye_sdk.devices.gateway import ModemSmsGateway
from zhanye_sdk.devices.simulator import ModemSimulator, register_simulator, unregister_simulator
from zhanye_sdk.merchant import MerchantDesk
from zhanye_sdk.merchant.calldesk import CallDesk, DeskStatus
from zhanye_sdk.merchant.registration import LocalVerifier, Registration
from zhanye_sdk.merchant.runtime import Backoff, DeskRuntime, SimRegistration, TaskSupervisor

pytestmark = pytest.mark.anyio

NOON = datetime(2026, 3, 6, 4, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_backoff_doubles_up_to_its_bound() -> None:
    backoff = Backoff(initial=0.5, maximum=30.0)
    assert [backoff.delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert backoff.delay(10) == 30.0 and backoff.delay(10_000) == 30.0


async def test_a_failing_task_is_restarted_with_backoff_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    starts: list[float] = []

    async def flaky() -> None:
        starts.append(time.monotonic())
        if len(starts) <= 3:
            raise RuntimeError(f"bad event {len(starts)}")
        await anyio.sleep_forever()

    supervisor = TaskSupervisor(Backoff(initial=0.05, maximum=1.0), settle=0.3)
    caplog.set_level(logging.INFO, logger="zhanye_sdk.merchant.runtime")
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(supervisor.run, {"calls": flaky})
        with anyio.fail_after(10):
            while len(starts) < 4:  # noqa: ASYNC110 - counts the task's restarts
                await anyio.sleep(0.01)
        # Each restart waited at least its back-off: 0.05, 0.1, 0.2 s.
        gaps = [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)]
        assert all(gap >= 0.9 * want for gap, want in zip(gaps, (0.05, 0.1, 0.2), strict=True))
        assert supervisor.restarts == {"calls": 3}
        # Once the task has run a while since its restart it no longer counts as failing.
        with anyio.fail_after(10):
            while supervisor.failing():  # noqa: ASYNC110 - the supervisor keeps no event
                await anyio.sleep(0.05)
        tasks.cancel_scope.cancel()
    failed = [r for r in caplog.records if r.getMessage() == "desk task calls failed"]
    assert len(failed) == 3 and all(r.exc_info for r in failed)
    restarts = [r.getMessage() for r in caplog.records if "restart" in r.getMessage()]
    assert restarts[0].startswith("desk task calls: restart 1 in 0.1 s")
    assert "bad event 3" in restarts[2]


async def test_the_desk_state_follows_the_phone_the_sim_and_failing_tasks(
    tmp_path: Path,
) -> None:
    sim = ModemSimulator("huawei")
    name = f"runtime-{uuid.uuid4().hex[:8]}"
    url = register_simulator(name, sim)
    desk = await MerchantDesk.open(f"sqlite:///{tmp_path}/desk.db", clock=ManualClock(NOON))
    broken = [True]

    async def chore() -> None:
        if broken[0]:
            raise OSError("backup folder is not writable")
        await anyio.sleep_forever()

    try:
        async with Modem(url, ModemConfig(reconnect_min=0.05, reconnect_max=0.2)) as modem:
            gateway = ModemSmsGateway(modem)
            calldesk = CallDesk(desk, gateway)
            registration = SimRegistration(
                modem, LocalVerifier({sim.profile.iccid: Registration(True)}), poll=0.05
            )
            runtime = DeskRuntime(
                modem,
                gateway,
                calldesk,
                registration.current,
                chores={"registration": registration.run, "backup": chore},
                backoff=Backoff(initial=0.2, maximum=0.4),
                poll=0.05,
            )
            states = calldesk.subscribe()

            async def next_state(want: str) -> DeskStatus:
                with anyio.fail_after(10):
                    async for event in states:
                        if isinstance(event, DeskStatus) and event.state == want:
                            return event
                raise AssertionError("no more desk events")

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(runtime.run)
                error = await next_state("error")
                assert "backup: OSError: backup folder is not writable" in error.detail
                broken[0] = False
                await next_state("connected")  # the SIM was verified on connect
                sim.unplug()
                await next_state("unplugged")
                sim.replug()
                await next_state("connected")
                tasks.cancel_scope.cancel()
            gateway.close()
    finally:
        await desk.close()
        unregister_simulator(name)
