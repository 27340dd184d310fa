"""Login throttling policy: how many recent failures lock a key, and for how long.

The store keeps failure times per key (``account:<login>`` and ``address:<ip>``);
this module only decides, from those times and the current time, so it is a pure
function that tests can drive with any clock.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

__all__ = ["ThrottlePolicy", "retry_after"]


@attrs.frozen
class ThrottlePolicy:
    """``limit`` failures within ``window_s`` seconds lock the key until the oldest ages out."""

    limit: int = 5
    window_s: float = 900.0


def retry_after(failures_ms: Iterable[int], now_ms: int, policy: ThrottlePolicy) -> float | None:
    """Seconds until the key may try again, or None when it is not locked.

    A key is locked while at least ``policy.limit`` failures lie within the last
    ``policy.window_s`` seconds; it unlocks when enough of them age out.
    """
    window_ms = int(policy.window_s * 1000)
    recent = sorted(t for t in failures_ms if now_ms - window_ms < t <= now_ms)
    if len(recent) < policy.limit:
        return None
    # The lock lifts when only limit - 1 failures remain inside the window.
    unlock_ms = recent[len(recent) - policy.limit] + window_ms
    return max(0.0, (unlock_ms - now_ms) / 1000)
