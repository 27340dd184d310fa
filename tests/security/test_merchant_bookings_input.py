"""Attacks on the desk's reservations screen (预订管理) from whoever can type into the
desk page, through the desk API.

Attacks covered:
1. SQL LIKE wildcards in a booking search (``%``, ``_``) to list every booking with its
   customers' numbers: matched literally.
2. An oversized search (megabytes in ``?q=``) to load the database: refused with 400.
3. A booking for a forged "phone number" (markup, SQL, letters) to put junk into the
   book or text an arbitrary string: 400, nobody captured, nothing booked or texted.
4. A room or table with an absurd capacity, an unknown kind or a huge name: 400, nothing
   written.
5. Oversized booking notes to fill the disk: 400, the notes unchanged.
6. A booking moved into a room that was taken out of use, or one that does not exist,
   or by a non-numeric id: refused, the booking unchanged and nobody texted.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from zhanye_sdk.api.merchant import MerchantApi
from zhanye_sdk.devices.gateway import LoggingSmsGateway

from ..kiosk_world import desk_api, desk_request

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 3, 6, 4, 0, tzinfo=UTC)
EVENING = T0 + timedelta(days=1, hours=6)


@pytest.fixture
async def world(tmp_path: Any) -> AsyncIterator[tuple[MerchantApi, LoggingSmsGateway]]:
    async with desk_api(tmp_path, T0) as api:
        assert isinstance(api.sms, LoggingSmsGateway)
        yield api, api.sms


async def send(
    api: MerchantApi, method: str, path: str, body: Any = None, query: dict[str, str] | None = None
) -> tuple[int, Any]:
    response = await desk_request(api, method, path, body, query)
    return response.status, json.loads(response.body or b"{}")


async def _booking(api: MerchantApi) -> tuple[int, int]:
    room = await api.desk.reservations.add_resource("牡丹厅", capacity=10)
    status, body = await send(
        api,
        "POST",
        "/api/desk/reservations",
        {
            "resource_id": room.id,
            "phone": "13800138000",
            "name": "张三",
            "party_size": 4,
            "start": "2026-03-07T18:00",
            "end": "2026-03-07T20:00",
        },
    )
    assert status == 201, body
    return room.id, body["reservation"]["id"]


async def test_wildcards_do_not_list_every_booking(world: tuple) -> None:
    api, _ = world
    await _booking(api)
    for pattern in ("%", "_", "%%", "1_8%"):
        status, body = await send(api, "GET", "/api/desk/reservations", query={"q": pattern})
        assert status == 200
        assert body["items"] == [], pattern


async def test_an_oversized_search_is_refused(world: tuple) -> None:
    api, _ = world
    status, body = await send(api, "GET", "/api/desk/reservations", query={"q": "张" * 100_000})
    assert status == 400
    assert body["error"]["message_zh"] == "查找内容最多 64 个字"


@pytest.mark.parametrize(
    "phone",
    ["<script>alert(1)</script>", "13800138000'; DROP TABLE merchant_customers; --", "abc", ""],
)
async def test_a_forged_phone_number_books_and_texts_nothing(world: tuple, phone: str) -> None:
    api, gateway = world
    room = await api.desk.reservations.add_resource("牡丹厅", capacity=10)
    status, _ = await send(
        api,
        "POST",
        "/api/desk/reservations",
        {
            "resource_id": room.id,
            "phone": phone,
            "party_size": 2,
            "start": "2026-03-07T18:00",
            "end": "2026-03-07T20:00",
        },
    )
    assert status == 400
    assert await api.desk.customers.all() == []
    assert await api.desk.reservations.search("") == []
    assert gateway.sent == []


@pytest.mark.parametrize(
    "body",
    [
        {"name": "牡丹厅", "kind": "room", "capacity": 10**12},
        {"name": "牡丹厅", "kind": "room", "capacity": -3},
        {"name": "牡丹厅", "kind": "<img src=x>", "capacity": 4},
        {"name": "厅" * 100_000, "kind": "room", "capacity": 4},
        {"name": "   ", "kind": "room", "capacity": 4},
    ],
)
async def test_an_absurd_room_writes_nothing(world: tuple, body: dict[str, Any]) -> None:
    api, _ = world
    status, _ = await send(api, "POST", "/api/desk/resources", body)
    assert status == 400
    assert await api.desk.reservations.resources(retired=True) == []


async def test_oversized_notes_are_refused_and_the_old_ones_kept(world: tuple) -> None:
    api, gateway = world
    _, booking = await _booking(api)
    path = f"/api/desk/reservations/{booking}/notes"
    assert (await send(api, "PUT", path, {"notes": "靠窗"}))[0] == 200
    status, _ = await send(api, "PUT", path, {"notes": "长" * 10_000})
    assert status == 400
    assert (await api.desk.reservations.get(booking)).notes == "靠窗"
    assert len(gateway.sent) == 1  # the booking's confirmation only


async def test_a_move_into_a_room_out_of_use_or_unknown_changes_nothing(world: tuple) -> None:
    api, gateway = world
    room, booking = await _booking(api)
    spare = await api.desk.reservations.add_resource("芙蓉厅", capacity=10)
    await api.desk.reservations.remove_resource(spare.id)
    path = f"/api/desk/reservations/{booking}"
    assert (await send(api, "PATCH", path, {"resource_id": spare.id}))[0] == 404
    assert (await send(api, "PATCH", path, {"resource_id": 999_999}))[0] == 404
    assert (await send(api, "PATCH", "/api/desk/reservations/1OR1=1", {}))[0] == 404
    assert (await api.desk.reservations.get(booking)).resource_id == room
    assert len(gateway.sent) == 1
