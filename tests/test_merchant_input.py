"""What the desk does with bad or odd input: templates with stray braces, reservations in
the past, huge amounts, voided bills, half-valid import rows, Excel date cells, bulk-SMS
lists typed every which way, +86 numbers and SQL wildcards in a search."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from zhanye_sdk.api.http import ApiRequest
from zhanye_sdk.api.merchant import MerchantApi
from zhanye_sdk.clock import ManualClock
from zhanye_sdk.devices.gateway import LoggingSmsGateway
from zhanye_sdk.errors import ConflictError, InvalidInput
from zhanye_sdk.merchant import MerchantDesk
from zhanye_sdk.merchant.bulk import BulkSms
from zhanye_sdk.merchant.calldesk import CallDesk
from zhanye_sdk.merchant.desk import MERCHANT_MIGRATIONS
from zhanye_sdk.merchant.money import MAX_AMOUNT, parse_money
from zhanye_sdk.merchant.numbers import normalize_number, sms_numbers
from zhanye_sdk.merchant.schema import calls, customers
from zhanye_sdk.merchant.templates import fill, parse
from zhanye_sdk.merchant.transfer import import_customers
from zhanye_sdk.store.database import downgrade

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)  # 18:00 on Friday 6 March 2026 in Shanghai
TOKEN = "desk-token-for-tests-0001"
VALUES = {"name": "张三", "level": "金卡", "date": "03月06日"}


@pytest.fixture
async def desk(database_url: str) -> AsyncIterator[MerchantDesk]:
    opened = await MerchantDesk.open(database_url, clock=ManualClock(T0))
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def gateway() -> LoggingSmsGateway:
    return LoggingSmsGateway(signature="小馆")


@pytest.fixture
def api(desk: MerchantDesk, gateway: LoggingSmsGateway) -> MerchantApi:
    # The phone line is not used by these requests.
    return MerchantApi(
        desk,
        CallDesk(desk, gateway),
        None,
        gateway,
        desk_token=TOKEN,  # type: ignore[arg-type]
    )


async def request(api: MerchantApi, method: str, path: str, body: Any = None) -> Any:
    response = await api.handle(
        ApiRequest(
            method,
            path,
            headers={"Authorization": f"Bearer {TOKEN}"},
            body=b"" if body is None else json.dumps(body).encode(),
        )
    )
    return response.status, json.loads(response.body or b"{}")


# ---- templates ---------------------------------------------------------------------


@given(st.text(alphabet="{}名ame_l vd!:0.[", max_size=24))
def test_the_template_parser_accepts_or_explains_any_text(template: str) -> None:
    try:
        filled = fill(template, VALUES)
    except InvalidInput as exc:
        assert exc.zh and ("占位符" in exc.zh)
        return
    # What it accepts means what str.format means by it, with nothing but the placeholders.
    assert filled == template.format(**VALUES)


def test_stray_braces_are_named_with_their_place() -> None:
    with pytest.raises(InvalidInput) as opened:
        parse("您好{name，欢迎光临", {"name"})
    assert opened.value.zh and "第 3 个字符处的“{”没有配对的“}”" in opened.value.zh
    with pytest.raises(InvalidInput) as closed:
        parse("您好}", {"name"})
    assert closed.value.zh and "第 3 个字符处的“}”没有配对的“{”" in closed.value.zh
    with pytest.raises(InvalidInput) as spec:
        parse("{name!r}{name.__class__}", {"name"})
    assert spec.value.zh and "无法识别的占位符 {name!r}" in spec.value.zh
    assert fill("{{VIP}} {name}", {"name": "张三"}) == "{VIP} 张三"


async def test_a_stray_brace_is_a_clear_refusal_not_a_server_error(api: MerchantApi) -> None:
    status, body = await request(
        api, "POST", "/api/desk/sms/preview", {"template": "{name您好", "numbers": ["13912345678"]}
    )
    assert status == 400, body
    assert "“{”没有配对的“}”" in body["error"]["message_zh"]
    status, body = await request(
        api,
        "PUT",
        "/api/desk/care",
        {"birthday_enabled": True, "birthday_template": "生日快乐}", "send_at": "09:00"},
    )
    assert status == 400, body
    assert "第 5 个字符处的“}”" in body["error"]["message_zh"]


# ---- reservations --------------------------------------------------------------------


async def test_a_reservation_in_the_past_is_refused_and_nobody_is_texted(
    api: MerchantApi, gateway: LoggingSmsGateway
) -> None:
    desk = api.desk
    room = await desk.reservations.add_resource("牡丹厅", capacity=10)
    guest, _ = await desk.customers.capture("13912345678")
    yesterday = {
        "resource_id": room.id,
        "customer_id": guest.id,
        "party_size": 4,
        "start": "2026-03-05T18:00",  # the shop's local time
        "end": "2026-03-05T20:00",
    }
    status, body = await request(api, "POST", "/api/desk/reservations", yesterday)
    assert status == 400
    assert "2026年3月5日 18:00 已经过去" in body["error"]["message_zh"]
    assert gateway.sent == []
    # A party walking in right now is fine; moving it to yesterday is not.
    booked = await desk.reservations.reserve(room.id, guest.id, 2, T0, T0 + timedelta(hours=2))
    with pytest.raises(InvalidInput, match="has passed"):
        await desk.reservations.change(
            booked.id, start=T0 - timedelta(days=1), end=T0 - timedelta(hours=22)
        )


async def test_confirmations_give_the_weekday_and_the_year_when_not_this_one(
    api: MerchantApi, gateway: LoggingSmsGateway
) -> None:
    room = await api.desk.reservations.add_resource("牡丹厅", capacity=10)
    guest, _ = await api.desk.customers.capture("13912345678")
    for start, end in [
        ("2026-12-24T18:30", "2026-12-24T20:30"),
        ("2027-01-03T12:00", "2027-01-03T13:00"),
    ]:
        status, body = await request(
            api,
            "POST",
            "/api/desk/reservations",
            {
                "resource_id": room.id,
                "customer_id": guest.id,
                "party_size": 2,
                "start": start,
                "end": end,
            },
        )
        assert status == 201, body
    texts = [text for _, text in gateway.sent]
    assert "12月24日(周四) 18:30的牡丹厅" in texts[0] and "2026年" not in texts[0]
    assert "2027年1月3日(周日) 12:00的牡丹厅" in texts[1]


# ---- the ledger ------------------------------------------------------------------------


async def test_amounts_are_bounded(desk: MerchantDesk) -> None:
    with pytest.raises(InvalidInput) as huge:
        await desk.ledger.record([("套餐", 1, "99999999999999999.99")], "99999999999999999.99")
    assert huge.value.zh and "过大" in huge.value.zh
    with pytest.raises(InvalidInput, match="quantity"):
        await desk.ledger.record([("米饭", 10**9, "2.00")], "100")
    with pytest.raises(InvalidInput) as total:
        await desk.ledger.record([("包场", 1, "600000.00"), ("包场", 1, "600000.00")], "999999.99")
    assert total.value.zh and "账单合计 1200000.00 元过大" in total.value.zh
    assert await desk.ledger.entries(T0 - timedelta(days=1), T0 + timedelta(days=1)) == []


async def test_a_voided_bill_is_kept_with_its_reason_and_left_out_of_the_totals(
    api: MerchantApi,
) -> None:
    ledger = api.desk.ledger
    kept = await ledger.record([("套餐", 1, "30.00")], "30")
    wrong = await ledger.record([("套餐", 10, "30.00")], "300")
    status, body = await request(api, "POST", f"/api/desk/ledger/{wrong.id}/void", {"reason": " "})
    assert status == 400 and "冲红须填写原因" in body["error"]["message_zh"]
    status, body = await request(
        api, "POST", f"/api/desk/ledger/{wrong.id}/void", {"reason": "数量录错"}
    )
    assert status == 200 and body["void_reason"] == "数量录错" and body["voided_at"]
    with pytest.raises(ConflictError):
        await ledger.void(wrong.id, "再冲一次")
    for kind, label in [
        ("day", "2026-03-06"),
        ("month", "2026-03"),
        ("quarter", "2026-Q1"),
        ("year", "2026"),
    ]:
        rows = await ledger.report(kind, T0 - timedelta(days=1), T0 + timedelta(days=1))
        assert [(r.period, r.bills, r.payable, r.voided, r.voided_payable) for r in rows] == [
            (label, 1, Decimal("30.00"), 1, Decimal("300.00"))
        ]
    status, body = await request(api, "GET", "/api/desk/ledger/bills")
    assert [(b["id"], b["void_reason"]) for b in body["items"]] == [
        (wrong.id, "数量录错"),
        (kept.id, None),
    ]


@given(st.one_of(st.text(max_size=40), st.integers(), st.decimals(allow_nan=True).map(str)))
def test_any_amount_typed_is_money_or_a_clear_refusal(typed: object) -> None:
    try:
        amount = parse_money(typed)
    except InvalidInput as exc:
        assert exc.zh and ("金额" in exc.zh)
    else:
        assert Decimal(0) <= amount <= MAX_AMOUNT and amount == amount.quantize(Decimal("0.01"))


# ---- import ----------------------------------------------------------------------------


async def test_a_row_reported_as_not_imported_wrote_nothing(desk: MerchantDesk) -> None:
    data = "手机号,姓名,分组\n13912345678,张三," + "很长的分组名" * 6 + "\n"
    report = await import_customers(desk.customers, data.encode(), "csv")
    assert (report.created, [e.row for e in report.errors]) == (0, [2])
    assert report.errors[0].message_zh and "分组名称须为 1–32 个字符" in report.errors[0].message_zh
    assert await desk.customers.by_phone("13912345678") is None


async def test_excel_date_and_number_cells_are_read_as_the_shop_sees_them(
    desk: MerchantDesk,
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["手机号", "姓名", "生日"])
    sheet.append([13912345678, "张三", datetime(1990, 3, 7)])
    sheet.append(["13812345678", "李四", date(1985, 12, 1)])
    out = io.BytesIO()
    book.save(out)
    report = await import_customers(desk.customers, out.getvalue(), "xlsx")
    assert (report.created, report.errors) == (2, ())
    zhang = await desk.customers.by_phone("13912345678")
    li = await desk.customers.by_phone("13812345678")
    assert zhang is not None and zhang.birthday == "1990-03-07"
    assert li is not None and li.birthday == "1985-12-01"


# ---- bulk SMS --------------------------------------------------------------------------


async def test_bulk_sms_lists_are_read_as_typed_and_every_bad_number_is_named(
    desk: MerchantDesk,
) -> None:
    bulk = BulkSms(desk, LoggingSmsGateway(signature="小馆"))
    zhang, _ = await desk.customers.capture("13912345678")
    await desk.customers.update(zhang.id, name="张三")
    await desk.customers.add_to_group(zhang.id, "会员")
    found = await bulk.recipients(
        numbers=["+86 139-1234-5678，13800138000、13700137000;13600136000\n0086 135 0000 0000"]
    )
    assert [n for n, _ in found] == [
        "13912345678",
        "13800138000",
        "13700137000",
        "13600136000",
        "13500000000",
    ]
    assert found[0][1] is not None and found[0][1].name == "张三"
    with pytest.raises(InvalidInput) as bad:
        await bulk.recipients(numbers=["123，13800138000，abc，02188886666"])
    assert bad.value.zh and "以下 3 个号码不是有效的手机号" in bad.value.zh
    assert "123、abc、02188886666" in bad.value.zh
    with pytest.raises(InvalidInput) as unknown:
        await bulk.recipients(groups=["会员，老客户"])
    assert unknown.value.zh and "没有这些客户分组：老客户。现有分组：会员" in unknown.value.zh
    with pytest.raises(InvalidInput) as nobody:
        await bulk.recipients()
    assert nobody.value.zh and "没有收件人" in nobody.value.zh
    with pytest.raises(InvalidInput) as empty:
        await bulk.preview("  \n", found)
    assert empty.value.zh == "短信内容不能为空，请先填写内容"


async def test_the_preview_counts_the_signature_the_gateway_appends(desk: MerchantDesk) -> None:
    bulk = BulkSms(desk, LoggingSmsGateway(signature="小馆"))
    recipients = await bulk.recipients(numbers=["13912345678"])
    text = "本" * 66  # 66 UCS-2 characters fit one SMS; with 【小馆】 (4 more) they do not
    (preview,) = await bulk.preview(text, recipients)
    assert preview.text == text + "【小馆】"
    assert (preview.characters, preview.parts) == (70, 1)
    (longer,) = await bulk.preview(text + "呀", recipients)
    assert (longer.characters, longer.parts) == (71, 2)


# ---- numbers and search ----------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["+8613912345678", "0086 139 1234 5678", "8613912345678", "139-1234-5678", "+86 139 1234 5678"],
)
def test_every_spelling_of_a_mobile_is_one_number(typed: str) -> None:
    assert normalize_number(typed) == "13912345678"


@given(st.text(alphabet="0123456789+86 -，、;\n()abc", max_size=40))
def test_any_typed_number_list_is_numbers_or_names_every_bad_entry(typed: str) -> None:
    try:
        found = sms_numbers([typed])
    except InvalidInput as exc:
        assert exc.zh and "不是有效的手机号" in exc.zh
        return
    assert len(found) == len(set(found))
    for number in found:
        assert normalize_number(number) == number  # already in the stored form
        assert number.startswith("+") or (len(number) == 11 and number[0] == "1")


@given(st.text(alphabet="0123456789+ -()", min_size=1, max_size=24))
def test_normalising_a_number_twice_changes_nothing(typed: str) -> None:
    try:
        once = normalize_number(typed)
    except InvalidInput:
        return
    assert normalize_number(once) == once


async def test_plus_86_callers_are_the_customers_already_in_the_book(desk: MerchantDesk) -> None:
    first, new = await desk.customers.capture("13912345678")
    again, new_again = await desk.customers.capture("+8613912345678")
    assert new and not new_again and again.id == first.id
    assert normalize_number("+86 21 8888 6666") == "02188886666"
    assert [c.id for c in await desk.customers.search("+86 139 1234")] == [first.id]


async def test_percent_and_underscore_in_a_search_are_literal(desk: MerchantDesk) -> None:
    plain, _ = await desk.customers.capture("13912345678")
    await desk.customers.update(plain.id, name="张三")
    odd, _ = await desk.customers.capture("13812345678")
    await desk.customers.update(odd.id, name="100%_满意")
    assert [c.name for c in await desk.customers.search("%")] == ["100%_满意"]
    assert [c.name for c in await desk.customers.search("_")] == ["100%_满意"]
    assert [c.name for c in await desk.customers.search("张_")] == []


# ---- the shop's time zone --------------------------------------------------------------


async def test_the_shop_zone_is_the_desks_and_the_page_is_told(
    api: MerchantApi, database_url: str
) -> None:
    status, body = await request(api, "GET", "/api/desk/shop")
    assert status == 200
    assert body["timezone"] == "Asia/Shanghai" and body["now"] == "2026-03-06T18:00:00+08:00"
    with pytest.raises(InvalidInput) as bad:
        await MerchantDesk.open(database_url, timezone="Asia/Beijing")
    assert bad.value.zh and "未知的时区“Asia/Beijing”" in bad.value.zh
    berlin = await MerchantDesk.open(database_url, clock=ManualClock(T0), timezone="Europe/Berlin")
    try:
        await berlin.ledger.record([("套餐", 1, "10.00")], "10")
        berlin.clock.current = T0 + timedelta(hours=13)  # type: ignore[attr-defined]
        await berlin.ledger.record([("套餐", 1, "20.00")], "20")  # 00:00 on 7 March in Berlin
        rows = await berlin.ledger.report("day", T0 - timedelta(days=1), T0 + timedelta(days=2))
        assert [(r.period, r.payable) for r in rows] == [
            ("2026-03-06", Decimal("10.00")),
            ("2026-03-07", Decimal("20.00")),
        ]
    finally:
        await berlin.close()


async def test_customers_kept_as_plus_86_become_one_card_on_upgrade(database_url: str) -> None:
    desk = await MerchantDesk.open(database_url, clock=ManualClock(T0))
    try:
        # An older desk (schema m0005), which stored the number as the modem gave it.
        await downgrade(desk.db, "m0005", MERCHANT_MIGRATIONS)
        async with desk.db.begin() as conn:
            for phone, name in [
                ("+8613912345678", "张三"),
                ("13912345678", None),
                ("008613812345678", "李四"),
            ]:
                await conn.execute(
                    customers.insert().values(
                        phone=phone,
                        name=name,
                        initials="",
                        opted_out=False,
                        created_ms=0,
                        updated_ms=0,
                    )
                )
        first = await desk.customers.search("+8613912345678")
        await desk.customers.add_to_group(first[0].id, "会员")
        for phone in ("+8613912345678", "13912345678"):
            async with desk.db.begin() as conn:
                await conn.execute(
                    calls.insert().values(
                        customer_id=(await desk.customers.search(phone))[0].id,
                        phone=phone,
                        direction="in",
                        outcome="answered",
                        started_ms=0,
                        duration_s=10,
                    )
                )
    finally:
        await desk.close()
    desk = await MerchantDesk.open(database_url, clock=ManualClock(T0))
    try:
        book = await desk.customers.all()
        assert sorted(c.phone for c in book) == ["13812345678", "13912345678"]
        zhang = await desk.customers.by_phone("+86 139 1234 5678")
        assert zhang is not None and (zhang.name, zhang.groups) == ("张三", ("会员",))
        assert len(await desk.customers.history(zhang.id)) == 2
        li = await desk.customers.by_phone("13812345678")
        assert li is not None and li.name == "李四"
    finally:
        await desk.close()
