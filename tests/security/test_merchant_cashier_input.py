"""Attacks on the desk's cashier (流水录入) from whoever can type into the desk page,
through the desk API.

Attacks covered:
1. A report kind crafted to inject a response header through the export's file name
   (``day"\\r\\nSet-Cookie: …``): refused with 400 before any header is written.
2. A bill naming a forged "phone number" (markup, SQL) to plant junk in the book:
   400, nobody captured, no bill written.
3. A bill with a made-up gender or a huge name to corrupt the card and the bill list:
   400, nothing written.
4. Float amounts (0.1 + 0.2 rounding) slipped into a quote or a bill to skew the change:
   refused; only text or integers count.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from zhanye_sdk.api.merchant import MerchantApi

from ..kiosk_world import desk_api, desk_request

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 3, 6, 4, 0, tzinfo=UTC)


@pytest.fixture
async def api(tmp_path: Any) -> AsyncIterator[MerchantApi]:
    async with desk_api(tmp_path, T0) as opened:
        yield opened


async def send(
    api: MerchantApi, method: str, path: str, body: Any = None, query: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    response = await desk_request(api, method, path, body, query)
    data = json.loads(response.body or b"{}") if response.content_type.startswith("app") else {}
    return response.status, dict(response.headers), data


async def _nothing_written(api: MerchantApi) -> None:
    assert await api.desk.customers.all() == []
    assert await api.desk.ledger.entries(T0 - timedelta(days=1), T0 + timedelta(days=1)) == []


@pytest.mark.parametrize("kind", ['day"\r\nSet-Cookie: a=b', "day\n", "../../etc/passwd"])
async def test_a_crafted_report_kind_writes_no_header(api: MerchantApi, kind: str) -> None:
    status, headers, _ = await send(
        api, "GET", "/api/desk/ledger/export", query={"kind": kind, "format": "csv"}
    )
    assert status == 400
    assert "Content-Disposition" not in headers


@pytest.mark.parametrize("phone", ["<img src=x onerror=alert(1)>", "1' OR '1'='1", "abc"])
async def test_a_forged_phone_number_plants_nothing(api: MerchantApi, phone: str) -> None:
    status, _, _ = await send(
        api,
        "POST",
        "/api/desk/ledger",
        {"items": [["套餐", 1, "30"]], "paid": "30", "phone": phone},
    )
    assert status == 400
    await _nothing_written(api)


@pytest.mark.parametrize(
    "extra",
    [
        {"gender": "<script>"},
        {"gender": "男" * 3},
        {"name": "名" * 10_000},
    ],
)
async def test_a_made_up_gender_or_huge_name_writes_nothing(
    api: MerchantApi, extra: dict[str, str]
) -> None:
    body = {"items": [["套餐", 1, "30"]], "paid": "30", "phone": "13800138000", **extra}
    status, _, _ = await send(api, "POST", "/api/desk/ledger", body)
    assert status == 400
    await _nothing_written(api)


async def test_float_amounts_are_refused(api: MerchantApi) -> None:
    for path, body in [
        ("/api/desk/ledger/quote", {"items": [["套餐", 3, 0.1]], "paid": "1"}),
        ("/api/desk/ledger", {"items": [["套餐", 3, "0.10"]], "paid": 0.30000000000000004}),
    ]:
        status, _, _ = await send(api, "POST", path, body)
        assert status == 400, path
    await _nothing_written(api)
