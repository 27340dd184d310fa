"""The registration screen's facts through the SDK on the modem simulator: the SIM read
from the phone, locked with the reason until the platform registers it, 注册 asking
again, and today's quota left."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from zhanye_sdk.clock import ManualClock, to_ms
from zhanye_sdk.devices import Modem
from zhanye_sdk.devices.simulator import ModemSimulator, register_simulator, unregister_simulator
from zhanye_sdk.merchant import MerchantDesk
from zhanye_sdk.merchant.registration import LocalVerifier, Registration
from zhanye_sdk.merchant.runtime import SimRegistration
from zhanye_sdk.merchant.schema import auto_sms_log
from zhanye_sdk.merchant.sim_status import registration_status

NOON = datetime(2026, 3, 6, 4, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_registering_unlocks_sms_and_reports_the_quota(tmp_path: Path) -> None:
    sim = ModemSimulator("huawei")
    name = f"reg-{uuid.uuid4().hex[:8]}"
    url = register_simulator(name, sim)
    desk = await MerchantDesk.open(f"sqlite:///{tmp_path}/desk.db", clock=ManualClock(NOON))
    verifier = LocalVerifier({})
    try:
        async with Modem(url) as modem:
            await modem.wait_connected()
            registration = SimRegistration(modem, verifier)
            before = await registration_status(desk, registration.current, registration.sim)
            assert (before.verified, before.active, before.iccid) == (False, False, None)
            assert before.locked_zh == "前台电话的 SIM 卡尚未验证，请先连接设备"
            await registration.register()
            refused = await registration_status(desk, registration.current, registration.sim)
            assert refused.iccid == sim.profile.iccid and refused.imsi == sim.profile.imsi
            assert refused.verified and not refused.active and refused.quota_left is None
            assert refused.locked_zh is not None and "没有有效的订阅" in refused.locked_zh
            verifier.registered[sim.profile.iccid] = Registration(
                True, quota_per_day=50, signature="小馆"
            )
            await registration.register()
            async with desk.db.begin() as conn:
                await conn.execute(
                    auto_sms_log.insert().values(
                        phone="13800138000", kind="bulk", sent_ms=to_ms(NOON)
                    )
                )
            after = await registration_status(desk, registration.current, registration.sim)
            assert (after.active, after.signature, after.quota_left, after.locked) == (
                True,
                "小馆",
                49,
                None,
            )
    finally:
        await desk.close()
        unregister_simulator(name)
