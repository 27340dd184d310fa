"""The exceptions of zhanye-sdk: one root, subclasses by meaning."""

from __future__ import annotations

__all__ = [
    "ConflictError",
    "DeviceError",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "ProtocolError",
    "RateLimited",
    "ZhanyeError",
]


class ZhanyeError(Exception):
    """Root of every error the SDK raises on purpose.

    ``str(exc)`` is the English message (developers, logs); ``zh`` is the same failure
    told to a person in Simplified Chinese — what happened and what to do next — for the
    errors a user can cause from a page, ``None`` for internal and protocol errors.

    Args:
        args: the English message (and anything else ``Exception`` accepts).
        zh: the Chinese message for pages, if any.
    """

    zh: str | None

    def __init__(self, *args: object, zh: str | None = None) -> None:
        super().__init__(*args)
        self.zh = zh


class InvalidInput(ZhanyeError, ValueError):
    """A value given to the SDK is malformed or out of range; the message says what is expected."""


class PermissionDenied(ZhanyeError):
    """The acting principal may not do this."""


class NotFound(ZhanyeError):
    """The thing asked for does not exist (or is outside the actor's scope)."""


class ConflictError(ZhanyeError):
    """The operation conflicts with the current state (e.g. a double booking)."""


class RateLimited(ZhanyeError):
    """Too many requests or too much data from one client in a short time.

    Args:
        message: what was limited.
        retry_after_s: seconds until the client may try again.
    """

    def __init__(self, message: str, *, retry_after_s: float = 1.0, zh: str | None = None) -> None:
        super().__init__(message, zh=zh)
        self.retry_after_s = retry_after_s


class ProtocolError(ZhanyeError):
    """A peer sent bytes or messages that break the protocol."""


class DeviceError(ZhanyeError):
    """A device reported an error.

    Args:
        message: what went wrong.
        code: the device's error code (e.g. the number of ``+CME ERROR: 14``), if any.
        retryable: whether trying again later may succeed.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        retryable: bool = False,
        zh: str | None = None,
    ) -> None:
        super().__init__(message, zh=zh)
        self.code = code
        self.retryable = retryable
