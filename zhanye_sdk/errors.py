"""The exceptions of zhanye-sdk: one root, subclasses by meaning."""

from __future__ import annotations

import math
from datetime import datetime

__all__ = [
    "AccountDisabled",
    "AreaRefusal",
    "AtCapacity",
    "AuthenticationFailed",
    "ConflictError",
    "DeviceError",
    "InvalidInput",
    "LoginThrottled",
    "NotFound",
    "OutsideServiceHours",
    "PermissionDenied",
    "ProtocolError",
    "RateLimited",
    "RoomMoved",
    "RoomUnreachable",
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


class AreaRefusal(ZhanyeError):
    """An area's refusal with its own reason (``not_presenter``, ``masked`` …).

    Clients receive ``reason`` as the error's ``code`` and ``details`` beside it; the
    HTTP status is the table's for the class (``zhanye_sdk.error_codes``). Every area
    answers it the one way (``ServerMessage.refusal``), like any other error.

    Args:
        reason: the machine-readable reason.
        message: the English message.
        zh: the Chinese message for pages, if any.
        details: more fields for the client (e.g. ``needs_snapshot``).
    """

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        zh: str | None = None,
        details: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message, zh=zh)
        self.reason = reason
        self.details = dict(details or {})


class InvalidInput(ZhanyeError, ValueError):
    """A value given to the SDK is malformed or out of range; the message says what is expected."""


class PermissionDenied(ZhanyeError):
    """The acting principal may not do this."""


class NotFound(ZhanyeError):
    """The thing asked for does not exist (or is outside the actor's scope)."""


class AuthenticationFailed(PermissionDenied):
    """Wrong credentials, or a login token that is unknown, expired or revoked."""


class AccountDisabled(AuthenticationFailed):
    """The password was right, but the account or its organization is disabled."""


class LoginThrottled(AuthenticationFailed):
    """Too many failed logins for this account or address; ``retry_after_s`` says when."""

    def __init__(self, retry_after_s: float) -> None:
        minutes = max(1, math.ceil(retry_after_s / 60))
        super().__init__(
            f"too many failed logins; try again in {minutes} minute(s)",
            zh=f"登录失败次数过多，请 {minutes} 分钟后再试",
        )
        self.retry_after_s = retry_after_s


class OutsideServiceHours(ZhanyeError):
    """A session was asked for outside the organization's service windows.

    Args:
        org_name: the organization.
        windows: its service windows, told in English (``ServiceHours.describe``).
        windows_zh: the same in Chinese.
        timezone: the zone the windows are in.
        local: the moment asked for, in that zone.
    """

    def __init__(
        self, org_name: str, *, windows: str, windows_zh: str, timezone: str, local: datetime
    ) -> None:
        super().__init__(
            f"organization {org_name!r} serves {windows} ({timezone}); "
            f"it is {local:%H:%M:%S} there now",
            zh=f"机构“{org_name}”的服务时间为 {windows_zh}（{timezone}），"
            f"当地现在是 {local:%H:%M:%S}，请在服务时间内再发起会话",
        )
        self.org_name = org_name
        self.timezone = timezone
        self.local_time = local


class ConflictError(ZhanyeError):
    """The operation conflicts with the current state (e.g. a double booking)."""


class RoomMoved(ConflictError):
    """This process no longer owns the room (scale-out: another took it over with a
    newer fencing token); nothing was written. The client reconnects and resumes."""

    def __init__(self, session_id: str) -> None:
        super().__init__(
            f"session {session_id} is now served by another process; reconnect",
            zh="会话已转由其他服务节点承载，请重新连接",
        )
        self.session_id = session_id


class RoomUnreachable(ConflictError):
    """Scale-out: the process that owns the room did not answer in time (or Redis, which
    carries the request, cannot be reached); the command may not have been applied. The
    client tries again shortly."""

    def __init__(self, session_id: str) -> None:
        super().__init__(
            f"the process serving session {session_id} did not answer; try again shortly",
            zh="会话所在的服务节点暂时没有响应，请稍后重试",
        )
        self.session_id = session_id


class RateLimited(ZhanyeError):
    """Too many requests or too much data from one client in a short time.

    Args:
        message: what was limited.
        retry_after_s: seconds until the client may try again.
    """

    def __init__(self, message: str, *, retry_after_s: float = 1.0, zh: str | None = None) -> None:
        super().__init__(message, zh=zh)
        self.retry_after_s = retry_after_s


class AtCapacity(ZhanyeError):
    """This process serves as much as it can (media participants, CPU); nothing was
    started. Another process, or this one a little later, can take it: HTTP 503.

    Args:
        message: what is full, and why.
        retry_after_s: seconds after which trying again may succeed.
        zh: the Chinese message for pages.
    """

    def __init__(self, message: str, *, retry_after_s: float = 5.0, zh: str | None = None) -> None:
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
