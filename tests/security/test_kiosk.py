"""Attacks on the kiosk (the merchant desk host on the shop's machine), from the attacker's
side, over real HTTP and WebSocket connections:

- guessing the desk token over HTTP: after a run of wrong tokens the address is locked
  out (429 ``rate_limited``, with Retry-After) and even the right token is refused, so
  guessing learns nothing; another address is not locked out;
- guessing the desk token over the WebSocket handshake: counted and locked out the same way;
- DNS rebinding: a page of another site whose name resolves to 127.0.0.1 gets nothing —
  not the page, not its files, not the API (even holding the token), not the event stream;
- a request without any Host header is refused the same way.
"""

from __future__ import annotations

import http.client
import json
from typing import Any

import aiohttp
import pytest

from ..kiosk_world import RunningKiosk

pytestmark = pytest.mark.e2e


def http_get(
    kiosk: RunningKiosk,
    path: str,
    headers: dict[str, str] | None = None,
    *,
    source: str = "127.0.0.1",
    skip_host: bool = False,
) -> tuple[int, dict[str, str], Any]:
    conn = http.client.HTTPConnection(
        "127.0.0.1", kiosk.port, timeout=10, source_address=(source, 0)
    )
    try:
        conn.putrequest("GET", path, skip_host=skip_host or "Host" in (headers or {}))
        for key, value in (headers or {}).items():
            conn.putheader(key, value)
        conn.endheaders()
        response = conn.getresponse()
        raw = response.read()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = raw
        return response.status, dict(response.getheaders()), body
    finally:
        conn.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_guessing_the_token_over_http_is_locked_out(kiosk: RunningKiosk) -> None:
    limit = kiosk.guard.limit
    for attempt in range(limit):
        status, _, body = http_get(kiosk, "/api/desk/customers", bearer(f"guess-{attempt:04d}"))
        assert status == 401 and body["error"]["code"] == "authentication_failed"
    status, headers, body = http_get(kiosk, "/api/desk/customers", bearer("guess-next"))
    assert status == 429 and body["error"]["code"] == "rate_limited"
    assert body["error"]["message_zh"] == "桌面口令错误次数过多，请稍后再试"
    assert 1 <= body["error"]["retry_after_s"] <= kiosk.guard.window
    assert headers["Retry-After"] == str(body["error"]["retry_after_s"])
    # While locked out the right token is refused too: a guess cannot tell it found it.
    status, _, body = http_get(kiosk, "/api/desk/customers", bearer(kiosk.token))
    assert status == 429
    # Another address is not locked out by this one's guessing.
    status, _, _ = http_get(kiosk, "/api/desk/customers", bearer(kiosk.token), source="127.0.0.2")
    assert status == 200
    # After the window the desk works again from the first address.
    kiosk.guard_skew += kiosk.guard.window
    status, _, _ = http_get(kiosk, "/api/desk/customers", bearer(kiosk.token))
    assert status == 200


def test_guessing_the_token_over_the_event_stream_is_locked_out(kiosk: RunningKiosk) -> None:
    async def handshake(token: str) -> int:
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(
                    f"{kiosk.url}/ws/desk", protocols=("zhanye.v1", f"bearer.{token}")
                ):
                    return 101
            except aiohttp.WSServerHandshakeError as error:
                return error.status

    statuses = [kiosk.run(handshake(f"guess-{n:04d}")) for n in range(kiosk.guard.limit)]
    assert statuses == [401] * kiosk.guard.limit
    assert kiosk.run(handshake("guess-next")) == 429
    assert kiosk.run(handshake(kiosk.token)) == 429
    kiosk.guard_skew += kiosk.guard.window
    assert kiosk.run(handshake(kiosk.token)) == 101


@pytest.mark.parametrize(
    "host", ["evil.example:{port}", "evil.example", "127.0.0.1.nip.io:{port}", "127.0.0.1:1"]
)
def test_a_rebound_host_name_gets_nothing(kiosk: RunningKiosk, host: str) -> None:
    wrong = {"Host": host.format(port=kiosk.port)}
    for path in ("/", "/static/kiosk.js", "/api/desk/status", "/api/desk/customers"):
        status, _, body = http_get(kiosk, path, {**wrong, **bearer(kiosk.token)})
        assert status == 403, (path, status)
        assert body["error"]["code"] == "permission_denied"
        assert "不是本机的前台地址" in body["error"]["message_zh"]

    async def handshake() -> int:
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(
                    f"{kiosk.url}/ws/desk",
                    protocols=("zhanye.v1", f"bearer.{kiosk.token}"),
                    headers=wrong,
                ):
                    return 101
            except aiohttp.WSServerHandshakeError as error:
                return error.status

    assert kiosk.run(handshake()) == 403
    # The desk's own names are answered.
    for own in (f"127.0.0.1:{kiosk.port}", f"localhost:{kiosk.port}"):
        status, _, _ = http_get(kiosk, "/api/desk/status", {"Host": own, **bearer(kiosk.token)})
        assert status == 200


def test_a_request_without_a_host_header_is_refused(kiosk: RunningKiosk) -> None:
    status, _, _ = http_get(kiosk, "/api/desk/status", bearer(kiosk.token), skip_host=True)
    # HTTP/1.1 requires Host: aiohttp itself may refuse first (400); never answered.
    assert status in (400, 403)
