"""The kiosk host running for browser tests: the desk page, the SDK's desk API, a real
SMS gateway and the modem simulator — over a real pty by default, as a USB desk phone
would appear (``/dev/ttyUSB0``), or in-process (``zhanyesim://``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from hosts.kiosk.server import kiosk_app
from zhanye_sdk import Desk, DeskConfig
from zhanye_sdk.api.desk_guard import TokenGuard
from zhanye_sdk.api.http import ApiRequest, ApiResponse
from zhanye_sdk.api.merchant import MerchantApi
from zhanye_sdk.clock import ManualClock
from zhanye_sdk.devices import ModemConfig
from zhanye_sdk.devices.calls import CallTimings
from zhanye_sdk.devices.gateway import GatewayConfig, LoggingSmsGateway, RateLimits
from zhanye_sdk.devices.simulator import (
    ModemSimulator,
    PtyServer,
    register_simulator,
    unregister_simulator,
)
from zhanye_sdk.merchant import MerchantDesk
from zhanye_sdk.merchant.backups import DeskBackups
from zhanye_sdk.merchant.calldesk import CallDesk
from zhanye_sdk.merchant.registration import Registration, RegistrationVerifier

from .webhost import ThreadedLoop

NOON = datetime(2026, 3, 6, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
DESK_TOKEN = "desk-token-for-tests-0001"


@contextlib.asynccontextmanager
async def desk_api(
    tmp_path: Path, now: datetime = NOON, *, backups: Path | None = None
) -> AsyncIterator[MerchantApi]:
    """The SDK's desk API over a desk in ``tmp_path/desk.db`` whose clock stands at ``now``,
    with no phone line (the requests of input tests do not use it); backups of the desk
    go to the folder ``backups`` if given."""
    database = tmp_path / "desk.db"
    desk = await MerchantDesk.open(f"sqlite:///{database}", clock=ManualClock(now))
    gateway = LoggingSmsGateway(signature="小馆")
    try:
        yield MerchantApi(
            desk,
            CallDesk(desk, gateway),
            None,  # type: ignore[arg-type]
            gateway,
            desk_token=DESK_TOKEN,
            backups=None if backups is None else DeskBackups(desk, database, backups),
        )
    finally:
        await desk.close()


async def desk_request(
    api: MerchantApi, method: str, path: str, body: Any = None, query: dict[str, str] | None = None
) -> ApiResponse:
    """One request to the desk API, signed in with the desk's token; ``body`` as JSON."""
    return await api.handle(
        ApiRequest(
            method,
            path,
            query=query or {},
            headers={"Authorization": f"Bearer {DESK_TOKEN}"},
            body=b"" if body is None else json.dumps(body).encode(),
        )
    )


class RunningKiosk(ThreadedLoop):
    """The kiosk host on a loopback port, in its own thread and event loop."""

    def __init__(self, folder: Path, *, transport: str = "pty") -> None:
        super().__init__()
        self.folder = folder
        self.transport = transport
        self.sim = ModemSimulator("huawei", ring_interval=0.3)
        # The SIM is registered unless a test says otherwise (SMS features unlocked).
        self.registration: Registration | None = Registration(
            True, quota_per_day=100, signature="小馆"
        )
        #: When set (before start), the SIM's registration comes from this verifier
        #: (the 注册 screen's path) instead of :attr:`registration`.
        self.verifier: RegistrationVerifier | None = None
        self.token = DESK_TOKEN
        #: Seconds added to the token guard's clock (tests skip its lock-out window).
        self.guard_skew = 0.0
        self.guard = TokenGuard(lambda: time.monotonic() + self.guard_skew)
        self.modem_url = ""

    @property
    def desk_url(self) -> str:
        """The address the host prints: the page with the desk token handed over."""
        return f"{self.url}/#token={self.token}"

    async def _start(self) -> None:
        # Everything lives in one task, so its context managers exit where they entered.
        self.ready = asyncio.Event()
        self.done = asyncio.Event()
        self.main = asyncio.get_running_loop().create_task(self._main())
        await asyncio.wait_for(self.ready.wait(), 30)

    async def _main(self) -> None:
        pty: PtyServer | None = None
        name = f"kiosk-{uuid.uuid4().hex[:8]}"
        if self.transport == "pty":
            pty = PtyServer(self.sim).start()
            self.modem_url = pty.url  # a symlink to /dev/pts/N, opened by pyserial
        else:
            self.modem_url = register_simulator(name, self.sim)
        timings = CallTimings(
            clip_wait=0.1, ring_timeout=1.2, poll_interval=0.2, active_poll_interval=0.5
        )
        self.desk = await MerchantDesk.open(
            f"sqlite:///{self.folder}/desk.db", clock=ManualClock(NOON)
        )
        config = DeskConfig(
            desk_token=self.token,
            database_url=f"sqlite:///{self.folder}/desk.db",
            modem_url=self.modem_url,
            data=self.folder,
            shop="小馆",
            registration=None if self.verifier else (lambda: self.registration),
            verifier=self.verifier,
            port=self.port,
            modem=ModemConfig(
                call_timings=timings,
                pstn_call_timings=CallTimings(clip_wait=1.0, ring_timeout=1.2),
            ),
            sms=GatewayConfig(
                signature="小馆",
                limits=RateLimits(min_interval=0.01, per_hour=100, per_day=100, burst=10),
            ),
            token_guard=self.guard,
            housekeeping=False,
            poll_s=0.1,
        )
        try:
            desk = Desk(config, self.desk)
            async with desk.running():
                await desk.modem.wait_connected()
                self.api, self.runtime = desk.api, desk.runtime
                runner = web.AppRunner(kiosk_app(desk, run=False))
                await runner.setup()
                await web.TCPSite(runner, "127.0.0.1", self.port).start()
                self.ready.set()
                await self.done.wait()
                await runner.cleanup()
        finally:
            await self.desk.close()
            if pty is not None:
                pty.stop()
            unregister_simulator(name)

    async def _stop(self) -> None:
        self.done.set()
        await asyncio.wait_for(self.main, 30)

    def wait_for_sms(self, count: int) -> None:
        """Until the simulator (its own thread) has received ``count`` messages."""
        end = time.monotonic() + 10
        while len(self.sim.sent) < count and time.monotonic() < end:
            time.sleep(0.05)
        assert len(self.sim.sent) >= count, [s.text for s in self.sim.sent]


def open_desk_page(browser: Any, kiosk: RunningKiosk) -> Iterator[Any]:
    """The desk page at 1366×768 in the shop's zone, connected to its phone (a fixture body)."""
    from playwright.sync_api import expect

    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, timezone_id="Asia/Shanghai"
    )
    try:
        opened = context.new_page()
        opened.goto(kiosk.desk_url)
        expect(opened.locator("#status")).to_have_text("话机已连接")
        yield opened
    finally:
        context.close()
