"""The desk terminal's endpoints (``/api/desk/*``) and its live event stream.

The kiosk host serves them on the shop's own machine (loopback); they translate
between HTTP and ``zhanye_sdk.merchant`` and hold no rules of their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import attrs

from zhanye_sdk.api.http import ApiRequest, ApiResponse, Router
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.merchant.bulk import BulkSms
from zhanye_sdk.merchant.calldesk import CallDesk
from zhanye_sdk.merchant.confirmations import ConfirmationTemplates, send_confirmation
from zhanye_sdk.merchant.desk import MerchantDesk
from zhanye_sdk.merchant.registration import Registration
from zhanye_sdk.wire import structure, unstructure

__all__ = ["MerchantApi", "PhoneControl"]


class PhoneControl(Protocol):
    """What the desk can do with the phone line."""

    async def answer(self) -> None:
        """Pick up the ringing call."""
        ...

    async def hangup(self) -> None:
        """End the current call."""
        ...


@attrs.frozen
class ReserveForm:
    resource_id: int
    customer_id: int
    party_size: int
    start: datetime
    end: datetime
    notes: str | None = None


@attrs.frozen
class BulkForm:
    template: str
    numbers: list[str] = attrs.field(factory=list)
    groups: list[str] = attrs.field(factory=list)


@attrs.frozen
class BillForm:
    items: list[tuple[str, int, str]]
    paid: str
    customer_id: int | None = None


@attrs.frozen
class ChangeForm:
    start: datetime
    end: datetime
    party_size: int | None = None


@attrs.frozen
class CheckOutForm:
    items: list[tuple[str, int, str]]
    paid: str


@attrs.frozen
class CardForm:
    name: str | None = None
    gender: str | None = None
    company: str | None = None
    customer_type: str | None = None
    birthday: str | None = None
    notes: str | None = None


def _json(value: Any) -> Any:
    return unstructure(value)


class MerchantApi:
    """Customers, reservations, the phone line and reports for the desk page."""

    def __init__(
        self,
        desk: MerchantDesk,
        calldesk: CallDesk,
        phone: PhoneControl,
        sms_gateway: Any,
        templates: ConfirmationTemplates | None = None,
        registration: Callable[[], Registration | None] = lambda: None,
    ) -> None:
        self.desk = desk
        self.registration = registration
        self.bulk = BulkSms(desk, sms_gateway)
        self.calldesk = calldesk
        self.phone = phone
        self.sms = sms_gateway
        self.templates = templates or ConfirmationTemplates()
        self.router = Router()
        r = self.router.add
        r("GET", "/api/desk/customers", self.search)
        r("GET", "/api/desk/customers/{customer_id}", self.card)
        r("PATCH", "/api/desk/customers/{customer_id}", self.edit)
        r("GET", "/api/desk/resources", self.resources)
        r("POST", "/api/desk/reservations", self.reserve)
        r("GET", "/api/desk/reservations", self.board)
        r("PATCH", "/api/desk/reservations/{reservation_id}", self.change)
        r("POST", "/api/desk/reservations/{reservation_id}/cancel", self.cancel)
        r("POST", "/api/desk/reservations/{reservation_id}/check-out", self.check_out)
        r("POST", "/api/desk/call/answer", self.answer)
        r("POST", "/api/desk/call/hangup", self.hangup)
        r("POST", "/api/desk/sms/preview", self.sms_preview)
        r("POST", "/api/desk/sms/send", self.sms_send)
        r("GET", "/api/desk/sms/outbox", self.sms_outbox)
        r("POST", "/api/desk/ledger", self.bill)
        r("GET", "/api/desk/ledger/report", self.report)

    async def handle(self, request: ApiRequest) -> ApiResponse:
        """Answer one request."""
        return await self.router.dispatch(request)

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Desk events (pop-ups, automatic SMS) as JSON-able data, as they happen."""
        stream = self.calldesk.subscribe()
        async with stream:
            async for event in stream:
                yield {"type": type(event).__name__, "data": _json(event)}

    async def search(self, request: ApiRequest) -> ApiResponse:
        found = await self.desk.customers.search(request.query.get("q", ""))
        return ApiResponse.of_json({"items": _json(found)})

    async def _card(self, customer_id: int) -> dict[str, Any]:
        customer = await self.desk.customers.get(customer_id)
        history = await self.desk.customers.history(customer_id, limit=10)
        return {
            "customer": _json(customer),
            "display_name": customer.display_name,
            "history": _json(history),
        }

    @staticmethod
    def _id(text: str) -> int:
        if not text.isdigit():
            raise InvalidInput("ids are whole numbers")
        return int(text)

    async def card(self, request: ApiRequest, customer_id: str) -> ApiResponse:
        return ApiResponse.of_json(await self._card(self._id(customer_id)))

    async def edit(self, request: ApiRequest, customer_id: str) -> ApiResponse:
        form = structure(request.json(), CardForm)
        fields = {k: v for k, v in attrs.asdict(form).items() if v is not None}
        await self.desk.customers.update(self._id(customer_id), **fields)
        return ApiResponse.of_json(await self._card(self._id(customer_id)))

    async def resources(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse.of_json({"items": _json(await self.desk.reservations.resources())})

    async def reserve(self, request: ApiRequest) -> ApiResponse:
        form = structure(request.json(), ReserveForm)
        reservation = await self.desk.reservations.reserve(
            form.resource_id, form.customer_id, form.party_size, form.start, form.end, form.notes
        )
        text = await send_confirmation(self.desk, self.sms, reservation, "booked", self.templates)
        return ApiResponse.of_json({"reservation": _json(reservation), "sms": text}, 201)

    async def answer(self, request: ApiRequest) -> ApiResponse:
        await self.phone.answer()
        return ApiResponse.of_json({"ok": True})

    async def hangup(self, request: ApiRequest) -> ApiResponse:
        await self.phone.hangup()
        return ApiResponse.of_json({"ok": True})

    async def _recipients(self, form: BulkForm) -> list[Any]:
        return await self.bulk.recipients(numbers=form.numbers, groups=form.groups)

    async def sms_preview(self, request: ApiRequest) -> ApiResponse:
        form = structure(request.json(), BulkForm)
        previews = await self.bulk.preview(form.template, await self._recipients(form))
        return ApiResponse.of_json(
            {
                "items": _json(previews[:200]),
                "recipients": len(previews),
                "characters": sum(p.characters for p in previews),
                "parts": sum(p.parts for p in previews),
            }
        )

    async def sms_send(self, request: ApiRequest) -> ApiResponse:
        form = structure(request.json(), BulkForm)
        report = await self.bulk.send(
            form.template, await self._recipients(form), self.registration()
        )
        return ApiResponse.of_json(_json(report))

    async def sms_outbox(self, request: ApiRequest) -> ApiResponse:
        pending = await self.sms.pending() if hasattr(self.sms, "pending") else 0
        return ApiResponse.of_json({"pending": pending})

    async def bill(self, request: ApiRequest) -> ApiResponse:
        form = structure(request.json(), BillForm)
        entry = await self.desk.ledger.record(
            list(form.items), form.paid, customer_id=form.customer_id
        )
        return ApiResponse.of_json(_json(entry), 201)

    async def report(self, request: ApiRequest) -> ApiResponse:
        kind = request.query.get("kind", "day")
        now = self.desk.clock.now()
        start = now - timedelta(
            days={"day": 31, "month": 366, "quarter": 3 * 366, "year": 5 * 366}.get(kind, 31)
        )
        rows = await self.desk.ledger.report(kind, start, now + timedelta(days=1))
        return ApiResponse.of_json({"rows": _json(rows)})

    async def board(self, request: ApiRequest) -> ApiResponse:
        """The reservations of one local day (``?day=YYYY-MM-DD``, default today)."""
        zone = ZoneInfo(self.templates.timezone)
        text = request.query.get("day")
        try:
            day = (
                date.fromisoformat(text) if text else self.desk.clock.now().astimezone(zone).date()
            )
        except ValueError as exc:
            raise InvalidInput("day must be YYYY-MM-DD") from exc
        start = datetime.combine(day, time(0), zone)
        items = []
        names = {r.id: r.name for r in await self.desk.reservations.resources()}
        for reservation in await self.desk.reservations.on_day(start, start + timedelta(days=1)):
            customer = await self.desk.customers.get(reservation.customer_id)
            items.append(
                {
                    **_json(reservation),
                    "resource": names.get(reservation.resource_id, ""),
                    "customer": customer.display_name,
                    "phone": customer.phone,
                }
            )
        return ApiResponse.of_json({"day": day.isoformat(), "items": items})

    async def change(self, request: ApiRequest, reservation_id: str) -> ApiResponse:
        form = structure(request.json(), ChangeForm)
        reservation = await self.desk.reservations.change(
            self._id(reservation_id), start=form.start, end=form.end, party_size=form.party_size
        )
        text = await send_confirmation(self.desk, self.sms, reservation, "changed", self.templates)
        return ApiResponse.of_json({"reservation": _json(reservation), "sms": text})

    async def cancel(self, request: ApiRequest, reservation_id: str) -> ApiResponse:
        reservation = await self.desk.reservations.set_status(self._id(reservation_id), "cancelled")
        text = await send_confirmation(
            self.desk, self.sms, reservation, "cancelled", self.templates
        )
        return ApiResponse.of_json({"reservation": _json(reservation), "sms": text})

    async def check_out(self, request: ApiRequest, reservation_id: str) -> ApiResponse:
        form = structure(request.json(), CheckOutForm)
        entry = await self.desk.check_out(self._id(reservation_id), list(form.items), form.paid)
        return ApiResponse.of_json(_json(entry), 201)
