"""The 注册 screen in a real browser at 1366×768, the modem simulator on a real pty and
the SIM's registration coming from a management-platform verifier: the SIM's ICCID and
IMSI, its status, and the reason SMS features are locked; bulk SMS refused until 注册
succeeds; then the signature and today's quota left (which a sent message lowers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from zhanye_sdk.merchant.registration import LocalVerifier, Registration

from .kiosk_world import RunningKiosk

pytestmark = pytest.mark.e2e


@pytest.fixture
def unregistered(tmp_path: Path) -> Iterator[RunningKiosk]:
    running = RunningKiosk(tmp_path, transport="pty")
    running.verifier = LocalVerifier({})
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def page(browser: Any, unregistered: RunningKiosk) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, timezone_id="Asia/Shanghai"
    )
    try:
        opened = context.new_page()
        opened.goto(unregistered.desk_url)
        expect(opened.locator("#status")).not_to_have_text("正在连接商户管家主机…")
        yield opened
    finally:
        context.close()


def test_sms_stays_locked_until_the_sim_is_registered(
    page: Page, unregistered: RunningKiosk
) -> None:
    kiosk = unregistered
    kiosk.run(kiosk.desk.customers.capture("13800138000"))
    page.get_by_role("tab", name="注册").click()
    screen = page.get_by_role("table", name="SIM 卡注册")
    expect(screen.locator("#reg-iccid")).to_have_text(kiosk.sim.profile.iccid, timeout=10_000)
    expect(screen.locator("#reg-imsi")).to_have_text(kiosk.sim.profile.imsi)
    expect(screen.locator("#reg-state")).to_have_text("未注册")
    expect(screen.locator("#reg-quota")).to_have_text("—")
    expect(page.locator("#reg-locked")).to_have_text(
        "短信功能已锁定：这张 SIM 卡没有有效的订阅，短信功能已锁定；请联系服务商开通后再试"
    )

    # Locked: bulk SMS is refused with the reason.
    page.get_by_role("tab", name="群发短信").click()
    page.locator("#sms-numbers").fill("13800138000")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="发送", exact=True).click()
    expect(page.locator("#toast")).to_contain_text("这张 SIM 卡没有有效的订阅")
    assert kiosk.sim.sent == []

    # The platform registers the SIM; 注册 asks again and unlocks SMS.
    assert isinstance(kiosk.verifier, LocalVerifier)
    kiosk.verifier.registered[kiosk.sim.profile.iccid] = Registration(
        True, quota_per_day=500, signature="小馆"
    )
    page.get_by_role("tab", name="注册").click()
    page.get_by_role("button", name="注册", exact=True).click()
    expect(page.locator("#reg-result")).to_have_text("注册成功，短信功能已开通")
    expect(screen.locator("#reg-state")).to_have_text("已注册")
    expect(screen.locator("#reg-signature")).to_have_text("【小馆】")
    expect(screen.locator("#reg-quota")).to_have_text("500 / 500 条")
    expect(page.locator("#reg-locked")).to_have_text("短信功能已开通")

    page.get_by_role("tab", name="群发短信").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="发送", exact=True).click()
    expect(page.locator("#sms-summary")).to_have_text(
        "已提交 1 条，失败 0 条，跳过 0 条（含退订 0）"
    )
    kiosk.wait_for_sms(1)
    page.get_by_role("tab", name="注册").click()
    expect(screen.locator("#reg-quota")).to_have_text("499 / 500 条")
