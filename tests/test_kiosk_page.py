"""The merchant desk page in a real browser, with the modem simulator ringing it."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from aiohttp import web
from playwright.sync_api import Page, expect

from hosts.kiosk.server import build_kiosk_app
from zhanye_sdk.api.merchant import MerchantApi
from zhanye_sdk.clock import ManualClock
from zhanye_sdk.devices import Modem, ModemConfig
from zhanye_sdk.devices.calls import CallTimings
from zhanye_sdk.devices.gateway import GatewayConfig, ModemSmsGateway, RateLimits
from zhanye_sdk.devices.simulator import ModemSimulator, register_simulator
from zhanye_sdk.merchant import MerchantDesk
from zhanye_sdk.merchant.calldesk import CallDesk, CallDeskRules
from zhanye_sdk.merchant.registration import Registration

from .webhost import ThreadedLoop

pytestmark = pytest.mark.e2e
NOON = datetime(2026, 3, 6, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


class RunningKiosk(ThreadedLoop):
    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.sim = ModemSimulator("huawei", ring_interval=0.3)
        self.registration: Registration | None = None

    async def _start(self) -> None:
        # Everything lives in one task, so its context managers exit where they entered.
        self.ready = asyncio.Event()
        self.done = asyncio.Event()
        self.main = asyncio.get_running_loop().create_task(self._main())
        await asyncio.wait_for(self.ready.wait(), 30)

    async def _main(self) -> None:
        url = register_simulator(f"kiosk-{uuid.uuid4().hex[:8]}", self.sim)
        timings = CallTimings(
            clip_wait=0.1, ring_timeout=1.2, poll_interval=0.2, active_poll_interval=0.5
        )
        self.desk = await MerchantDesk.open(
            f"sqlite:///{self.folder}/desk.db", clock=ManualClock(NOON)
        )
        limits = RateLimits(min_interval=0.01, per_hour=100, per_day=100, burst=10)
        async with Modem(url, ModemConfig(call_timings=timings)) as modem:
            gateway = ModemSmsGateway(
                modem, self.folder / "outbox.db", GatewayConfig(signature="小馆", limits=limits)
            )
            calldesk = CallDesk(self.desk, gateway, CallDeskRules(shop="小馆"))
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(gateway.run)
                tasks.start_soon(calldesk.run, modem.events())
                await modem.wait_connected()
                runner = web.AppRunner(
                    build_kiosk_app(
                        MerchantApi(
                            self.desk,
                            calldesk,
                            modem,
                            gateway,
                            registration=lambda: self.registration,
                        )
                    )
                )
                await runner.setup()
                await web.TCPSite(runner, "127.0.0.1", self.port).start()
                self.ready.set()
                await self.done.wait()
                await runner.cleanup()
                tasks.cancel_scope.cancel()
            gateway.close()
        await self.desk.close()

    async def _stop(self) -> None:
        self.done.set()
        await asyncio.wait_for(self.main, 30)

    def wait_for_sms(self, count: int) -> None:
        """Until the simulator (its own thread) has received ``count`` messages."""
        end = time.monotonic() + 10
        while len(self.sim.sent) < count and time.monotonic() < end:
            time.sleep(0.05)
        assert len(self.sim.sent) >= count, [s.text for s in self.sim.sent]


@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[RunningKiosk]:
    running = RunningKiosk(tmp_path).start()
    try:
        yield running
    finally:
        running.stop()


def test_a_regular_calls_books_a_table_and_an_unknown_caller_gets_a_reply(
    browser: Any, kiosk: RunningKiosk
) -> None:
    zhang, _ = kiosk.run(kiosk.desk.customers.capture("13800138000"))
    kiosk.run(kiosk.desk.customers.update(zhang.id, name="张三"))
    kiosk.run(kiosk.desk.reservations.add_resource("牡丹厅", kind="room", capacity=10))
    # The desk computer is in China: the page shows and reads local Shanghai time.
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, timezone_id="Asia/Shanghai"
    )
    try:
        page: Page = context.new_page()
        page.goto(kiosk.url)
        expect(page.get_by_role("heading", name="商户管家")).to_be_visible()
        expect(page.locator("#status")).to_have_text("●")

        kiosk.sim.incoming_call("13800138000")
        popup = page.get_by_role("dialog")
        expect(popup).to_contain_text("张三 · 老客户", timeout=5000)
        popup.get_by_role("button", name="接听").click()
        popup.get_by_role("button", name="预订").click()
        popup.get_by_label("包间/桌位").select_option(label="牡丹厅（10）")
        popup.get_by_label("到店时间").fill("2026-03-07T18:00")
        popup.get_by_label("人数").fill("6")
        popup.get_by_role("button", name="确认预订").click()
        expect(popup.locator("#reserve-result")).to_contain_text("预订成功")
        kiosk.wait_for_sms(1)
        assert "牡丹厅" in (kiosk.sim.sent[0].text or "") and "6位" in (
            kiosk.sim.sent[0].text or ""
        )
        kiosk.sim.remote_hangup()
        expect(popup.locator("#popup-state")).to_have_text("通话结束", timeout=5000)
        kiosk.wait_for_sms(2)  # the hang-up SMS
        popup.get_by_role("button", name="关闭").click()

        # An unknown number rings and gives up: captured, and texted back.
        kiosk.sim.incoming_call("02188886666", rings=2)
        expect(popup).to_contain_text("未知客户", timeout=5000)
        expect(popup.locator("#popup-state")).to_have_text("未接来电", timeout=8000)
        kiosk.wait_for_sms(3)
        assert "未能接听" in (kiosk.sim.sent[2].text or "")
        expect(page.locator("#toast")).to_contain_text("02188886666")

        # The customer book finds the regular by pinyin initials and saves a note.
        page.keyboard.press("Escape")
        page.get_by_placeholder(re.compile("拼音首字母")).fill("zs")
        page.get_by_text("张三 · 13800138000").click()
        page.get_by_label("备注").fill("爱吃辣")
        page.get_by_role("button", name="保存").click()
        expect(page.locator("#toast")).to_have_text("已保存")
        assert kiosk.run(kiosk.desk.customers.get(zhang.id)).notes == "爱吃辣"

        # The reservations board: the booking is there; cancelling it texts the customer.
        page.get_by_role("tab", name="预订看板").click()
        page.locator("#board-day").fill("2026-03-07")
        page.locator("#board-day").dispatch_event("change")
        row = page.locator("#board tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("张三")
        sent = len(kiosk.sim.sent)
        row.get_by_role("button", name="取消预订").click()
        expect(page.locator("#board-result")).to_contain_text("已取消")
        expect(row).to_have_count(0)
        kiosk.wait_for_sms(sent + 1)
        assert "已取消" in (kiosk.sim.sent[sent].text or "")

        # Bulk SMS: preview the parts, then send; locked without a registered SIM.
        kiosk.run(kiosk.desk.customers.add_to_group(zhang.id, "会员"))
        page.get_by_role("tab", name="群发短信").click()
        page.get_by_label(re.compile("客户分组")).fill("会员")
        page.get_by_role("button", name="预览").click()
        expect(page.locator("#sms-summary")).to_contain_text("共 1 人")
        expect(page.locator("#sms-list")).to_contain_text("张三您好")
        page.get_by_role("button", name="发送").click()
        expect(page.locator("#toast")).to_contain_text("SIM has not been verified")
        kiosk.registration = Registration(True, quota_per_day=100, signature="小馆")
        sent_before = len(kiosk.sim.sent)
        page.get_by_role("button", name="发送").click()
        expect(page.locator("#sms-summary")).to_have_text(
            "已提交 1 条，失败 0 条，跳过 0 条（含退订 0）"
        )
        kiosk.wait_for_sms(sent_before + 1)

        # The ledger: a bill settled exactly, and the report with its chart.
        page.get_by_role("tab", name="收银记账").click()
        page.get_by_label(re.compile("消费明细")).fill("清蒸鲈鱼 1 88.00\n米饭 3 2.50")
        page.get_by_label("实收金额").fill("100")
        page.get_by_role("button", name="结账").click()
        expect(page.locator("#bill-result")).to_have_text("应收 95.50 元（折扣 1），找零 4.50 元")
        expect(page.locator("#report-table tbody tr")).to_have_count(1)
        expect(page.locator("#report-chart rect")).to_have_count(1)
    finally:
        context.close()
