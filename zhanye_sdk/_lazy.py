"""Public names imported on first use, so that importing a package stays cheap.

A package ``__init__`` that re-exports names from heavy modules (the media stack, the
store) lists where each name lives and binds the pair of module hooks made here::

    __getattr__, __dir__ = lazy_exports(__name__, _SOURCES)

It keeps the explicit imports under ``TYPE_CHECKING`` for type checkers.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, sources: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` for the names in ``sources``.

    Args:
        package: the package's ``__name__``.
        sources: each public name and the module that defines it.
    """

    def __getattr__(name: str) -> object:
        source = sources.get(name)
        if source is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *sources})

    return __getattr__, __dir__
