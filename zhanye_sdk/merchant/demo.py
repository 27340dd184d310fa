"""The demo desk's sample data (``python -m hosts.kiosk --demo``): never on a real desk."""

from __future__ import annotations

from zhanye_sdk.merchant.desk import MerchantDesk

__all__ = ["seed_demo"]


async def seed_demo(desk: MerchantDesk) -> None:
    """A room and a table to book, when the desk has no rooms or tables at all (a demo
    desk whose person removed them keeps them removed)."""
    if await desk.reservations.resources(retired=True):
        return
    await desk.reservations.add_resource("牡丹厅", kind="room", capacity=10)
    await desk.reservations.add_resource("1号桌", kind="table", capacity=4)
