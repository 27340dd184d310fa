"""One merchant desk (商户管家单机版), assembled from one config.

    config = DeskConfig(desk_token="…", modem_url="/dev/ttyUSB0", shop="小馆", sims=("8986…",))
    async with Desk.open(config) as desk:
        desk.check_host(host_header)                   # every request, pages included
        response = await desk.http(request)            # every /api/desk/* request
        refusal = desk.authorize_events(request)        # before upgrading /ws/desk
        await desk.serve_events(transport)              # the live event stream

Like ``Deployment`` for the selling platform, a ``Desk`` is framework-free: the kiosk
host mounts its router and its event entry, and serves the page.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import attrs
from sqlalchemy.engine import make_url

from zhanye_sdk.api.desk_guard import HostCheck, TokenGuard
from zhanye_sdk.api.http import ApiError, ApiRequest, ApiResponse, Router, error_response
from zhanye_sdk.api.merchant import EVENTS_PATH, MerchantApi
from zhanye_sdk.capability import Capability
from zhanye_sdk.clock import Clock
from zhanye_sdk.devices.gateway import GatewayConfig, ModemSmsGateway
from zhanye_sdk.devices.modem import Modem, ModemConfig
from zhanye_sdk.errors import ZhanyeError
from zhanye_sdk.merchant.backups import DeskBackups
from zhanye_sdk.merchant.bulk import BulkSms, CareCalendar, CustomerCare
from zhanye_sdk.merchant.calldesk import CallDesk, CallDeskRules
from zhanye_sdk.merchant.capability import MerchantCapability
from zhanye_sdk.merchant.care import CareBook
from zhanye_sdk.merchant.desk import MerchantDesk
from zhanye_sdk.merchant.housekeeping import Housekeeping
from zhanye_sdk.merchant.registration import (
    LocalVerifier,
    Registration,
    RegistrationVerifier,
    sms_lock,
)
from zhanye_sdk.merchant.runtime import DeskRuntime, SimRegistration, TaskFactory
from zhanye_sdk.signaling.transport import MessageTransport, close_all

__all__ = ["EVENTS_PATH", "Desk", "DeskConfig"]


@attrs.frozen
class DeskConfig:
    """Everything one merchant desk is made of.

    Attributes:
        desk_token: what the desk page must present (at least 8 characters).
        database_url: the desk's own database (``sqlite:///var/merchant.db``).
        modem_url: the USB GSM desk phone (serial device or pyserial URL).
        data: the desk's folder: SMS outbox, backups.
        shop: the shop's name, which also signs its SMS.
        rules: the call desk's rules (automatic SMS after calls); default: the shop's.
        sims: ICCIDs of the SIMs registered for SMS (a local registration table).
        sim_quota_per_day: the daily SMS quota of each registered SIM.
        verifier: asks the management platform about the SIM instead of ``sims``.
        registration: where the SIM's registration comes from when it is not verified
            in the phone after each connect (a management push; tests).
        host, port, allowed_hosts: the host names the desk answers to (DNS rebinding).
        clock: the time the desk reads (tests pass a ``ManualClock``).
        timezone: the shop's time zone.
        modem: how the desk talks to the phone (call timings, polling).
        sms: the SMS gateway's settings (limits); its signature defaults to ``shop``.
        token_guard: locks out a client that keeps guessing the desk token.
        housekeeping: run the daily chores (backups, customer-care greetings).
        poll_s: how often the desk's state is checked for changes to publish.
    """

    desk_token: str
    database_url: str = "sqlite:///var/merchant.db"
    modem_url: str = "/dev/ttyUSB0"
    data: Path = Path("var")
    shop: str = "小馆"
    rules: CallDeskRules | None = None
    sims: tuple[str, ...] = ()
    sim_quota_per_day: int = 500
    verifier: RegistrationVerifier | None = None
    registration: Callable[[], Registration | None] | None = None
    host: str = "127.0.0.1"
    port: int = 8090
    allowed_hosts: tuple[str, ...] = ()
    clock: Clock | None = None
    timezone: str = "Asia/Shanghai"
    modem: ModemConfig | None = None
    sms: GatewayConfig | None = None
    token_guard: TokenGuard | None = None
    housekeeping: bool = True
    poll_s: float = 0.25


class Desk:
    """The merchant desk: its database, phone, SMS, call desk and chores behind one
    router and one event entry. Build it with ``Desk.open`` (or over an open
    ``MerchantDesk`` with the constructor and ``running()``)."""

    #: The largest request body the desk accepts (a customer book spreadsheet).
    MAX_BODY_BYTES = 20 * 1024 * 1024

    def __init__(self, config: DeskConfig, merchant: MerchantDesk) -> None:
        """Assemble (no I/O).

        Raises:
            InvalidInput: the desk token is too short.
        """
        self.config = config
        self.merchant = merchant
        self.modem = Modem(config.modem_url, config.modem)
        self._sockets: set[MessageTransport] = set()
        config.data.mkdir(parents=True, exist_ok=True)
        chores: dict[str, TaskFactory] = {}
        registration = config.registration
        sim: SimRegistration | None = None
        if registration is None:
            verifier = config.verifier or LocalVerifier(
                {
                    iccid: Registration(
                        True, quota_per_day=config.sim_quota_per_day, signature=config.shop
                    )
                    for iccid in config.sims
                }
            )
            sim = SimRegistration(self.modem, verifier)
            registration = sim.current
            chores["registration"] = sim.run
        self.registration = registration
        self.gateway = ModemSmsGateway(
            self.modem,
            config.data / "kiosk-outbox.db",
            config.sms or GatewayConfig(signature=config.shop),
            lock=sms_lock(registration),
        )
        self.calldesk = CallDesk(
            merchant,
            self.gateway,
            config.rules or CallDeskRules(shop=config.shop),
            registration=registration,
        )
        if config.housekeeping:
            database = Path(make_url(config.database_url).database or "var/merchant.db")
            chores["chores"] = Housekeeping(
                merchant,
                database,
                config.data / "backups",
                CustomerCare(merchant, BulkSms(merchant, self.gateway), CareCalendar()),
                registration,
                care_book=CareBook(merchant.db),
            ).run
        self.runtime = DeskRuntime(
            self.modem,
            self.gateway,
            self.calldesk,
            registration,
            chores=chores,
            poll=config.poll_s,
        )
        self.api = MerchantApi(
            merchant,
            self.calldesk,
            self.modem,
            self.gateway,
            registration=registration,
            desk_token=config.desk_token,
            runtime=self.runtime,
            hosts=HostCheck(config.host, config.port, config.allowed_hosts),
            guard=config.token_guard,
            sim=sim,
            backups=_backups(merchant, config),
        )
        self.capabilities: tuple[Capability, ...] = (
            MerchantCapability(self.api, self.runtime, self.modem, self.gateway),
        )
        self.router = Router()
        for capability in self.capabilities:
            self.router.include(capability.router)

    @classmethod
    @asynccontextmanager
    async def open(
        cls, config: DeskConfig, *, merchant: MerchantDesk | None = None
    ) -> AsyncIterator[Desk]:
        """Open the desk's database (unless given), assemble, recover and run."""
        own = merchant is None
        if merchant is None:
            merchant = await cls.open_merchant(config)
        try:
            desk = cls(config, merchant)
            async with desk.running():
                yield desk
        finally:
            if own:
                with anyio.CancelScope(shield=True):
                    await merchant.close()

    @staticmethod
    async def open_merchant(config: DeskConfig) -> MerchantDesk:
        """The desk's database ``config`` names (migrated), with its clock and time zone."""
        return await MerchantDesk.open(
            config.database_url, clock=config.clock, timezone=config.timezone
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Desk]:
        """Recover, then run every capability until the block is left."""
        for capability in self.capabilities:
            await capability.recover()
        async with anyio.create_task_group() as tasks:
            for capability in self.capabilities:
                await tasks.start(capability.run)
            try:
                yield self
            finally:
                tasks.cancel_scope.cancel()

    # ---- HTTP -------------------------------------------------------------------------

    def check_host(self, host_header: str | None) -> None:
        """Refuse a request naming another host (DNS rebinding): pages and files too.

        Raises:
            WrongHost: 403.
        """
        self.api.check_host(host_header)

    async def http(self, request: ApiRequest) -> ApiResponse:
        """Answer one ``/api/desk/*`` request (401 without the desk token)."""
        try:
            self.api.authorize(request)
            return await self.router.dispatch(request)
        except ZhanyeError as exc:
            return error_response(exc)

    # ---- the event stream -------------------------------------------------------------

    def authorize_events(self, request: ApiRequest) -> ApiResponse | None:
        """None when ``request`` may open the event stream; else the refusal to send
        instead of upgrading (wrong host 403, locked out 429, no desk token 401)."""
        if request.path != EVENTS_PATH:
            return error_response(ApiError(404, "not_found", f"no socket {request.path}"))
        try:
            self.api.authorize(request)
        except ZhanyeError as exc:
            return error_response(exc)
        return None

    async def serve_events(self, transport: MessageTransport) -> None:
        """Send the desk's events (its state first) until the page goes away."""
        self._sockets.add(transport)
        try:
            async with anyio.create_task_group() as tasks:

                async def forward() -> None:
                    async for event in self.api.events():
                        await transport.send(json.dumps(event, ensure_ascii=False))

                tasks.start_soon(forward)
                while await transport.receive() is not None:
                    pass  # the page says nothing; it is there until it closes
                tasks.cancel_scope.cancel()
        finally:
            self._sockets.discard(transport)

    async def close_sockets(self, code: int = 1001, reason: str = "desk restarting") -> None:
        """Close every event stream at once (the pages reconnect when the desk is back); a
        page that does not take the close (frozen, or its machine asleep) has its connection
        cut after ``transport.CLOSE_LIMIT_S``."""
        await close_all(self._sockets, code, reason)


def _backups(merchant: MerchantDesk, config: DeskConfig) -> DeskBackups | None:
    """The backup screen's backups of a SQLite desk database (None for another kind)."""
    url = make_url(config.database_url)
    if not url.drivername.startswith("sqlite") or not url.database:
        return None
    return DeskBackups(merchant, Path(url.database), config.data / "backups")
