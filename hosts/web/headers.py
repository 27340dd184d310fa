"""Security headers on every response the web host sends.

Scripts come only from this origin (no inline script, no ``eval``); only this origin may
frame the pages; no URL (an invite token, a seat) leaks to another site in a Referer.
Styles, images, media and frames may come from other origins because the co-browse mirror
rebuilds a customer's H5 page (its stylesheets and pictures) inside a sandboxed frame of
the hall, and the customer's frame shows that H5 page itself.
"""

from __future__ import annotations

import re

from aiohttp import web

__all__ = ["CONTENT_SECURITY_POLICY", "add_security_headers"]

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline' https: http:",
        "img-src 'self' data: blob: https: http:",
        "media-src 'self' data: blob: https: http:",
        "font-src 'self' data: https: http:",
        "connect-src 'self'",
        "frame-src 'self' https: http:",
        "frame-ancestors 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    )
)
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")
#: The sample H5 product pages stand for a bank's own site: their policy is theirs.
_FOREIGN_PREFIXES = ("/demo/h5/",)


async def _on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    if request.path.startswith(_FOREIGN_PREFIXES):
        return
    policy = CONTENT_SECURITY_POLICY
    if _HOST.match(request.host):
        # Browsers before CSP 3 (older WebViews) do not count ws: to this host as 'self'.
        policy = policy.replace(
            "connect-src 'self'", f"connect-src 'self' ws://{request.host} wss://{request.host}"
        )
    headers.setdefault("Content-Security-Policy", policy)
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")


def add_security_headers(app: web.Application) -> None:
    """Give every response of ``app`` the security headers."""
    app.on_response_prepare.append(_on_prepare)
