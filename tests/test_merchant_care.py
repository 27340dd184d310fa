"""Customer-care settings and membership levels kept by the desk, on SQLite and on a
real PostgreSQL server; the greetings the housekeeping sends follow them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.clock import ManualClock
from zhanye_sdk.devices.gateway import LoggingSmsGateway
from zhanye_sdk.errors import ConflictError, InvalidInput, NotFound
from zhanye_sdk.merchant import MerchantDesk
from zhanye_sdk.merchant.bulk import BulkSms, CareCalendar, CustomerCare
from zhanye_sdk.merchant.care import CareBook, CareSettings
from zhanye_sdk.merchant.housekeeping import Housekeeping
from zhanye_sdk.merchant.registration import Registration
from zhanye_sdk.merchant.schema import metadata

pytestmark = pytest.mark.anyio

SPRING = datetime(2027, 2, 6, 1, 0, tzinfo=UTC)  # 09:00 on 春节 2027 in Shanghai


@pytest.fixture
async def desk(database_url: str) -> AsyncIterator[MerchantDesk]:
    opened = await MerchantDesk.open(database_url, clock=ManualClock(SPRING))
    try:
        yield opened
    finally:
        await opened.close()


async def test_migrations_build_the_declared_schema(desk: MerchantDesk) -> None:
    async with desk.db.connect() as conn:

        def diff(sync_conn: sa.Connection) -> list[object]:
            context = MigrationContext.configure(sync_conn)
            return [
                d
                for d in compare_metadata(context, metadata)
                # The platform's tables are not the desk's business.
                if not (d[0] == "remove_table" and not d[1].name.startswith("merchant_"))
                and not (d[0] == "remove_index" and not d[1].table.name.startswith("merchant_"))
            ]

        assert await conn.run_sync(diff) == []


async def test_care_settings_round_trip_and_are_checked(desk: MerchantDesk) -> None:
    care = CareBook(desk.db)
    assert await care.settings() == CareSettings()
    saved = await care.save_settings(
        birthday_enabled=False, birthday_template="{name}生日快乐", send_at="10:30"
    )
    assert saved == CareSettings(False, "{name}生日快乐", "10:30")
    assert await care.save_settings(
        birthday_enabled=True, birthday_template="{name}生日快乐！", send_at="08:00"
    ) == CareSettings(True, "{name}生日快乐！", "08:00")
    with pytest.raises(InvalidInput, match="placeholders"):
        await care.save_settings(birthday_enabled=True, birthday_template="{phone}", send_at="8:00")
    with pytest.raises(InvalidInput, match="HH:MM"):
        await care.save_settings(birthday_enabled=True, birthday_template="hi", send_at="25:00")

    spring = await care.add_holiday("春节", "2027-02-06", "{name}，新春快乐！", "08:00")
    with pytest.raises(ConflictError, match="2027-02-06"):
        await care.add_holiday("又一个春节", "2027-02-06", "快乐")
    with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
        await care.add_holiday("元宵节", "2027-02-30", "快乐")
    lantern = await care.add_holiday("元宵节", "2027-02-20", "{name}，元宵快乐！")
    with pytest.raises(ConflictError):
        await care.update_holiday(lantern.id, "元宵节", "2027-02-06", "快乐", "09:00")
    await care.update_holiday(lantern.id, "元宵节", "2027-02-21", "元宵快乐", "09:00")
    assert [(h.name, h.day) for h in await care.holidays()] == [
        ("春节", "2027-02-06"),
        ("元宵节", "2027-02-21"),
    ]
    await care.delete_holiday(lantern.id)
    with pytest.raises(NotFound):
        await care.delete_holiday(lantern.id)
    with pytest.raises(NotFound):
        await care.update_holiday(999, "x", "2027-01-01", "x", "09:00")
    assert [h.id for h in await care.holidays()] == [spring.id]


async def test_levels_are_edited_and_assigned(desk: MerchantDesk) -> None:
    gold = await desk.customers.add_level("金卡", "0.88")
    silver = await desk.customers.add_level("银卡", "0.95")
    edited = await desk.customers.update_level(gold.id, "金卡会员", "0.85")
    assert (edited.name, edited.discount) == ("金卡会员", Decimal("0.85"))
    with pytest.raises(ConflictError):
        await desk.customers.update_level(gold.id, "银卡", "0.85")
    with pytest.raises(InvalidInput):
        await desk.customers.update_level(gold.id, "金卡", "0")
    with pytest.raises(NotFound):
        await desk.customers.update_level(999, "x", "0.9")
    guest, _ = await desk.customers.capture("13800138000")
    assert (await desk.customers.set_level(guest.id, silver.id)).level == silver
    with pytest.raises(NotFound):
        await desk.customers.set_level(guest.id, 999)
    with pytest.raises(NotFound):
        await desk.customers.set_level(999, silver.id)
    assert (await desk.customers.set_level(guest.id, None)).level is None


_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)


@given(name=_TEXT, day=_TEXT, template=_TEXT, send_at=_TEXT)
def test_holiday_fields_are_accepted_or_refused_clearly(
    name: str, day: str, template: str, send_at: str
) -> None:
    try:
        values = CareBook._values(name, day, template, send_at)
    except InvalidInput:
        return
    assert values["day"][4] == "-" and len(values["day"]) == 10
    assert len(values["send_at"]) == 5 and values["send_at"][2] == ":"
    assert 1 <= len(values["name"]) <= 32 and values["template"]


async def test_housekeeping_greets_by_the_saved_settings(tmp_path: Path) -> None:
    live = tmp_path / "desk.db"
    clock = ManualClock(datetime(2027, 2, 5, 23, 0, tzinfo=UTC))  # 07:00 on 春节
    desk = await MerchantDesk.open(f"sqlite:///{live}", clock=clock)
    try:
        guest, _ = await desk.customers.capture("13800138000")
        await desk.customers.update(guest.id, name="寿星", birthday="1990-02-06")
        care_book = CareBook(desk.db)
        await care_book.save_settings(
            birthday_enabled=False, birthday_template="{name}生日快乐", send_at="08:00"
        )
        await care_book.add_holiday("春节", "2027-02-06", "{name}，新春快乐！", "08:00")
        gateway = LoggingSmsGateway()
        chores = Housekeeping(
            desk,
            live,
            tmp_path / "backups",
            CustomerCare(desk, BulkSms(desk, gateway), CareCalendar()),
            lambda: Registration(True, quota_per_day=10),
            care_book=care_book,
        )
        _, early = await chores.run_once()
        assert early is not None and early.sent == ()  # before the sending time
        clock.advance(2 * 3600)
        _, due = await chores.run_once()
        assert due is not None and due.sent == ("13800138000",)
        assert gateway.sent == [("13800138000", "寿星，新春快乐！")]  # no birthday: it is off
    finally:
        await desk.close()
