"""Booking at the desk (预订管理): every new, changed or cancelled reservation is texted
to the customer, whoever books it (the desk page, a pop-up, an integrator's code)."""

from __future__ import annotations

from datetime import datetime

import attrs

from zhanye_sdk.devices.sms import SmsGateway
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.merchant.book import Customer
from zhanye_sdk.merchant.confirmations import ConfirmationTemplates, send_confirmation
from zhanye_sdk.merchant.desk import MerchantDesk
from zhanye_sdk.merchant.reservations import Reservation

__all__ = ["Booked", "Bookings"]


@attrs.frozen
class Booked:
    """A reservation as it now is, and the text the customer was sent (None: not texted,
    e.g. only the notes changed)."""

    reservation: Reservation
    sms: str | None


class Bookings:
    """Reservations that keep the customer informed by SMS.

    The texts go through ``gateway`` (a locked gateway, e.g. an unregistered SIM,
    holds them back and says why); the notes are the shop's own and are never texted.
    """

    def __init__(
        self,
        desk: MerchantDesk,
        gateway: SmsGateway,
        templates: ConfirmationTemplates | None = None,
    ) -> None:
        self._desk = desk
        self._gateway = gateway
        self.templates = templates or ConfirmationTemplates()

    async def _text(self, reservation: Reservation, which: str) -> Booked:
        sms = await send_confirmation(self._desk, self._gateway, reservation, which, self.templates)
        return Booked(reservation, sms)

    async def customer(self, phone: str, name: str | None = None) -> Customer:
        """Whom a booking is for: the customer with this number, put in the book when
        new (a booking taken for a number typed at the desk); ``name`` names a card that
        has no name yet and never renames one.

        Raises:
            InvalidInput: not a phone number, or a name over 64 characters.
        """
        given = (name or "").strip()
        if len(given) > 64:
            raise InvalidInput("a name is at most 64 characters", zh="姓名最多 64 个字")
        found, _ = await self._desk.customers.capture(phone)
        if given and not found.name:
            found = await self._desk.customers.update(found.id, name=given)
        return found

    async def book(
        self,
        resource_id: int,
        customer_id: int,
        party_size: int,
        start: datetime,
        end: datetime,
        notes: str | None = None,
    ) -> Booked:
        """Book (see :meth:`ReservationBook.reserve`) and text the confirmation."""
        await self._desk.customers.get(customer_id)  # NotFound before anything is booked
        reservation = await self._desk.reservations.reserve(
            resource_id, customer_id, party_size, start, end, notes
        )
        return await self._text(reservation, "booked")

    async def change(
        self,
        reservation_id: int,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        party_size: int | None = None,
        resource_id: int | None = None,
    ) -> Booked:
        """Move a booking to another time or room, or change the party, and text the
        customer the new details (nothing is texted when nothing changed)."""
        before = await self._desk.reservations.get(reservation_id)
        after = await self._desk.reservations.change(
            reservation_id,
            start=start,
            end=end,
            party_size=party_size,
            resource_id=resource_id,
        )
        same = (before.start, before.end, before.party_size, before.resource_id) == (
            after.start,
            after.end,
            after.party_size,
            after.resource_id,
        )
        if same:
            return Booked(after, None)
        return await self._text(after, "changed")

    async def note(self, reservation_id: int, notes: str | None) -> Booked:
        """Write the booking's notes (备注); the customer is not texted."""
        return Booked(await self._desk.reservations.set_notes(reservation_id, notes), None)

    async def cancel(self, reservation_id: int) -> Booked:
        """Cancel a booked reservation and text the customer."""
        reservation = await self._desk.reservations.set_status(reservation_id, "cancelled")
        return await self._text(reservation, "cancelled")
