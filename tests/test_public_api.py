"""Every public module says what it exports, and exports what it says."""

from __future__ import annotations

import importlib
import pkgutil

import zhanye_sdk


def public_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(zhanye_sdk.__path__, "zhanye_sdk."):
        parts = info.name.split(".")[1:]
        if any(p.startswith("_") for p in parts) or "migrations" in parts:
            continue
        names.append(info.name)
    return names


def test_every_public_module_has_an_all_that_resolves() -> None:
    modules = public_modules()
    assert len(modules) > 30
    for name in modules:
        module = importlib.import_module(name)
        exported = getattr(module, "__all__", None)
        assert exported is not None, f"{name} has no __all__"
        for item in exported:
            assert hasattr(module, item), f"{name}.__all__ names {item!r}, which it lacks"


def test_the_top_level_api_is_sorted_and_documented() -> None:
    assert zhanye_sdk.__all__ == sorted(zhanye_sdk.__all__)
    for name in zhanye_sdk.__all__:
        assert getattr(zhanye_sdk, name).__doc__, f"zhanye_sdk.{name} has no docstring"
