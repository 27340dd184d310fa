"""The desk phone as the kiosk sees it, with the modem simulator on a real pty: odd caller
IDs, the phone's state in the header, and SMS held back while the SIM is not registered."""

from __future__ import annotations

import json
import os
import urllib.request
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from zhanye_sdk.devices.simulator.control import apply_command
from zhanye_sdk.merchant.registration import Registration
from zhanye_sdk.merchant.schema import calls

from .kiosk_world import NOON, RunningKiosk

pytestmark = pytest.mark.e2e

#: The desk phone is a serial device (a pty), not an in-process shortcut.
KIOSK_TRANSPORT = "pty"


def logged_calls(kiosk: RunningKiosk) -> list[tuple[str, str]]:
    async def load() -> list[tuple[str, str]]:
        async with kiosk.desk.db.connect() as conn:
            rows = await conn.execute(sa.select(calls.c.phone, calls.c.outcome))
            return [(row.phone, row.outcome) for row in rows]

    return kiosk.run(load())


def test_an_odd_caller_id_does_not_deafen_the_desk_and_the_header_says_the_phone_state(
    browser: Any, kiosk: RunningKiosk
) -> None:
    assert os.path.realpath(kiosk.modem_url).startswith("/dev/pts/")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page: Page = context.new_page()
        page.goto(kiosk.desk_url)
        status = page.get_by_role("status").first
        expect(page.locator("#status")).to_have_text("话机已连接")
        expect(status).to_have_attribute("data-state", "connected")

        # A caller ID that is no phone number: shown as such, like a withheld one.
        assert apply_command(kiosk.sim, "call abc").startswith("ok")
        popup = page.get_by_role("dialog")
        expect(popup.locator("#popup-title")).to_have_text("来电 号码无法识别（abc）", timeout=5000)
        apply_command(kiosk.sim, "hangup")  # gives up while it rings
        expect(popup.locator("#popup-state")).to_have_text("未接来电", timeout=8000)
        # The next call still pops up, with the caller's card.
        assert apply_command(kiosk.sim, "call 13800138000").startswith("ok")
        expect(popup.locator("#popup-title")).to_have_text("来电 13800138000", timeout=5000)
        expect(popup).to_contain_text("未知客户")
        apply_command(kiosk.sim, "hangup")
        expect(popup.locator("#popup-state")).to_have_text("未接来电", timeout=8000)
        assert sorted(logged_calls(kiosk)) == [("13800138000", "missed"), ("abc", "missed")]
        popup.get_by_role("button", name="关闭").click()

        # The header tells the phone's state in words as it changes.
        apply_command(kiosk.sim, "unplug")
        expect(page.locator("#status")).to_have_text("话机已拔出（或正在重新连接）", timeout=10_000)
        apply_command(kiosk.sim, "replug")
        expect(page.locator("#status")).to_have_text("话机已连接", timeout=15_000)
        kiosk.registration = None
        expect(page.locator("#status")).to_have_text("SIM 卡未登记：短信功能已锁定")
        kiosk.registration = Registration(True, quota_per_day=100)
        expect(page.locator("#status")).to_have_text("话机已连接")
    finally:
        context.close()


def api(kiosk: RunningKiosk, method: str, path: str, body: object = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(kiosk.url + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {kiosk.token}")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as response:
        return json.loads(response.read())


def test_an_unregistered_sim_sends_no_confirmation_and_says_why(kiosk: RunningKiosk) -> None:
    zhang, _ = kiosk.run(kiosk.desk.customers.capture("13800138000"))
    room = kiosk.run(kiosk.desk.reservations.add_resource("牡丹厅", capacity=10))
    kiosk.registration = Registration(False, message="SIM has no active subscription")
    booked = api(
        kiosk,
        "POST",
        "/api/desk/reservations",
        {
            "resource_id": room.id,
            "customer_id": zhang.id,
            "party_size": 4,
            "start": (NOON + timedelta(days=1)).isoformat(),
            "end": (NOON + timedelta(days=1, hours=2)).isoformat(),
        },
    )
    # The booking stands; the confirmation is held back, with the reason.
    assert booked["reservation"]["status"] == "booked"
    assert booked["sms_blocked"]["code"] == "permission_denied"
    assert "短信功能已锁定" in booked["sms_blocked"]["message_zh"]
    # A missed call's automatic reply is held back too.
    kiosk.sim.incoming_call("13900139000", rings=2)
    outbox: dict[str, Any] = {"items": []}
    for _ in range(100):
        outbox = api(kiosk, "GET", "/api/desk/sms/outbox")
        if len(outbox["items"]) >= 2:
            break
        kiosk.run(_pause(0.1))
    assert [(m["number"], m["status"]) for m in outbox["items"]] == [
        ("13900139000", "blocked"),
        ("13800138000", "blocked"),
    ]
    assert outbox["blocked"]["message"] == "SIM has no active subscription"
    assert kiosk.sim.sent == []


async def _pause(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def test_a_message_whose_fate_is_unknown_is_shown_in_doubt_not_sent(
    browser: Any, kiosk: RunningKiosk
) -> None:
    # The cable comes out right after the phone took the message's body: nobody knows
    # whether the network has it.
    kiosk.sim.on_sent = lambda sent: kiosk.sim.unplug()
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page: Page = context.new_page()
        page.goto(kiosk.desk_url)
        expect(page.locator("#status")).to_have_text("话机已连接")
        kiosk.sim.incoming_call("13900139000", rings=2)  # missed: the reply goes out
        expect(page.locator("#status")).to_have_text("话机已拔出（或正在重新连接）", timeout=15_000)
        for _ in range(100):
            items = api(kiosk, "GET", "/api/desk/sms/outbox")["items"]
            if items and items[0]["status"] != "queued" and items[0]["status"] != "sending":
                break
            kiosk.run(_pause(0.1))
        assert [(m["number"], m["status"]) for m in items] == [("13900139000", "in_doubt")]
        popup = page.get_by_role("dialog")
        expect(popup.locator("#popup-state")).to_have_text("未接来电")
        popup.get_by_role("button", name="关闭").click()
        page.get_by_role("tab", name="群发短信").click()
        expect(page.locator("#outbox")).to_have_text(
            "13900139000：情况不明：发送时话机断开，对方可能已收到，未重发"
        )
        kiosk.sim.on_sent = None
        kiosk.sim.replug()
        expect(page.locator("#status")).to_have_text("话机已连接", timeout=15_000)
        kiosk.run(_pause(1.0))
        assert len(kiosk.sim.sent) == 1  # not resent after the replug
    finally:
        context.close()
