"""Settings of the platform services, passed in as one object (no globals)."""

from __future__ import annotations

from pathlib import Path

import attrs

from zhanye_sdk.platform.passwords import PasswordHashing
from zhanye_sdk.platform.throttle import ThrottlePolicy

__all__ = ["MaterialSettings", "PlatformConfig"]


@attrs.frozen
class MaterialSettings:
    """Where material files are kept, how large they may be, how documents are converted.

    ``storage_root`` ``None`` means: beside a SQLite database file (``<file>.materials``),
    else ``./zhanye-materials``.
    """

    storage_root: Path | None = None
    max_file_bytes: int = 50 * 1024 * 1024
    max_video_bytes: int = 500 * 1024 * 1024
    page_width: int = 1280
    max_pages: int = 300
    conversion_timeout_s: float = 180.0
    parallel_conversions: int = 2
    soffice: str | None = None


@attrs.frozen
class PlatformConfig:
    """How long logins last, how passwords are hashed, how logins are throttled."""

    token_ttl_s: float = 12 * 3600
    passwords: PasswordHashing = PasswordHashing()
    account_throttle: ThrottlePolicy = ThrottlePolicy(limit=5, window_s=900)
    address_throttle: ThrottlePolicy = ThrottlePolicy(limit=20, window_s=900)
    default_timezone: str = "Asia/Shanghai"
    materials: MaterialSettings = MaterialSettings()
