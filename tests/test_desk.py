"""A ``Desk`` runs the merchant desk with no web framework and no host at all.

Its desk phone is the SDK's modem simulator; requests go through ``desk.http`` and the
event stream through ``desk.serve_events``, with an in-memory transport where a
framework's WebSocket would be.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest

from zhanye_sdk import Desk, DeskConfig
from zhanye_sdk.api.http import ApiRequest, ApiResponse
from zhanye_sdk.devices.calls import CallTimings
from zhanye_sdk.devices.modem import ModemConfig
from zhanye_sdk.devices.simulator import ModemSimulator, register_simulator, unregister_simulator
from zhanye_sdk.errors import ZhanyeError

pytestmark = pytest.mark.anyio

TOKEN = "desk-token-for-a-desk-test"
HOST = "127.0.0.1:8090"


class EventsTransport:
    """The page's side of the event stream: it receives, and says nothing until it leaves."""

    def __init__(self) -> None:
        self._send, self.received = anyio.create_memory_object_stream[str](100)
        self._leave = anyio.Event()

    async def receive(self) -> str | bytes | None:
        await self._leave.wait()
        return None

    async def send(self, text: str) -> None:
        await self._send.send(text)

    async def close(self, code: int, reason: str) -> None:
        self._leave.set()

    def abort(self) -> None:
        self._leave.set()

    async def next(self, kind: str) -> dict[str, Any]:
        with anyio.fail_after(10):
            while True:
                event: dict[str, Any] = json.loads(await self.received.receive())
                if event["type"] == kind:
                    return event

    def leave(self) -> None:
        self._leave.set()


async def get(desk: Desk, path: str, **headers: str) -> ApiResponse:
    return await desk.http(ApiRequest("GET", path, headers={"Host": HOST, **headers}))


class FrozenPage(EventsTransport):
    """A page whose machine went to sleep: it takes no close (nor anything else)."""

    def __init__(self) -> None:
        super().__init__()
        self.aborted = False

    async def send(self, text: str) -> None:
        await anyio.sleep_forever()

    async def close(self, code: int, reason: str) -> None:
        await anyio.sleep_forever()

    def abort(self) -> None:
        self.aborted = True
        super().abort()


def desk_config(tmp_path: Path, sim: ModemSimulator, name: str) -> DeskConfig:
    """A desk on ``sim`` (registered as ``name``) with a quick call-detection timing."""
    return DeskConfig(
        desk_token=TOKEN,
        database_url=f"sqlite:///{tmp_path}/desk.db",
        modem_url=register_simulator(name, sim),
        data=tmp_path,
        sims=(sim.profile.iccid,),
        sim_quota_per_day=50,
        modem=ModemConfig(call_timings=CallTimings(clip_wait=0.1, poll_interval=0.2)),
        poll_s=0.1,
    )


async def test_a_desk_answers_calls_and_requests_through_its_own_entry_points(
    tmp_path: Path,
) -> None:
    sim = ModemSimulator("huawei", ring_interval=0.3)
    name = f"desk-{uuid.uuid4().hex[:8]}"
    config = desk_config(tmp_path, sim, name)
    try:
        async with Desk.open(config) as desk:
            await desk.modem.wait_connected()
            # No token, or a page of another host name: nothing is answered.
            assert (await get(desk, "/api/desk/status")).status == 401
            with pytest.raises(ZhanyeError):
                desk.check_host("evil.example:8090")
            desk.check_host(HOST)
            # The registered SIM unlocks the desk: its registration has the shop's quota.
            auth = {"Authorization": f"Bearer {TOKEN}"}
            with anyio.fail_after(10):
                status = await get(desk, "/api/desk/status", **auth)
                while status.json()["state"] != "connected":  # noqa: ASYNC110
                    await anyio.sleep(0.05)
                    status = await get(desk, "/api/desk/status", **auth)
            registration = desk.registration()
            assert registration is not None and registration.quota_per_day == 50
            # The event stream: the desk's state first, then a pop-up for a ringing phone.
            assert desk.authorize_events(ApiRequest("GET", "/ws/desk", headers={"Host": HOST}))
            allowed = desk.authorize_events(
                ApiRequest("GET", "/ws/desk", headers={"Host": HOST, **auth})
            )
            assert allowed is None
            page = EventsTransport()
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(desk.serve_events, page)
                assert (await page.next("DeskStatus"))["data"]["state"] == "connected"
                sim.incoming_call("13900139000", rings=2)
                popup = await page.next("PopUpOpened")
                assert popup["data"]["number"] == "13900139000"
                page.leave()
            # A normal start seeds nothing: no demo rooms or tables.
            resources = await get(desk, "/api/desk/resources", **auth)
            assert resources.json()["items"] == []
    finally:
        unregister_simulator(name)


async def test_a_desk_restarting_closes_its_pages_at_once_and_cuts_a_frozen_one(
    tmp_path: Path,
) -> None:
    sim = ModemSimulator("huawei", ring_interval=0.3)
    name = f"desk-{uuid.uuid4().hex[:8]}"
    try:
        async with Desk.open(desk_config(tmp_path, sim, name)) as desk:
            pages = [EventsTransport(), FrozenPage(), FrozenPage()]
            async with anyio.create_task_group() as tasks:
                for page in pages:
                    tasks.start_soon(desk.serve_events, page)
                await pages[0].next("DeskStatus")
                with anyio.fail_after(4):  # one wait for all, not one per frozen page
                    await desk.close_sockets(1001, "desk restarting")
            assert [getattr(page, "aborted", False) for page in pages] == [False, True, True]
    finally:
        unregister_simulator(name)
