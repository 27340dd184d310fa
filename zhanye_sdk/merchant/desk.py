"""``MerchantDesk``: the merchant call-desk's services over its own database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection

from zhanye_sdk.clock import Clock, SystemClock
from zhanye_sdk.errors import ConflictError
from zhanye_sdk.merchant.book import CustomerBook
from zhanye_sdk.merchant.ledger import LedgerEntry, SalesLedger
from zhanye_sdk.merchant.reservations import ReservationBook
from zhanye_sdk.merchant.schema import reservations
from zhanye_sdk.store.database import Database, open_database

__all__ = ["MERCHANT_MIGRATIONS", "MerchantDesk"]

MERCHANT_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class MerchantDesk:
    """Customer book, reservations and ledger of one shop (商户管家单机版).

    Open with ``await MerchantDesk.open("sqlite:///var/merchant.db")``; the desk's
    schema is migrated on open.
    """

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.customers = CustomerBook(db, clock)
        self.reservations = ReservationBook(db, clock)
        self.ledger = SalesLedger(db, clock)

    @classmethod
    async def open(cls, url: str, *, clock: Clock | None = None) -> MerchantDesk:
        """Open (creating and migrating as needed) the desk's database."""
        db = await open_database(url, MERCHANT_MIGRATIONS)
        return cls(db, clock or SystemClock())

    async def check_out(
        self, reservation_id: int, items: list[tuple[str, int, str]], paid: str
    ) -> LedgerEntry:
        """Close a reservation and record its bill in the ledger (结账).

        Raises:
            ConflictError: the reservation is cancelled or checked out already.
            InvalidInput: bad items, or less paid than payable (nothing is recorded).
        """
        reservation = await self.reservations.get(reservation_id)
        if reservation.status != "booked":
            raise ConflictError(
                f"reservation {reservation_id} is {reservation.status}, not booked",
                zh="该预订已取消或已结账，不能结账",
            )

        async def close(conn: AsyncConnection) -> None:
            # In the bill's transaction: a cancel that got in first leaves no bill.
            result = await conn.execute(
                reservations.update()
                .where(reservations.c.id == reservation_id)
                .where(reservations.c.status == "booked")
                .values(status="checked_out")
            )
            if not result.rowcount:
                raise ConflictError(
                    f"reservation {reservation_id} is no longer booked",
                    zh="该预订刚被取消或已结账，不能结账",
                )

        return await self.ledger.record(
            items,
            paid,
            customer_id=reservation.customer_id,
            reservation_id=reservation_id,
            before=close,
        )

    async def close(self) -> None:
        """Close the database."""
        await self.db.close()
