"""Shared test set-up: report which kernel backend runs and load the native module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings

import zhanye_sdk
from zhanye_sdk._backend import load_native
from zhanye_sdk.platform import PasswordHashing, PlatformConfig

from .cluster_hosts import Hosts
from .postgres import ThrowawayPostgres
from .redis_server import ThrowawayRedis

settings.register_profile(
    "zhanye", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=120
)
settings.load_profile("zhanye")


# Test modules whose outcome depends on the kernel backend; the numpy pass of
# scripts/test.sh runs these (``-m kernels``), the native pass runs everything.
KERNEL_MODULE_PREFIXES = (
    "test_kernels_",
    "test_media_",
    "test_example_",
    "test_backend",
    "test_sop_matcher",
    "test_sop_eval",
    "test_sop_assist",
    "test_sop_transcript",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name.startswith(KERNEL_MODULE_PREFIXES):
            item.add_marker(pytest.mark.kernels)


def pytest_report_header() -> str:
    return f"zhanye_sdk kernel backend: {zhanye_sdk.native_backend()}"


@pytest.fixture(scope="session")
def native() -> ModuleType:
    """The native extension, loaded whatever ZHANYE_SDK_NATIVE says; it must be built."""
    module = load_native()
    assert module is not None, "the native module is not built: run `make setup`"
    return module


@pytest.fixture(scope="session")
def postgres() -> Iterator[ThrowawayPostgres]:
    """A real PostgreSQL server for this test process, removed afterwards."""
    server = ThrowawayPostgres()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, then a fresh database on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'zhanye.db'}"
    server: ThrowawayPostgres = request.getfixturevalue("postgres")
    return server.new_database()


@pytest.fixture
def fast_config() -> PlatformConfig:
    """Platform settings with cheap password hashing (the defaults take ~100 ms a hash)."""
    return PlatformConfig(
        passwords=PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1)
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

    Module-scoped: Playwright's sync API keeps an asyncio loop running while it is
    open, which would break any async test that runs after it in the same process.
    """
    from playwright.sync_api import sync_playwright

    from .webhost import CHROMIUM_ARGS

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def kiosk(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[object]:
    """A running kiosk host on a simulated desk phone, in-process unless the test module
    sets ``KIOSK_TRANSPORT = "pty"``."""
    from .kiosk_world import RunningKiosk

    transport = getattr(request.module, "KIOSK_TRANSPORT", "inproc")
    running = RunningKiosk(tmp_path, transport=transport).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def redis_server() -> Iterator[ThrowawayRedis]:
    """A real, empty Redis server for one test, removed afterwards."""
    server = ThrowawayRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def hosts(
    tmp_path: Path, postgres: ThrowawayPostgres, redis_server: ThrowawayRedis
) -> Iterator[Hosts]:
    running = Hosts(tmp_path, postgres.new_database(), redis_server.url())
    try:
        yield running
    finally:
        running.stop()
