"""``MerchantDesk``: the merchant call-desk's services over its own database."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncConnection

from zhanye_sdk.clock import Clock, SystemClock
from zhanye_sdk.errors import ConflictError, InvalidInput
from zhanye_sdk.merchant.auto_sms_settings import AutoSmsSettings
from zhanye_sdk.merchant.book import CustomerBook
from zhanye_sdk.merchant.calllog import CallLog
from zhanye_sdk.merchant.groups import CustomerGroups
from zhanye_sdk.merchant.inbox import SmsInbox
from zhanye_sdk.merchant.ledger import LedgerEntry, SalesLedger
from zhanye_sdk.merchant.reservations import ReservationBook
from zhanye_sdk.merchant.schema import reservations
from zhanye_sdk.store.database import Database, open_database

__all__ = ["MERCHANT_MIGRATIONS", "MerchantDesk", "check_zone"]

MERCHANT_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def check_zone(name: str) -> str:
    """An IANA time zone name, checked.

    Raises:
        InvalidInput: no such zone.
    """
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            f"unknown time zone {name!r} (an IANA name such as Asia/Shanghai)",
            zh=f"未知的时区“{name}”，请填写如 Asia/Shanghai 的时区名称",
        ) from exc
    return name


class MerchantDesk:
    """Customer book, reservations and ledger of one shop (商户管家单机版).

    Open with ``await MerchantDesk.open("sqlite:///var/merchant.db")``; the desk's
    schema is migrated on open.
    """

    def __init__(self, db: Database, clock: Clock, *, timezone: str = "Asia/Shanghai") -> None:
        self.db = db
        self.clock = clock
        #: The shop's time zone (an IANA name): the board, reports, texts and the desk
        #: page are in its local time, whatever the computer's zone.
        self.timezone = check_zone(timezone)
        self.customers = CustomerBook(db, clock)
        #: Customer groups (客户分组).
        self.groups = CustomerGroups(db)
        #: The call log (通信记录).
        self.calls = CallLog(db, clock, self.timezone)
        #: The shop's 挂机短信 and 未接来电回复 settings.
        self.auto_sms = AutoSmsSettings(db)
        self.reservations = ReservationBook(db, clock, self.timezone)
        #: Received SMS (收件箱); a 退订/TD reply opts the number out.
        self.inbox = SmsInbox(db, clock, self.customers)
        self.ledger = SalesLedger(db, clock, self.timezone)

    @classmethod
    async def open(
        cls, url: str, *, clock: Clock | None = None, timezone: str = "Asia/Shanghai"
    ) -> MerchantDesk:
        """Open (creating and migrating as needed) the desk's database.

        Raises:
            InvalidInput: an unknown time zone.
        """
        check_zone(timezone)
        db = await open_database(url, MERCHANT_MIGRATIONS)
        return cls(db, clock or SystemClock(), timezone=timezone)

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
