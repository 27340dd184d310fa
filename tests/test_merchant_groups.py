"""Customer groups (客户分组) at the desk: create, rename, delete (refused while customers
are in it), assign several customers at once, browse, and bulk SMS to a group."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from zhanye_sdk.clock import ManualClock
from zhanye_sdk.devices.gateway import LoggingSmsGateway
from zhanye_sdk.errors import ConflictError, InvalidInput, NotFound
from zhanye_sdk.merchant import MerchantDesk
from zhanye_sdk.merchant.bulk import BulkSms

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)


@pytest.fixture
async def desk(database_url: str) -> AsyncIterator[MerchantDesk]:
    opened = await MerchantDesk.open(database_url, clock=ManualClock(T0))
    try:
        yield opened
    finally:
        await opened.close()


async def test_a_group_is_created_filled_renamed_and_browsed(desk: MerchantDesk) -> None:
    zhang, _ = await desk.customers.capture("13800138000")
    li, _ = await desk.customers.capture("13900139000")
    wang, _ = await desk.customers.capture("13700137000")
    group = await desk.groups.create("  老顾客 ")
    assert (group.name, group.members) == ("老顾客", 0)
    # Several at once; one already in it stays once.
    await desk.groups.assign(group.id, [zhang.id, li.id])
    group = await desk.groups.assign(group.id, [li.id, wang.id, li.id])
    assert group.members == 3
    assert await desk.groups.member_ids(group.id) == [zhang.id, li.id, wang.id]
    renamed = await desk.groups.rename(group.id, "VIP")
    assert (renamed.name, renamed.members) == ("VIP", 3)
    assert (await desk.customers.get(zhang.id)).groups == ("VIP",)
    assert [c.phone for c in await desk.customers.group_members("VIP")] == [
        "13800138000",
        "13900139000",
        "13700137000",
    ]
    await desk.groups.remove(group.id, wang.id)
    assert [g.members for g in await desk.groups.all()] == [2]


async def test_a_group_with_customers_is_not_deleted(desk: MerchantDesk) -> None:
    zhang, _ = await desk.customers.capture("13800138000")
    group = await desk.groups.create("老顾客")
    await desk.groups.assign(group.id, [zhang.id])
    with pytest.raises(ConflictError) as refused:
        await desk.groups.delete(group.id)
    assert refused.value.zh is not None and "还有 1 位客户" in refused.value.zh
    assert [g.name for g in await desk.groups.all()] == ["老顾客"]
    await desk.groups.remove(group.id, zhang.id)
    await desk.groups.delete(group.id)
    assert await desk.groups.all() == []
    assert (await desk.customers.get(zhang.id)).groups == ()
    with pytest.raises(NotFound):
        await desk.groups.delete(group.id)


async def test_bad_names_duplicates_and_unknown_customers_are_refused(desk: MerchantDesk) -> None:
    zhang, _ = await desk.customers.capture("13800138000")
    group = await desk.groups.create("老顾客")
    other = await desk.groups.create("新顾客")
    for bad in ("", " ", "x" * 33, "老,新", "甲、乙", "a;b"):
        with pytest.raises(InvalidInput) as refused:
            await desk.groups.create(bad)
        assert refused.value.zh
    with pytest.raises(ConflictError):
        await desk.groups.create("老顾客")
    with pytest.raises(ConflictError):
        await desk.groups.rename(other.id, "老顾客")
    with pytest.raises(NotFound):
        await desk.groups.assign(group.id, [zhang.id, 9999])
    assert (await desk.groups.get(group.id)).members == 0  # all or nothing
    with pytest.raises(InvalidInput):
        await desk.groups.assign(group.id, [])
    with pytest.raises(NotFound):
        await desk.groups.assign(4242, [zhang.id])


async def test_the_card_sets_exactly_the_customers_groups(desk: MerchantDesk) -> None:
    zhang, _ = await desk.customers.capture("13800138000")
    old = await desk.groups.create("老顾客")
    vip = await desk.groups.create("VIP")
    await desk.groups.set_for_customer(zhang.id, [old.id, vip.id])
    assert (await desk.customers.get(zhang.id)).groups == ("VIP", "老顾客")
    await desk.groups.set_for_customer(zhang.id, [vip.id])
    assert [g.name for g in await desk.groups.of_customer(zhang.id)] == ["VIP"]
    with pytest.raises(NotFound):
        await desk.groups.set_for_customer(zhang.id, [vip.id, 777])
    assert (await desk.customers.get(zhang.id)).groups == ("VIP",)
    await desk.groups.set_for_customer(zhang.id, [])
    assert (await desk.customers.get(zhang.id)).groups == ()


async def test_bulk_sms_reaches_everyone_in_a_group(desk: MerchantDesk) -> None:
    zhang, _ = await desk.customers.capture("13800138000")
    li, _ = await desk.customers.capture("13900139000")
    await desk.customers.capture("13700137000")
    group = await desk.groups.create("老顾客")
    await desk.groups.assign(group.id, [zhang.id, li.id])
    found = await BulkSms(desk, LoggingSmsGateway()).recipients(groups=["老顾客"])
    assert [number for number, _ in found] == ["13800138000", "13900139000"]
