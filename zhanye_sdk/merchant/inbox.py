"""Received SMS at the desk (收件箱): kept per customer; a 退订/TD reply opts the number
out of marketing messages."""

from __future__ import annotations

from datetime import datetime

import attrs
import sqlalchemy as sa

from zhanye_sdk.clock import Clock, from_ms, to_ms
from zhanye_sdk.errors import ZhanyeError
from zhanye_sdk.merchant.book import CustomerBook
from zhanye_sdk.merchant.numbers import normalize_number
from zhanye_sdk.merchant.optout import is_opt_out
from zhanye_sdk.merchant.schema import inbox
from zhanye_sdk.store.database import Database

__all__ = ["MAX_TEXT", "InboxMessage", "SmsInbox"]

#: The longest text kept of one received message (a long one is cut, never refused).
MAX_TEXT = 2000


@attrs.frozen
class InboxMessage:
    """One received SMS: from whom, what, when; ``opt_out`` when it was a 退订/TD reply
    and the number was put on the opt-out list."""

    id: int
    phone: str
    customer_id: int | None
    text: str
    received_at: datetime
    opt_out: bool


def _message(row: sa.Row) -> InboxMessage:  # type: ignore[type-arg]
    return InboxMessage(
        row.id, row.phone, row.customer_id, row.text, from_ms(row.received_ms), row.opt_out
    )


class SmsInbox:
    """Received messages, by customer (see the module doc)."""

    def __init__(self, db: Database, clock: Clock, customers: CustomerBook) -> None:
        self._db = db
        self._clock = clock
        self._customers = customers

    async def receive(self, sender: str, text: str) -> InboxMessage:
        """Keep a received message. A sender that is a phone number is the book's
        customer (captured when new, like a caller); a 退订/TD reply opts them out.
        A sender that is no number (a service name) is kept as it came."""
        body = text[:MAX_TEXT]
        customer = None
        try:
            phone = normalize_number(sender)
        except (ZhanyeError, ValueError):  # a service name: kept as it came
            phone = sender[:32]
        else:
            customer, _ = await self._customers.capture(phone)
        opt_out = customer is not None and is_opt_out(body)
        if opt_out and customer is not None:
            await self._customers.set_opted_out(customer.id, True)
        async with self._db.begin() as conn:
            result = await conn.execute(
                inbox.insert().values(
                    phone=phone,
                    customer_id=customer.id if customer else None,
                    text=body,
                    received_ms=to_ms(self._clock.now()),
                    opt_out=opt_out,
                )
            )
            row = (
                await conn.execute(
                    sa.select(inbox).where(inbox.c.id == result.inserted_primary_key[0])
                )
            ).one()
        return _message(row)

    async def messages(
        self, *, customer_id: int | None = None, limit: int = 100
    ) -> list[InboxMessage]:
        """The newest received messages first: a customer's, or everyone's."""
        select = sa.select(inbox).order_by(inbox.c.received_ms.desc(), inbox.c.id.desc())
        if customer_id is not None:
            select = select.where(inbox.c.customer_id == customer_id)
        async with self._db.connect() as conn:
            return [_message(r) for r in await conn.execute(select.limit(limit))]
