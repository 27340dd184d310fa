"""Attacks on the desk through SMS it receives and the SMS template library.

Attacks covered:
1. A huge received SMS (a flood of concatenated parts) to fill the disk: kept cut to
   MAX_TEXT, never refused, the desk keeps going.
2. A spoofed alphanumeric sender ("<script>…", "退订") replying TD to opt a real
   customer out: only the sender's own number can be opted out; a non-number opts out
   nobody.
3. An opt-out word hidden inside a longer message ("不要退订", "明天TD见") to opt a
   customer out against their will: not an opt-out.
4. Format-string injection through a saved template (``{name.__class__}``): refused
   before it is stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from zhanye_sdk.api.merchant import MerchantApi
from zhanye_sdk.merchant.inbox import MAX_TEXT

from ..kiosk_world import desk_api, desk_request

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 3, 6, 4, 0, tzinfo=UTC)


@pytest.fixture
async def api(tmp_path: Any) -> AsyncIterator[MerchantApi]:
    async with desk_api(tmp_path, T0) as opened:
        yield opened


async def test_a_huge_sms_is_kept_cut(api: MerchantApi) -> None:
    message = await api.desk.inbox.receive("13800138000", "长" * 200_000)
    assert len(message.text) == MAX_TEXT
    assert len((await api.desk.inbox.messages())[0].text) == MAX_TEXT


@pytest.mark.parametrize("sender", ["<script>alert(1)</script>", "退订", "10086TD", "BANK"])
async def test_a_spoofed_sender_opts_out_nobody(api: MerchantApi, sender: str) -> None:
    zhang, _ = await api.desk.customers.capture("13800138000")
    message = await api.desk.inbox.receive(sender, "TD")
    assert not message.opt_out and message.customer_id is None
    assert not (await api.desk.customers.get(zhang.id)).opted_out
    assert [c.phone for c in await api.desk.customers.all()] == ["13800138000"]


@pytest.mark.parametrize("text", ["不要退订", "明天TD见", "TD TD TD 退订", "退订\u0000了"])
async def test_an_opt_out_word_inside_a_message_is_not_an_opt_out(
    api: MerchantApi, text: str
) -> None:
    message = await api.desk.inbox.receive("13800138000", text)
    assert not message.opt_out
    customer = await api.desk.customers.by_phone("13800138000")
    assert customer is not None and not customer.opted_out


@pytest.mark.parametrize("text", ["{name.__class__.__mro__}", "{0}", "{name!r:>9999999}", "{"])
async def test_a_template_injection_is_not_stored(api: MerchantApi, text: str) -> None:
    response = await desk_request(
        api, "POST", "/api/desk/sms/templates", {"name": "坏模板", "text": text}
    )
    assert response.status == 400
    assert "坏模板" not in [t.name for t in await api.sms_library.all()]
