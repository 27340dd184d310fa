"""Attacks on the desk's dialling (点击拨号) through the desk API.

Attacks covered:
1. AT command injection through the number (``138…;+CMGD=1,4`` to delete the SIM's
   messages, ``ATH``, new lines): refused as not a phone number before anything reaches
   the modem.
2. Premium and service codes hidden in a number (``*#06#``, ``**21*…#`` call forwarding)
   to reconfigure the line: refused, only phone numbers are dialled.
3. A line name that is no line (``pstn;ATH``, ``../``, a number, an object) or the
   landline port for an outgoing call (一机双号: calls go out on the SIM only) in dial,
   answer and hang-up: refused with a reason, no command reaches the phone.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from zhanye_sdk.api.http import ApiRequest
from zhanye_sdk.api.merchant import MerchantApi
from zhanye_sdk.clock import ManualClock
from zhanye_sdk.devices import Modem
from zhanye_sdk.devices.gateway import LoggingSmsGateway
from zhanye_sdk.devices.simulator import ModemSimulator, register_simulator, unregister_simulator
from zhanye_sdk.merchant import MerchantDesk
from zhanye_sdk.merchant.calldesk import CallDesk

from ..kiosk_world import DESK_TOKEN

pytestmark = pytest.mark.anyio


@pytest.fixture
async def world(tmp_path: Any) -> AsyncIterator[tuple[MerchantApi, ModemSimulator]]:
    """The desk API over a real modem driver on the simulated desk phone."""
    sim = ModemSimulator("huawei")
    name = f"dial-attack-{uuid.uuid4().hex[:8]}"
    url = register_simulator(name, sim)
    desk = await MerchantDesk.open(
        f"sqlite:///{tmp_path}/desk.db", clock=ManualClock(datetime(2026, 3, 6, tzinfo=UTC))
    )
    gateway = LoggingSmsGateway()
    try:
        async with Modem(url) as modem:
            await modem.wait_connected()
            yield (
                MerchantApi(desk, CallDesk(desk, gateway), modem, gateway, desk_token=DESK_TOKEN),
                sim,
            )
    finally:
        await desk.close()
        unregister_simulator(name)


@pytest.mark.parametrize(
    "number",
    [
        "13800138000;+CMGD=1,4",
        "13800138000\r\nATH",
        "13800138000;",
        "*#06#",
        "**21*13900139000#",
        "ATD13800138000",
    ],
)
async def test_nothing_but_a_phone_number_is_dialled(world: tuple, number: str) -> None:
    api, sim = world
    response = await api.handle(
        ApiRequest(
            "POST",
            "/api/desk/call/dial",
            headers={"Authorization": f"Bearer {DESK_TOKEN}"},
            body=json.dumps({"number": number}).encode(),
        )
    )
    assert response.status == 400
    assert sim.call is None
    assert not [c for c in sim.commands if c.upper().startswith(("ATD", "AT+CMGD", "ATH"))]


_CALL_PATHS = ["/api/desk/call/dial", "/api/desk/call/answer", "/api/desk/call/hangup"]
_BAD_LINES: list[object] = ["pstn;ATH", "../gsm", "GSM\r\nATH", 5, {"line": "gsm"}]


@pytest.mark.parametrize(
    ("path", "line"),
    [(path, line) for path in _CALL_PATHS for line in _BAD_LINES]
    + [("/api/desk/call/dial", "pstn")],
)
async def test_no_line_but_the_phone_s_own_is_used(world: tuple, path: str, line: object) -> None:
    api, sim = world
    response = await api.handle(
        ApiRequest(
            "POST",
            path,
            headers={"Authorization": f"Bearer {DESK_TOKEN}"},
            body=json.dumps({"number": "13800138000", "line": line}).encode(),
        )
    )
    assert response.status == 400
    assert response.json()["error"]["message_zh"]
    assert not [c for c in sim.commands if c.upper().startswith(("ATD", "ATA", "ATH", "AT^PSTN"))]
