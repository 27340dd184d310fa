"""Booking at the desk through the SDK (no HTTP): rooms and tables managed at the desk,
moves and notes, search, and the customer texted for every new, changed or cancelled
booking by the real SMS gateway on the modem simulator."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import anyio
import pytest

from zhanye_sdk.clock import ManualClock
from zhanye_sdk.devices import Modem
from zhanye_sdk.devices.gateway import GatewayConfig, ModemSmsGateway, RateLimits
from zhanye_sdk.devices.simulator import ModemSimulator, register_simulator, unregister_simulator
from zhanye_sdk.errors import ConflictError, InvalidInput, NotFound
from zhanye_sdk.merchant import MerchantDesk
from zhanye_sdk.merchant.bookings import Bookings
from zhanye_sdk.merchant.demo import seed_demo

pytestmark = pytest.mark.anyio

NOON = datetime(2026, 3, 6, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
EVENING = NOON + timedelta(days=1, hours=6)  # 3月7日(周六) 18:00


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def desk(database_url: str) -> AsyncIterator[MerchantDesk]:
    opened = await MerchantDesk.open(database_url, clock=ManualClock(NOON))
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def texting(tmp_path: Path) -> AsyncIterator[tuple[ModemSimulator, MerchantDesk, Bookings]]:
    sim = ModemSimulator("huawei")
    name = f"bookings-{uuid.uuid4().hex[:8]}"
    url = register_simulator(name, sim)
    desk = await MerchantDesk.open(f"sqlite:///{tmp_path}/desk.db", clock=ManualClock(NOON))
    try:
        async with Modem(url) as modem:
            gateway = ModemSmsGateway(
                modem,
                tmp_path / "outbox.db",
                GatewayConfig(
                    signature="小馆",
                    limits=RateLimits(min_interval=0.01, per_hour=100, per_day=100, burst=10),
                ),
            )
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(gateway.run)
                await modem.wait_connected()
                yield sim, desk, Bookings(desk, gateway)
                tasks.cancel_scope.cancel()
            gateway.close()
    finally:
        await desk.close()
        unregister_simulator(name)


async def texts(sim: ModemSimulator, count: int) -> list[str]:
    """The texts the simulated phone sent, once there are ``count`` of them."""
    with anyio.fail_after(10):
        while len(sim.sent) < count:  # noqa: ASYNC110 - the simulator is not an anyio task
            await anyio.sleep(0.05)
    return [s.text for s in sim.sent]


async def test_booking_through_the_sdk_texts_the_customer_each_change_and_the_cancel(
    texting: tuple[ModemSimulator, MerchantDesk, Bookings],
) -> None:
    sim, desk, bookings = texting
    zhang, _ = await desk.customers.capture("13800138000")
    await desk.customers.update(zhang.id, name="张三")
    room = await desk.reservations.add_resource("牡丹厅", kind="room", capacity=10)
    hall = await desk.reservations.add_resource("芙蓉厅", kind="room", capacity=12)

    booked = await bookings.book(room.id, zhang.id, 6, EVENING, EVENING + timedelta(hours=2))
    assert (await texts(sim, 1))[0].startswith(
        "张三您好，已为您预订3月7日(周六) 18:00的牡丹厅（6位）"
    )
    assert sim.sent[0].recipient == "13800138000"

    # Moved to another room: texted with the new room.
    moved = await bookings.change(booked.reservation.id, resource_id=hall.id)
    assert moved.reservation.resource_id == hall.id
    assert (await texts(sim, 2))[1].startswith(
        "张三您好，您的预订已改为3月7日(周六) 18:00的芙蓉厅（6位）"
    )
    # A later time, the same room.
    await bookings.change(
        booked.reservation.id,
        start=EVENING + timedelta(hours=1),
        end=EVENING + timedelta(hours=3),
    )
    assert "19:00的芙蓉厅" in (await texts(sim, 3))[2]

    # Notes are the shop's own: kept, never texted; "no change" texts nothing either.
    noted = await bookings.note(booked.reservation.id, "  靠窗，带蛋糕 ")
    assert noted.sms is None
    assert (await desk.reservations.get(booked.reservation.id)).notes == "靠窗，带蛋糕"
    same = await bookings.change(booked.reservation.id, resource_id=hall.id)
    assert same.sms is None

    cancelled = await bookings.cancel(booked.reservation.id)
    assert cancelled.reservation.status == "cancelled"
    assert (await texts(sim, 4))[3].startswith("张三您好，您3月7日(周六) 19:00在芙蓉厅的预订已取消")
    await anyio.sleep(0.3)
    assert len(sim.sent) == 4  # nothing more went out


async def test_a_refused_booking_texts_nobody(
    texting: tuple[ModemSimulator, MerchantDesk, Bookings],
) -> None:
    sim, desk, bookings = texting
    guest, _ = await desk.customers.capture("13800138000")
    table = await desk.reservations.add_resource("1号桌", kind="table", capacity=4)
    booth = await desk.reservations.add_resource("2号桌", kind="table", capacity=2)
    with pytest.raises(InvalidInput, match="seats 4"):
        await bookings.book(table.id, guest.id, 6, EVENING, EVENING + timedelta(hours=2))
    booked = await bookings.book(table.id, guest.id, 4, EVENING, EVENING + timedelta(hours=2))
    await texts(sim, 1)
    # Moving a party of 4 to a table for 2 is refused, and not texted.
    with pytest.raises(InvalidInput, match="seats 2"):
        await bookings.change(booked.reservation.id, resource_id=booth.id)
    with pytest.raises(NotFound):
        await bookings.book(table.id, 999, 2, EVENING, EVENING + timedelta(hours=1))
    await anyio.sleep(0.3)
    assert len(sim.sent) == 1


async def test_rooms_and_tables_are_managed_at_the_desk(desk: MerchantDesk) -> None:
    rooms = desk.reservations
    guest, _ = await desk.customers.capture("13800138000")
    room = await rooms.add_resource("牡丹厅", kind="room", capacity=10)
    renamed = await rooms.update_resource(room.id, name="牡丹厅（大）", kind="room", capacity=12)
    assert [(r.name, r.capacity) for r in await rooms.resources()] == [("牡丹厅（大）", 12)]
    with pytest.raises(ConflictError, match="牡丹厅（大）"):
        await rooms.add_resource("牡丹厅（大）", kind="table", capacity=4)
    with pytest.raises(InvalidInput):
        await rooms.add_resource("x" * 33, kind="room", capacity=4)
    with pytest.raises(InvalidInput):
        await rooms.add_resource("3号桌", kind="sofa", capacity=4)

    booking = await rooms.reserve(renamed.id, guest.id, 8, EVENING, EVENING + timedelta(hours=2))
    # Shrinking below a party booked there, or removing it while booked, is refused.
    with pytest.raises(InvalidInput, match="party of 8"):
        await rooms.update_resource(room.id, name="牡丹厅（大）", kind="room", capacity=6)
    with pytest.raises(ConflictError, match="1 booking"):
        await rooms.remove_resource(room.id)
    await rooms.set_status(booking.id, "cancelled")
    await rooms.remove_resource(room.id)
    assert await rooms.resources() == []
    # Out of use: nothing can be booked there; its old booking keeps its name.
    with pytest.raises(NotFound):
        await rooms.reserve(room.id, guest.id, 2, EVENING, EVENING + timedelta(hours=1))
    assert [r.name for r in await rooms.resources(retired=True)] == ["牡丹厅（大）"]
    # The name can be used again: the same room is back in use.
    back = await rooms.add_resource("牡丹厅（大）", kind="room", capacity=8)
    assert back.id == room.id
    assert [r.capacity for r in await rooms.resources()] == [8]


async def test_bookings_are_found_by_name_number_and_day(desk: MerchantDesk) -> None:
    rooms = desk.reservations
    zhang, _ = await desk.customers.capture("13800138000")
    await desk.customers.update(zhang.id, name="张三")
    li, _ = await desk.customers.capture("13912345678")
    await desk.customers.update(li.id, name="李四")
    table = await rooms.add_resource("1号桌", kind="table", capacity=4)
    saturday = await rooms.reserve(table.id, zhang.id, 2, EVENING, EVENING + timedelta(hours=2))
    sunday = EVENING + timedelta(days=1)
    other = await rooms.reserve(table.id, li.id, 3, sunday, sunday + timedelta(hours=2))
    cancelled = await rooms.reserve(
        table.id, zhang.id, 2, sunday + timedelta(hours=3), sunday + timedelta(hours=4)
    )
    await rooms.set_status(cancelled.id, "cancelled")

    assert [r.id for r in await rooms.search("张")] == [saturday.id, cancelled.id]
    assert [r.id for r in await rooms.search("139 1234")] == [other.id]
    assert [r.id for r in await rooms.search("+86 138-0013-8000")] == [saturday.id, cancelled.id]
    assert [r.id for r in await rooms.search("", day=date(2026, 3, 8))] == [other.id, cancelled.id]
    assert [r.id for r in await rooms.search("张三", day=date(2026, 3, 7))] == [saturday.id]
    assert await rooms.search("100%") == []
    with pytest.raises(InvalidInput, match="500"):
        await rooms.set_notes(saturday.id, "长" * 501)


async def test_only_the_demo_desk_gets_sample_rooms(desk: MerchantDesk) -> None:
    assert await desk.reservations.resources() == []
    await seed_demo(desk)
    names = [r.name for r in await desk.reservations.resources()]
    assert names == ["1号桌", "牡丹厅"]
    # A demo desk whose person removed the rooms keeps them removed.
    for resource in await desk.reservations.resources():
        await desk.reservations.remove_resource(resource.id)
    await seed_demo(desk)
    assert await desk.reservations.resources() == []
