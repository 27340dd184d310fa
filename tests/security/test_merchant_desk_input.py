"""Attacks on the merchant desk's input, from whoever can type into the desk page or
hand it a file.

Attacks covered:
1. Format-string injection in an SMS or greeting template (``{name.__class__…}``,
   ``{name!r:>9999999}``) to read Python internals or blow up memory: refused as an
   unknown placeholder, nothing rendered.
2. A template with a lone brace to crash the desk API (a 500 and a traceback): a 400
   with the place named.
3. SQL LIKE wildcards in a customer search (``%``, ``_``) to list the whole book:
   matched literally.
4. An amount too large for the ledger's columns (a crash on PostgreSQL, a poisoned
   report elsewhere): refused before anything is written.
5. An import row that is half valid, to leave a customer created without the rest of
   the row: nothing of that row is written.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from zhanye_sdk.api.merchant import MerchantApi
from zhanye_sdk.merchant.transfer import import_customers

from ..kiosk_world import desk_api, desk_request

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)


@pytest.fixture
async def api(tmp_path: Any) -> AsyncIterator[MerchantApi]:
    async with desk_api(tmp_path, T0) as opened:
        yield opened


async def send(
    api: MerchantApi, method: str, path: str, body: Any = None, query: dict[str, str] | None = None
) -> tuple[int, Any]:
    response = await desk_request(api, method, path, body, query)
    return response.status, json.loads(response.body or b"{}")


@pytest.mark.parametrize(
    "template",
    [
        "{name.__class__.__mro__}",
        "{name.__init__.__globals__}",
        "{name[0]}",
        "{name!r:>99999999}",
        "{0}",
        "{}",
        "{name:{level}}",
    ],
)
async def test_format_string_injection_in_a_template_renders_nothing(
    api: MerchantApi, template: str
) -> None:
    status, body = await send(
        api, "POST", "/api/desk/sms/preview", {"template": template, "numbers": ["13912345678"]}
    )
    assert status == 400, body
    assert body["error"]["code"] == "invalid_input"
    assert "占位符" in body["error"]["message_zh"]
    assert "items" not in body


@pytest.mark.parametrize("template", ["{", "}", "生日快乐{", "{{name}", "{name}}"])
async def test_a_lone_brace_is_a_400_not_a_crash(api: MerchantApi, template: str) -> None:
    for method, path, payload in [
        ("POST", "/api/desk/sms/preview", {"template": template, "numbers": ["13912345678"]}),
        (
            "PUT",
            "/api/desk/care",
            {"birthday_enabled": True, "birthday_template": template, "send_at": "09:00"},
        ),
        (
            "POST",
            "/api/desk/care/holidays",
            {"name": "春节", "day": "2027-02-06", "template": template},
        ),
    ]:
        status, body = await send(api, method, path, payload)
        assert status == 400, (path, body)
        assert "没有配对" in body["error"]["message_zh"]


async def test_wildcards_do_not_list_the_whole_book(api: MerchantApi) -> None:
    for i in range(5):
        customer, _ = await api.desk.customers.capture(f"1391234567{i}")
        await api.desk.customers.update(customer.id, name=f"顾客{i}")
    for query in ("%", "_", "%25", "__"):
        status, body = await send(api, "GET", "/api/desk/customers", query={"q": query})
        assert status == 200 and body["items"] == []


async def test_an_oversized_amount_writes_nothing(api: MerchantApi) -> None:
    for price, paid in [("99999999999999999.99", "99999999999999999.99"), ("1e30", "1e30")]:
        status, body = await send(
            api, "POST", "/api/desk/ledger", {"items": [["套餐", 1, price]], "paid": paid}
        )
        assert status == 400, body
    assert await api.desk.ledger.entries(T0 - timedelta(days=1), T0 + timedelta(days=1)) == []


async def test_a_half_valid_import_row_writes_nothing(api: MerchantApi) -> None:
    rows = "手机号,姓名,生日,分组\n13912345678,张三,1990-03-07," + "组" * 40 + "\n"
    report = await import_customers(api.desk.customers, rows.encode(), "csv")
    assert [e.row for e in report.errors] == [2]
    assert await api.desk.customers.by_phone("13912345678") is None
    assert await api.desk.customers.group_names() == []
