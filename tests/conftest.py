"""Shared test set-up: report which kernel backend runs and load the native module."""

from __future__ import annotations

from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings

import zhanye_sdk
from zhanye_sdk._backend import load_native

settings.register_profile(
    "zhanye", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=120
)
settings.load_profile("zhanye")


def pytest_report_header() -> str:
    return f"zhanye_sdk kernel backend: {zhanye_sdk.native_backend()}"


@pytest.fixture(scope="session")
def native() -> ModuleType:
    """The native extension, loaded whatever ZHANYE_SDK_NATIVE says; it must be built."""
    module = load_native()
    assert module is not None, "the native module is not built: run `make setup`"
    return module
