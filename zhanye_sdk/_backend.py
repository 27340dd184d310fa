"""The one place that imports the native extension ``zhanye_sdk._native``.

Every kernel is bound here once, at import: to the Rust implementation when the
extension is importable and ``ZHANYE_SDK_NATIVE`` is not ``0``, otherwise to its numpy
twin in ``zhanye_sdk.kernels``. Both give bit-identical results; the twin is slower.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Literal

from zhanye_sdk.kernels import mix as _mix_twin

__all__ = [
    "BackendName",
    "load_native",
    "mix",
    "mix_minus",
    "native_backend",
    "soft_knee",
]

BackendName = Literal["native", "numpy"]


def load_native() -> ModuleType | None:
    """Import the native extension whatever ``ZHANYE_SDK_NATIVE`` says; None if it is missing.

    Tests and benchmarks use this to compare the two backends in one process.
    """
    try:
        from zhanye_sdk import _native
    except ImportError:
        return None
    return _native


def _select() -> ModuleType | None:
    if os.environ.get("ZHANYE_SDK_NATIVE", "1").strip() == "0":
        return None
    return load_native()


_active = _select()


def native_backend() -> BackendName:
    """Name the kernels in use: ``"native"`` (Rust) or ``"numpy"`` (the pure twin)."""
    return "native" if _active is not None else "numpy"


if _active is not None:
    mix = _active.mix
    mix_minus = _active.mix_minus
    soft_knee = _active.soft_knee
else:
    mix = _mix_twin.mix
    mix_minus = _mix_twin.mix_minus
    soft_knee = _mix_twin.soft_knee
