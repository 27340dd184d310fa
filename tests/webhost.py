"""The web host over a ``Deployment``, for HTTP, socket and browser tests.

``build_app`` assembles a ``Deployment`` over an open platform and mounts it with the web
host's adapter (the pages are the host's); ``app[DEPLOYMENT]`` is the deployment, whose
services (``rooms``, ``media``, ``whiteboards`` …) tests drive directly. ``RunningHost``
runs that application in a background thread on a loopback port.

This module and ``kiosk_world`` are the only test modules that import a host.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import attrs
from aiohttp import web

from hosts.web.delivery import StaticDelivery
from hosts.web.server import web_app
from zhanye_sdk import Deployment, DeploymentConfig, Platform, SmsGateway
from zhanye_sdk.media.service import MediaConfig
from zhanye_sdk.platform import PasswordHashing, PlatformConfig
from zhanye_sdk.platform.config import MaterialSettings
from zhanye_sdk.rooms.service import SessionConfig
from zhanye_sdk.signaling.endpoint import SignalingConfig
from zhanye_sdk.sop.live import SopLiveConfig

from .platform_world import World, build_world

T = TypeVar("T")

#: Cheap password hashing (the defaults take ~100 ms a hash).
FAST_HASHING = PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1)

# A real user agent, as Safari on an iPhone sends it.
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
#: The phone screen of the manual's §5 (an iPhone's 375×812 CSS pixels).
PHONE_VIEWPORT = {"width": 375, "height": 812}

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


#: The deployment an application built by ``build_app`` mounts.
DEPLOYMENT = web.AppKey("deployment", Deployment)


def build_app(
    platform: Platform,
    *,
    sms_gateway: SmsGateway | None = None,
    session_config: SessionConfig | None = None,
    signaling_config: SignalingConfig | None = None,
    media_config: MediaConfig | None = None,
    sop_config: SopLiveConfig | None = None,
    public_url: str | None = None,
    static_delivery: StaticDelivery | None = None,
) -> web.Application:
    """The web host's application over a ``Deployment`` of ``platform`` with these settings."""
    config = DeploymentConfig(
        sms_gateway=sms_gateway,
        sessions=session_config,
        signaling=signaling_config,
        media=media_config or MediaConfig(),
        sop=sop_config or SopLiveConfig(),
    )
    if public_url is not None:
        config = attrs.evolve(config, public_url=public_url)
    deployment = Deployment(config, platform)
    app = web_app(deployment, static_delivery=static_delivery)
    app[DEPLOYMENT] = deployment
    return app


@contextlib.asynccontextmanager
async def serving(platform: Platform, **app_options: Any) -> AsyncIterator[str]:
    """``build_app(platform, **app_options)`` served on a free loopback port in this event
    loop; its URL. Leaving stops it and closes the platform."""
    runner = web.AppRunner(build_app(platform, **app_options))
    try:
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
        await platform.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThreadedLoop(abc.ABC):
    """An event loop in its own thread, running whatever ``_start`` sets up on a free port."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = free_port()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(self, coro: Awaitable[T]) -> T:
        """Run a coroutine on the loop and wait for its result."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]
        return future.result(timeout=60)

    @abc.abstractmethod
    async def _start(self) -> None:
        """Set up what runs on the loop."""

    @abc.abstractmethod
    async def _stop(self) -> None:
        """Tear it down."""

    def start(self) -> Any:
        self._thread.start()
        self.run(self._start())
        return self

    def stop(self) -> None:
        try:
            self.run(self._stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)


class RunningHost(ThreadedLoop):
    """Starts ``build_app(platform)`` in its own thread and event loop."""

    def __init__(
        self,
        make_platform: Callable[[], Awaitable[tuple[Platform, Any]]],
        **app_options: Any,
    ) -> None:
        super().__init__()
        self._make_platform = make_platform
        # Pages start WebRTC media: keep ICE on loopback in every browser test.
        app_options.setdefault(
            "media_config", MediaConfig(ice_host_addresses=("127.0.0.1",), loopback_only=True)
        )
        app_options.setdefault("public_url", self.url)
        self._app_options = app_options
        self.platform: Platform | None = None
        self.extra: Any = None
        self._runner: web.AppRunner | None = None

    @property
    def deployment(self) -> Deployment:
        """The deployment the host serves."""
        return self.app[DEPLOYMENT]

    async def _start(self) -> None:
        self.platform, self.extra = await self._make_platform()
        self.app = build_app(self.platform, **self._app_options)
        self._runner = web.AppRunner(self.app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self.platform is not None:
            await self.platform.close()

    def start(self) -> RunningHost:
        super().start()
        return self


@contextlib.contextmanager
def world_host(
    tmp_path: Path,
    prepare: Callable[[World], Awaitable[Any]] | None = None,
    *,
    storage: Path | None = None,
    **app_options: Any,
) -> Iterator[RunningHost]:
    """A running web host over the test world (``platform_world``) in ``tmp_path/web.db``;
    ``prepare`` adds data before it serves, and what it returns is the host's ``extra``
    (the world when it returns nothing); materials are kept under ``storage`` (else below
    the working directory); ``app_options`` go to ``build_app``. Stopped on leaving."""

    async def make() -> tuple[Platform, Any]:
        config = PlatformConfig(passwords=FAST_HASHING)
        if storage is not None:
            config = attrs.evolve(config, materials=MaterialSettings(storage_root=storage))
        world = await build_world(f"sqlite:///{tmp_path}/web.db", config)
        extra = None if prepare is None else await prepare(world)
        return world.platform, world if extra is None else extra

    running = RunningHost(make, **app_options).start()
    try:
        yield running
    finally:
        running.stop()


def phone_context(browser: Any, **options: Any) -> Any:
    """A browser context like Safari on a 375×812 iPhone (touch, mobile layout);
    ``options`` go to ``new_context`` (e.g. ``permissions``)."""
    return browser.new_context(
        viewport=PHONE_VIEWPORT,
        is_mobile=True,
        has_touch=True,
        user_agent=IPHONE_SAFARI,
        **options,
    )


def wait_for(page: Any, expression: str, arg: Any = None, *, timeout: float = 30_000) -> Any:
    """Poll ``expression`` (a JavaScript expression or function, given ``arg``) in ``page``
    until it is truthy; its value.

    Playwright's ``wait_for_function`` compiles its predicate with ``eval``, which the
    pages' Content-Security-Policy (``script-src 'self'``) forbids; ``evaluate`` is not
    bound by the page's policy.
    """
    deadline = time.monotonic() + timeout / 1000
    while True:
        value = page.evaluate(expression, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout / 1000:.0f} s: {expression}")
        page.wait_for_timeout(100)
