"""Bulk SMS and customer care: previews, opt-outs, quotas, registration, once per occasion."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from zhanye_sdk.clock import ManualClock
from zhanye_sdk.devices.gateway import LoggingSmsGateway
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.merchant import MerchantDesk
from zhanye_sdk.merchant.bulk import BulkSms, CareCalendar, CustomerCare
from zhanye_sdk.merchant.registration import LocalVerifier, NotRegistered, Registration

pytestmark = pytest.mark.anyio
NOW = datetime(2027, 2, 6, 2, 0, tzinfo=UTC)  # 10:00 on 春节 2027 in Shanghai
ICCID = "89860000000000000001"


async def registered(quota: int = 1000) -> Registration:
    verifier = LocalVerifier({ICCID: Registration(True, quota_per_day=quota, signature="小馆")})
    return await verifier.verify(ICCID, None)


async def test_group_send_honours_opt_out_and_quota(tmp_path: Path) -> None:
    desk = await MerchantDesk.open(f"sqlite:///{tmp_path}/d.db", clock=ManualClock(NOW))
    gateway = LoggingSmsGateway(signature="小馆")
    bulk = BulkSms(desk, gateway)
    try:
        for i in range(500):
            customer, _ = await desk.customers.capture(f"1390000{i:04d}")
            await desk.customers.update(customer.id, name=f"会员{i}")
            await desk.customers.add_to_group(customer.id, "会员")
            if i % 50 == 0:
                await desk.customers.set_opted_out(customer.id, True)
        recipients = await bulk.recipients(groups=["会员"], numbers=["13900000001"])
        assert len(recipients) == 500
        previews = await bulk.preview("{name}您好，本周末会员日全场{level}88折！", recipients[:1])
        # Typed numbers come first; the same number in the group is not texted twice.
        assert previews[0].text.startswith("会员1您好") and previews[0].encoding == "ucs2"
        assert previews[0].parts == 1
        long = await bulk.preview("{name}" + "很长的内容" * 20, recipients[:1])
        assert long[0].parts == 2
        progress: list[int] = []
        report = await bulk.send(
            "{name}您好", recipients, await registered(quota=400), lambda d, t: progress.append(d)
        )
        assert progress[-1] == 500
        assert sum(1 for _, why in report.skipped if why == "opted_out") == 10
        assert (
            len(report.sent) == 400 and sum(1 for _, why in report.skipped if why == "quota") == 90
        )
        assert len(gateway.sent) == 400 and all(
            text.endswith("【小馆】") for _, text in gateway.sent
        )
        with pytest.raises(NotRegistered, match="no active subscription"):
            await bulk.send("hi", recipients, await LocalVerifier().verify("other", None))
        with pytest.raises(InvalidInput, match="placeholders"):
            await bulk.preview("{phone}", recipients[:1])
    finally:
        await desk.close()


async def test_greetings_go_once_per_customer_per_occasion(tmp_path: Path) -> None:
    desk = await MerchantDesk.open(f"sqlite:///{tmp_path}/d.db", clock=ManualClock(NOW))
    gateway = LoggingSmsGateway()
    try:
        a, _ = await desk.customers.capture("13800000001")
        await desk.customers.update(a.id, name="寿星", birthday="1990-02-06")
        await desk.customers.capture("13800000002")
        calendar = CareCalendar(holidays={"2027-02-06": ("春节", "{name}，新春快乐！")})
        care = CustomerCare(desk, BulkSms(desk, gateway), calendar)
        first = await care.run_once(NOW, await registered())
        assert sorted(first.sent) == ["13800000001", "13800000001", "13800000002"]
        # Run again (or after a restart): nothing twice.
        care_again = CustomerCare(desk, BulkSms(desk, gateway), calendar)
        second = await care_again.run_once(NOW, await registered())
        assert second.sent == () and len(gateway.sent) == 3
        assert any("生日快乐" in text for _, text in gateway.sent)
    finally:
        await desk.close()
