"""The desk API's door: which Host names it answers to, and how many wrong desk tokens a
client may try.

*Host names.* A page of another site can make its own name resolve to 127.0.0.1 (DNS
rebinding) and then talk to the kiosk as if it were the kiosk's own page. The kiosk
answers only requests whose ``Host`` header names the address it is bound to (and, for
loopback, ``localhost``); anything else is refused before any handler runs.

*Token guessing.* Each client address may present a wrong desk token ``limit`` times in
``window`` seconds; after that every request of that address is refused with
:class:`~zhanye_sdk.errors.RateLimited` (HTTP 429) until the window has passed — the
right token too, so guessing learns nothing while locked out. Time is passed in.
"""

from __future__ import annotations

import ipaddress
from collections import deque
from collections.abc import Callable, Iterable

from zhanye_sdk.errors import PermissionDenied, RateLimited

__all__ = ["HostCheck", "TokenGuard", "WrongHost"]


class WrongHost(PermissionDenied):
    """The request names a host this desk does not answer to (DNS rebinding)."""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class HostCheck:
    """The ``Host`` header values a desk bound to ``host``:``port`` accepts.

    Args:
        host: the address the kiosk listens on.
        port: its port.
        extra: more names the desk is reached by (e.g. ``desk.local`` on a shop LAN).
    """

    def __init__(self, host: str, port: int, extra: Iterable[str] = ()) -> None:
        names: set[str] = set()
        for name in (host, *extra):
            name = name.strip().lower()
            names.add(f"[{name}]" if ":" in name and not name.startswith("[") else name)
        if _loopback(host) or host in ("0.0.0.0", "::"):
            names |= {"localhost", "127.0.0.1", "[::1]"}
        with_port = {f"{name}:{port}" for name in names}
        self.allowed = frozenset(with_port | names if port == 80 else with_port)

    def check(self, host_header: str | None) -> None:
        """Raise :class:`WrongHost` unless ``host_header`` is one of :attr:`allowed`."""
        given = (host_header or "").strip().lower()
        if given not in self.allowed:
            raise WrongHost(
                f"this desk does not answer to the host name {given!r}",
                zh="这个地址不是本机的前台地址，请用启动时显示的地址打开",
            )


class TokenGuard:
    """Counts wrong desk tokens per client address (see module doc).

    Args:
        clock: seconds (monotonic).
        limit: wrong tokens allowed per address within ``window``.
        window: seconds.
        max_clients: addresses tracked at most (the oldest are forgotten first).
    """

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        limit: int = 20,
        window: float = 60.0,
        max_clients: int = 10_000,
    ) -> None:
        self._clock = clock
        self.limit = limit
        self.window = window
        self._max_clients = max_clients
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.get(client)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[client]
        return times

    def check(self, client: str | None) -> None:
        """Raise :class:`RateLimited` while ``client`` is locked out."""
        now = self._clock()
        times = self._recent(client or "?", now)
        if len(times) >= self.limit:
            raise RateLimited(
                f"too many wrong desk tokens from {client}; try again later",
                retry_after_s=max(1.0, times[0] + self.window - now),
                zh="桌面口令错误次数过多，请稍后再试",
            )

    def failed(self, client: str | None) -> None:
        """Count one wrong token from ``client``."""
        key = client or "?"
        now = self._clock()
        times = self._recent(key, now)
        if key not in self._failures:
            if len(self._failures) >= self._max_clients:
                del self._failures[next(iter(self._failures))]
            self._failures[key] = times
        times.append(now)
