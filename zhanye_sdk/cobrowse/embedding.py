"""Who may frame a co-browsed H5 page: the headers its server sends.

The customer's session page frames the product page and the co-browse agent inside it
reports the page and applies the salesperson's inputs. A page on another origin that
framed the product page could otherwise watch what the customer types and drive the
form. The agent already talks only to trusted origins; these headers make the browser
refuse the framing itself. An integrator serving their own H5 pages sends the same
headers, naming the origin of the session pages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from zhanye_sdk.errors import InvalidInput

__all__ = ["frame_headers"]

_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?$")


def frame_headers(session_origins: Sequence[str] = ()) -> dict[str, str]:
    """Response headers that let only the session pages frame an H5 page.

    Args:
        session_origins: origins (``https://host[:port]``) of the session pages when
            they are not the H5 page's own origin; none means the same origin only.

    Raises:
        InvalidInput: an origin is not ``http(s)://host[:port]``.
    """
    for origin in session_origins:
        if not isinstance(origin, str) or not _ORIGIN.match(origin):
            raise InvalidInput(
                f"{origin!r} is not an origin like https://host:port",
                zh="会话页面地址须为 https://主机:端口 的形式",
            )
    headers = {"Content-Security-Policy": " ".join(["frame-ancestors 'self'", *session_origins])}
    if not session_origins:
        # For browsers without frame-ancestors; it cannot name another origin.
        headers["X-Frame-Options"] = "SAMEORIGIN"
    return headers
