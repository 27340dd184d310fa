"""The exceptions of zhanye-sdk: one root, subclasses by meaning."""

from __future__ import annotations

__all__ = [
    "ConflictError",
    "DeviceError",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "ProtocolError",
    "ZhanyeError",
]


class ZhanyeError(Exception):
    """Root of every error the SDK raises on purpose."""


class InvalidInput(ZhanyeError, ValueError):
    """A value given to the SDK is malformed or out of range; the message says what is expected."""


class PermissionDenied(ZhanyeError):
    """The acting principal may not do this."""


class NotFound(ZhanyeError):
    """The thing asked for does not exist (or is outside the actor's scope)."""


class ConflictError(ZhanyeError):
    """The operation conflicts with the current state (e.g. a double booking)."""


class ProtocolError(ZhanyeError):
    """A peer sent bytes or messages that break the protocol."""


class DeviceError(ZhanyeError):
    """A device reported an error.

    Args:
        message: what went wrong.
        code: the device's error code (e.g. the number of ``+CME ERROR: 14``), if any.
        retryable: whether trying again later may succeed.
    """

    def __init__(self, message: str, *, code: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
