"""Settings of the platform services, passed in as one object (no globals)."""

from __future__ import annotations

import attrs

from zhanye_sdk.platform.passwords import PasswordHashing
from zhanye_sdk.platform.throttle import ThrottlePolicy

__all__ = ["PlatformConfig"]


@attrs.frozen
class PlatformConfig:
    """How long logins last, how passwords are hashed, how logins are throttled."""

    token_ttl_s: float = 12 * 3600
    passwords: PasswordHashing = PasswordHashing()
    account_throttle: ThrottlePolicy = ThrottlePolicy(limit=5, window_s=900)
    address_throttle: ThrottlePolicy = ThrottlePolicy(limit=20, window_s=900)
    default_timezone: str = "Asia/Shanghai"
