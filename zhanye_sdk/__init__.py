"""zhanye-sdk: embeddable remote face-to-face selling.

The public API is what ``__all__`` names; everything else is internal.
"""

from __future__ import annotations

from zhanye_sdk._backend import mix, mix_minus, native_backend, soft_knee
from zhanye_sdk.errors import (
    ConflictError,
    DeviceError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ProtocolError,
    ZhanyeError,
)

__version__ = "0.1.0"

__all__ = [
    "ConflictError",
    "DeviceError",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "ProtocolError",
    "ZhanyeError",
    "mix",
    "mix_minus",
    "native_backend",
    "soft_knee",
]
