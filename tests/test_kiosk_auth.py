"""The desk token, tried from the attacker's side: another program (or a page of another
site) on the shop's machine, without the token or with a wrong one, neither reads nor
changes anything — and the desk page asks for the token when it has none."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from playwright.sync_api import expect

from zhanye_sdk.errors import InvalidInput

from .kiosk_world import NOON, RunningKiosk

pytestmark = pytest.mark.e2e


def request(
    kiosk: RunningKiosk,
    method: str,
    path: str,
    body: object = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(kiosk.url + path, data=data, method=method)
    for key, value in (headers or {}).items():
        req.add_header(key, value)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


WRONG = (
    {},
    {"Authorization": "Bearer not-the-token-at-all"},
    {"Authorization": "Bearer desk-token-for-tests-000"},  # one character short
    {"Authorization": "Basic ZGVzazpkZXNr"},
)


def test_every_endpoint_refuses_a_missing_or_wrong_token_and_changes_nothing(
    kiosk: RunningKiosk,
) -> None:
    zhang, _ = kiosk.run(kiosk.desk.customers.capture("13800138000"))
    kiosk.run(kiosk.desk.customers.update(zhang.id, name="张三"))
    room = kiosk.run(kiosk.desk.reservations.add_resource("牡丹厅", capacity=10))
    booking = kiosk.run(
        kiosk.desk.reservations.reserve(
            room.id, zhang.id, 2, NOON + timedelta(hours=6), NOON + timedelta(hours=8)
        )
    )
    attempts: list[tuple[str, str, object]] = [
        ("GET", "/api/desk/customers?q=zs", None),
        ("GET", f"/api/desk/customers/{zhang.id}", None),
        ("PATCH", f"/api/desk/customers/{zhang.id}", {"name": "攻击者"}),
        ("PUT", f"/api/desk/customers/{zhang.id}/level", {"level_id": None}),
        (
            "POST",
            "/api/desk/reservations",
            {
                "resource_id": room.id,
                "customer_id": zhang.id,
                "party_size": 2,
                "start": (NOON + timedelta(days=1)).isoformat(),
                "end": (NOON + timedelta(days=1, hours=2)).isoformat(),
            },
        ),
        ("POST", f"/api/desk/reservations/{booking.id}/cancel", None),
        ("POST", f"/api/desk/reservations/{booking.id}/check-out", {"items": [], "paid": "1"}),
        ("POST", "/api/desk/call/hangup", None),
        ("POST", "/api/desk/sms/send", {"template": "spam", "numbers": ["13800138000"]}),
        ("POST", "/api/desk/levels", {"name": "黑卡", "discount": "0.1"}),
        (
            "PUT",
            "/api/desk/care",
            {"birthday_enabled": False, "birthday_template": "x", "send_at": "09:00"},
        ),
        ("GET", "/api/desk/book/export?format=csv", None),
        ("GET", "/api/desk/ledger/report", None),
        ("GET", "/api/desk/nonexistent", None),
    ]
    for method, path, body in attempts:
        for headers in WRONG:
            status, answer = request(kiosk, method, path, body, headers)
            # Refused; after a run of wrong tokens, the address is locked out (429).
            assert (status, answer["error"]["code"]) in (
                (401, "authentication_failed"),
                (429, "rate_limited"),
            ), (method, path, headers, status)
        # The token in the query string is for the WebSocket only.
        joiner = "&" if "?" in path else "?"
        status, _ = request(kiosk, method, f"{path}{joiner}token={kiosk.token}", body)
        assert status in (401, 429)
    # Nothing changed, nothing was sent.
    assert kiosk.run(kiosk.desk.customers.get(zhang.id)).name == "张三"
    assert kiosk.run(kiosk.desk.reservations.get(booking.id)).status == "booked"
    assert kiosk.run(kiosk.desk.customers.levels()) == []
    assert kiosk.sim.sent == []
    # With the token, the same request works (once the lock-out has passed).
    kiosk.guard_skew += kiosk.guard.window
    status, answer = request(
        kiosk,
        "GET",
        "/api/desk/customers?q=zs",
        headers={"Authorization": f"Bearer {kiosk.token}"},
    )
    assert status == 200 and [c["name"] for c in answer["items"]] == ["张三"]


def test_the_event_stream_needs_the_token(kiosk: RunningKiosk) -> None:
    async def handshake(query: str, protocols: tuple[str, ...] = ()) -> int:
        async with aiohttp.ClientSession() as session:
            try:
                url = f"{kiosk.url}/ws/desk{query}"
                async with session.ws_connect(url, protocols=protocols) as socket:
                    # The desk's state comes first, then what happens.
                    message = await socket.receive_json(timeout=10)
                    assert message == {
                        "type": "DeskStatus",
                        "data": {"state": "connected", "detail": ""},
                    }
                    kiosk.sim.incoming_call("13800138000")
                    message = await socket.receive_json(timeout=10)
                    while message["type"] == "DeskStatus":  # the state may be said again
                        message = await socket.receive_json(timeout=10)
                    assert message["type"] == "PopUpOpened"
                    assert message["data"]["number"] == "13800138000"
                    kiosk.sim.remote_hangup()  # the line is free for the next caller
                    while (await socket.receive_json(timeout=10))["type"] != "PopUpClosed":
                        pass
                    return 101
            except aiohttp.WSServerHandshakeError as error:
                return error.status

    assert kiosk.run(handshake("")) == 401
    assert kiosk.run(handshake("?token=guess")) == 401
    assert kiosk.run(handshake(f"?token={kiosk.token}")) == 101
    # The page's way: the token as a subprotocol of the handshake, not in the URL.
    assert kiosk.run(handshake("", ("zhanye.v1", f"bearer.{kiosk.token}"))) == 101
    assert kiosk.run(handshake("", ("zhanye.v1", "bearer.guess"))) == 401


def test_a_desk_token_is_required_and_not_trivial() -> None:
    from zhanye_sdk.api.merchant import MerchantApi

    with pytest.raises(InvalidInput, match="at least 8"):
        MerchantApi(None, None, None, None, desk_token="1234")  # type: ignore[arg-type]


def test_the_page_asks_for_the_token(browser: Any, kiosk: RunningKiosk) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(kiosk.url)  # opened without the token
        login = page.get_by_role("dialog", name="输入桌面口令")
        expect(login).to_be_visible()
        expect(page.locator("#status")).not_to_have_text("话机已连接")
        page.keyboard.press("Escape")  # cannot be dismissed
        expect(login).to_be_visible()
        login.get_by_label("桌面口令").fill("wrong-token-123")
        login.get_by_role("button", name="进入").click()
        expect(login.locator("#login-error")).to_have_text("口令不正确，请重新输入")
        login.get_by_label("桌面口令").fill(kiosk.token)
        login.get_by_role("button", name="进入").click()
        expect(login).to_be_hidden()
        expect(page.locator("#status")).to_have_text("话机已连接")
        kiosk.sim.incoming_call("13800138000")
        expect(page.get_by_role("dialog", name=re.compile("来电"))).to_contain_text(
            "未知客户", timeout=5000
        )
        # A reload in the same tab keeps the token; a new tab has to ask again.
        page.reload()
        expect(page.locator("#status")).to_have_text("话机已连接")
        expect(login).to_be_hidden()
        other = context.new_page()
        other.goto(kiosk.url)
        expect(other.get_by_role("dialog", name="输入桌面口令")).to_be_visible()
    finally:
        context.close()
