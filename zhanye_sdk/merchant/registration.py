"""Registration with the management platform: SMS features unlock only for a SIM with
an active subscription, which also sets the daily quota and the SMS signature."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import attrs

from zhanye_sdk.errors import PermissionDenied

__all__ = [
    "LocalVerifier",
    "NotRegistered",
    "Registration",
    "RegistrationVerifier",
    "require_active",
    "sms_lock",
]


@attrs.frozen
class Registration:
    """What the platform says about a SIM."""

    active: bool
    quota_per_day: int = 0
    signature: str | None = None
    message: str = ""


class NotRegistered(PermissionDenied):
    """SMS features are locked: the SIM has no active subscription."""


class RegistrationVerifier(Protocol):
    """Asks the management platform about a SIM (ICCID and IMSI)."""

    async def verify(self, iccid: str, imsi: str | None) -> Registration:
        """The SIM's registration."""
        ...


@attrs.define
class LocalVerifier:
    """A verifier for demos and tests: a fixed table of registered SIMs by ICCID."""

    registered: dict[str, Registration] = attrs.field(factory=dict)

    async def verify(self, iccid: str, imsi: str | None) -> Registration:
        """The table's entry for ``iccid``, or an inactive registration."""
        return self.registered.get(
            iccid, Registration(False, message=f"SIM {iccid} has no active subscription")
        )


def require_active(registration: Registration | None) -> Registration:
    """Raise ``NotRegistered`` with a clear message unless SMS features are unlocked."""
    if registration is None:
        raise NotRegistered(
            "the desk phone's SIM has not been verified yet; connect the device",
            zh="前台电话的 SIM 卡尚未验证，请先连接设备",
        )
    if not registration.active:
        raise NotRegistered(
            registration.message or "this SIM has no active subscription; SMS features are locked",
            zh="这张 SIM 卡没有有效的订阅，短信功能已锁定；请联系服务商开通后再试",
        )
    return registration


def sms_lock(registration: Callable[[], Registration | None]) -> Callable[[], NotRegistered | None]:
    """The SMS gateway's lock (``ModemSmsGateway(lock=...)``): every message — bulk,
    reservation confirmations, automatic replies, greetings — is held back, with the
    reason, unless the SIM's registration is active."""

    def refusal() -> NotRegistered | None:
        try:
            require_active(registration())
        except NotRegistered as exc:
            return exc
        return None

    return refusal
