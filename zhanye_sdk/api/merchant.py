"""The desk terminal's endpoints (``/api/desk/*``) and its live event stream.

The kiosk host serves them on the shop's own machine (loopback); they translate
between HTTP and ``zhanye_sdk.merchant`` and hold no rules of their own.

Every request carries the desk token the host was started with, as
``Authorization: Bearer <token>``; the event stream (a WebSocket, where browsers
cannot set headers) may carry it as ``?token=<token>`` instead. Anything else is
refused with 401 before any handler runs, so a page of another site in the shop's
browser, or another user of the machine, can neither read nor change the desk. A client
address that keeps presenting wrong tokens is locked out for a while (429), and with a
:class:`~zhanye_sdk.api.desk_guard.HostCheck` only requests naming the desk's own host
are answered (see :mod:`zhanye_sdk.api.desk_guard`).
"""

from __future__ import annotations

import hmac
import time as _time
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import attrs

from zhanye_sdk.api.desk_guard import HostCheck, TokenGuard
from zhanye_sdk.api.http import ApiError, ApiRequest, ApiResponse, Router, error_response
from zhanye_sdk.devices.at import Line
from zhanye_sdk.devices.sms import SmsGateway
from zhanye_sdk.errors import ConflictError, InvalidInput, ZhanyeError
from zhanye_sdk.merchant.auto_sms_settings import AUTO_SMS_KINDS, AUTO_SMS_PLACEHOLDERS
from zhanye_sdk.merchant.backups import DeskBackups
from zhanye_sdk.merchant.book import check_line
from zhanye_sdk.merchant.bookings import Booked, Bookings
from zhanye_sdk.merchant.bulk import BulkSms
from zhanye_sdk.merchant.calldesk import CallDesk
from zhanye_sdk.merchant.care import CareBook
from zhanye_sdk.merchant.cashier import Cashier, report_sheet
from zhanye_sdk.merchant.confirmations import ConfirmationTemplates
from zhanye_sdk.merchant.desk import MerchantDesk
from zhanye_sdk.merchant.registration import Registration
from zhanye_sdk.merchant.runtime import DeskRuntime, SimRegistration
from zhanye_sdk.merchant.sim_status import registration_status
from zhanye_sdk.merchant.sms_library import SmsTemplates
from zhanye_sdk.merchant.transfer import export_customers, import_customers, template
from zhanye_sdk.signaling.handshake import handshake_credentials
from zhanye_sdk.wire import structure, unstructure

__all__ = ["EVENTS_PATH", "MerchantApi", "PhoneControl"]

#: Where hosts serve :meth:`MerchantApi.events`.
EVENTS_PATH = "/ws/desk"
_MIN_TOKEN = 8
_SHEETS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class PhoneControl(Protocol):
    """What the desk can do with the phone line."""

    async def answer(self, line: Line | None = None) -> None:
        """Pick up the ringing call (on ``line``; None: the one that rings)."""
        ...

    async def hangup(self, line: Line | None = None) -> None:
        """End the current call (on ``line``; None: the one with a call)."""
        ...

    async def dial(self, number: str) -> None:
        """Call ``number`` (ATD)."""
        ...


@attrs.frozen
class ReserveForm:
    resource_id: int
    party_size: int
    start: datetime
    end: datetime
    customer_id: int | None = None
    notes: str | None = None
    phone: str | None = None
    name: str | None = None


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
    phone: str | None = None
    name: str | None = None
    gender: str | None = None


@attrs.frozen
class DialForm:
    number: str
    line: str = "gsm"


@attrs.frozen
class LineForm:
    #: ``gsm`` or ``pstn``; None: the line that rings (answer) or has a call (hang up).
    line: str | None = None


@attrs.frozen
class TemplateForm:
    name: str
    text: str


@attrs.frozen
class QuoteForm:
    items: list[tuple[str, int, str]]
    paid: str | None = None
    phone: str | None = None


@attrs.frozen
class ChangeForm:
    start: datetime | None = None
    end: datetime | None = None
    party_size: int | None = None
    resource_id: int | None = None


@attrs.frozen
class ResourceForm:
    name: str
    kind: str
    capacity: int


@attrs.frozen
class BookingNotesForm:
    notes: str | None


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


@attrs.frozen
class VoidForm:
    reason: str


@attrs.frozen
class NoteForm:
    notes: str


@attrs.frozen
class LevelForm:
    name: str
    discount: str


@attrs.frozen
class AutoSmsForm:
    template: str
    enabled: bool
    cooldown_s: int
    quiet_start: str | None = None
    quiet_end: str | None = None


@attrs.frozen
class GroupForm:
    name: str


@attrs.frozen
class AssignForm:
    customer_ids: list[int]


@attrs.frozen
class CardGroupsForm:
    group_ids: list[int]


@attrs.frozen
class MemberForm:
    level_id: int | None


@attrs.frozen
class CareForm:
    birthday_enabled: bool
    birthday_template: str
    send_at: str


@attrs.frozen
class HolidayForm:
    name: str
    day: str
    template: str
    send_at: str = "09:00"


def _json(value: Any) -> Any:
    return unstructure(value)


class MerchantApi:
    """Customers, reservations, the phone line and reports for the desk page."""

    def __init__(
        self,
        desk: MerchantDesk,
        calldesk: CallDesk,
        phone: PhoneControl,
        sms_gateway: SmsGateway,
        templates: ConfirmationTemplates | None = None,
        registration: Callable[[], Registration | None] = lambda: None,
        *,
        desk_token: str,
        runtime: DeskRuntime | None = None,
        hosts: HostCheck | None = None,
        guard: TokenGuard | None = None,
        sim: SimRegistration | None = None,
        backups: DeskBackups | None = None,
    ) -> None:
        if len(desk_token) < _MIN_TOKEN:
            raise InvalidInput(f"the desk token is at least {_MIN_TOKEN} characters")
        self._token = desk_token.encode()
        self.runtime = runtime
        self.hosts = hosts
        self.guard = guard or TokenGuard(_time.monotonic)
        self.desk = desk
        self.templates = templates or ConfirmationTemplates()
        #: The shop's time zone: the board, reports, texts and the page use its local time.
        self.timezone = self.templates.timezone or desk.timezone
        self.zone = ZoneInfo(self.timezone)
        self.care = CareBook(desk.db, self.timezone)
        self.registration = registration
        #: The SIM's registration with the platform (the 注册 screen); None when the
        #: host decides the registration itself.
        self.sim = sim
        #: The backup screen's backups (None: the desk's database is not SQLite).
        self.backups = backups
        self.bulk = BulkSms(desk, sms_gateway, self.timezone)
        self.calldesk = calldesk
        self.phone = phone
        self.sms = sms_gateway
        #: Reservations that text the customer (new, changed, cancelled).
        self.bookings = Bookings(desk, sms_gateway, self.templates)
        #: The cashier (流水录入).
        self.cashier = Cashier(desk)
        #: The SMS template library (短信模板).
        self.sms_library = SmsTemplates(desk.db)
        self.router = Router()
        r = self.router.add
        r("GET", "/api/desk/status", self.status)
        r("GET", "/api/desk/customers", self.search)
        r("GET", "/api/desk/customers/{customer_id}", self.card)
        r("PATCH", "/api/desk/customers/{customer_id}", self.edit)
        r("GET", "/api/desk/resources", self.resources)
        r("POST", "/api/desk/resources", self.add_resource)
        r("PATCH", "/api/desk/resources/{resource_id}", self.edit_resource)
        r("DELETE", "/api/desk/resources/{resource_id}", self.remove_resource)
        r("PUT", "/api/desk/reservations/{reservation_id}/notes", self.note_booking)
        r("POST", "/api/desk/reservations", self.reserve)
        r("GET", "/api/desk/reservations", self.board)
        r("PATCH", "/api/desk/reservations/{reservation_id}", self.change)
        r("POST", "/api/desk/reservations/{reservation_id}/cancel", self.cancel)
        r("POST", "/api/desk/reservations/{reservation_id}/check-out", self.check_out)
        r("POST", "/api/desk/call/answer", self.answer)
        r("POST", "/api/desk/call/hangup", self.hangup)
        r("POST", "/api/desk/call/dial", self.dial)
        r("GET", "/api/desk/backups", self.list_backups)
        r("POST", "/api/desk/backups", self.back_up)
        r("POST", "/api/desk/backups/{name}/restore", self.restore_backup)
        r("GET", "/api/desk/registration", self.registration_screen)
        r("POST", "/api/desk/registration", self.register)
        r("POST", "/api/desk/sms/preview", self.sms_preview)
        r("POST", "/api/desk/sms/send", self.sms_send)
        r("GET", "/api/desk/sms/outbox", self.sms_outbox)
        r("GET", "/api/desk/sms/inbox", self.sms_inbox)
        r("GET", "/api/desk/sms/templates", self.sms_templates)
        r("POST", "/api/desk/sms/templates", self.add_sms_template)
        r("PATCH", "/api/desk/sms/templates/{template_id}", self.edit_sms_template)
        r("DELETE", "/api/desk/sms/templates/{template_id}", self.delete_sms_template)
        r("POST", "/api/desk/ledger", self.bill)
        r("POST", "/api/desk/ledger/quote", self.quote)
        r("GET", "/api/desk/ledger/report", self.report)
        r("GET", "/api/desk/ledger/export", self.report_export)
        r("GET", "/api/desk/ledger/bills", self.bills)
        r("POST", "/api/desk/ledger/{entry_id}/void", self.void)
        r("GET", "/api/desk/shop", self.shop)
        r("PUT", "/api/desk/calls/{call_id}/notes", self.note_call)
        r("GET", "/api/desk/calls", self.call_log)
        r("GET", "/api/desk/calls/missed", self.missed_reminder)
        r("GET", "/api/desk/auto-sms", self.auto_sms)
        r("PUT", "/api/desk/auto-sms/{kind}", self.save_auto_sms)
        r("GET", "/api/desk/levels", self.levels)
        r("POST", "/api/desk/levels", self.add_level)
        r("PATCH", "/api/desk/levels/{level_id}", self.edit_level)
        r("PUT", "/api/desk/customers/{customer_id}/level", self.set_level)
        r("GET", "/api/desk/care", self.care_settings)
        r("PUT", "/api/desk/care", self.save_care)
        r("POST", "/api/desk/care/holidays", self.add_holiday)
        r("PATCH", "/api/desk/care/holidays/{holiday_id}", self.edit_holiday)
        r("DELETE", "/api/desk/care/holidays/{holiday_id}", self.delete_holiday)
        r("GET", "/api/desk/groups", self.groups)
        r("POST", "/api/desk/groups", self.add_group)
        r("PATCH", "/api/desk/groups/{group_id}", self.rename_group)
        r("DELETE", "/api/desk/groups/{group_id}", self.delete_group)
        r("GET", "/api/desk/groups/{group_id}/members", self.group_members)
        r("POST", "/api/desk/groups/{group_id}/members", self.assign_group)
        r("DELETE", "/api/desk/groups/{group_id}/members/{customer_id}", self.unassign_group)
        r("PUT", "/api/desk/customers/{customer_id}/groups", self.set_groups)
        r("GET", "/api/desk/book/template", self.book_template)
        r("GET", "/api/desk/book/export", self.book_export)
        r("POST", "/api/desk/book/import", self.book_import)

    def check_host(self, host_header: str | None) -> None:
        """Refuse a request that names another host (DNS rebinding), when configured.

        Raises:
            WrongHost: 403.
        """
        if self.hosts is not None:
            self.hosts.check(host_header)

    def authorize(self, request: ApiRequest) -> None:
        """Check the host and the desk token of a request (see the module doc).

        Raises:
            WrongHost: 403 for a host name that is not the desk's.
            RateLimited: 429 while the client is locked out for wrong tokens.
            ApiError: 401 when the token is missing or wrong.
        """
        self.check_host(request.header("Host"))
        self.guard.check(request.client_address)
        given = ""
        if request.path == EVENTS_PATH:
            # A page's WebSocket offers the token as a subprotocol (see signaling.handshake).
            given = handshake_credentials(request.headers, request.query).login_token or ""
        else:
            header = request.header("Authorization") or ""
            scheme, _, token = header.partition(" ")
            given = token.strip() if scheme.lower() == "bearer" else ""
        if not given or not hmac.compare_digest(given.encode(), self._token):
            if given:  # a guess; a page without a token yet is no attack
                self.guard.failed(request.client_address)
            raise ApiError(
                401,
                "authentication_failed",
                "enter the desk token (桌面口令) first",
                zh="请先输入桌面口令",
            )

    async def handle(self, request: ApiRequest) -> ApiResponse:
        """Answer one request (401 without the desk token)."""
        try:
            self.authorize(request)
        except (ApiError, ZhanyeError) as exc:
            return error_response(exc)
        return await self.router.dispatch(request)

    def desk_status(self) -> dict[str, Any]:
        """The desk's state (phone connected / unplugged / SIM not registered / error)."""
        if self.runtime is not None:
            return dict(_json(self.runtime.status()))
        connected = getattr(self.phone, "connected", True)
        return {"state": "connected" if connected else "unplugged", "detail": ""}

    async def status(self, request: ApiRequest) -> ApiResponse:
        """The desk's state (see :meth:`desk_status`)."""
        return ApiResponse.of_json(self.desk_status())

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Desk events (pop-ups, automatic SMS, the desk's state) as JSON-able data, as
        they happen; the desk's current state first."""
        stream = self.calldesk.subscribe()
        async with stream:
            yield {"type": "DeskStatus", "data": self.desk_status()}
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
            "group_ids": [g.id for g in await self.desk.groups.of_customer(customer_id)],
        }

    @staticmethod
    def _id(text: str) -> int:
        if not text.isdigit():
            raise InvalidInput("ids are whole numbers", zh="编号须为整数，请刷新后重试")
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

    async def add_resource(self, request: ApiRequest) -> ApiResponse:
        """A room or table: ``{"name": "牡丹厅", "kind": "room"|"table", "capacity": 10}``."""
        form = structure(request.json(), ResourceForm)
        made = await self.desk.reservations.add_resource(
            form.name, kind=form.kind, capacity=form.capacity
        )
        return ApiResponse.of_json(_json(made), 201)

    async def edit_resource(self, request: ApiRequest, resource_id: str) -> ApiResponse:
        form = structure(request.json(), ResourceForm)
        changed = await self.desk.reservations.update_resource(
            self._id(resource_id), name=form.name, kind=form.kind, capacity=form.capacity
        )
        return ApiResponse.of_json(_json(changed))

    async def remove_resource(self, request: ApiRequest, resource_id: str) -> ApiResponse:
        await self.desk.reservations.remove_resource(self._id(resource_id))
        return ApiResponse.of_json({"ok": True})

    def _booked(self, booked: Booked, status: int = 200) -> ApiResponse:
        return ApiResponse.of_json(
            {
                "reservation": _json(booked.reservation),
                "sms": booked.sms,
                "sms_blocked": self._held() if booked.sms is not None else None,
            },
            status,
        )

    async def note_booking(self, request: ApiRequest, reservation_id: str) -> ApiResponse:
        """The booking's notes (备注), not texted: ``{"notes": "靠窗"}``."""
        form = structure(request.json(), BookingNotesForm)
        return self._booked(await self.bookings.note(self._id(reservation_id), form.notes))

    def _local(self, moment: datetime) -> datetime:
        """A time from the page: one without an offset is the shop's local time."""
        return moment if moment.tzinfo else moment.replace(tzinfo=self.zone)

    async def shop(self, request: ApiRequest) -> ApiResponse:
        """The shop's name and time zone (the page shows every time in it), and now."""
        now = self.desk.clock.now().astimezone(self.zone)
        return ApiResponse.of_json(
            {"name": self.templates.shop, "timezone": self.timezone, "now": _json(now)}
        )

    async def reserve(self, request: ApiRequest) -> ApiResponse:
        """Book a room or table for a customer (``customer_id``, or ``phone`` and ``name``
        typed at the desk); the customer is texted."""
        form = structure(request.json(), ReserveForm)
        customer_id = form.customer_id
        if customer_id is None:
            if not form.phone:
                raise InvalidInput(
                    "a booking names a customer or a phone number",
                    zh="请选择顾客或填写顾客电话",
                )
            customer_id = (await self.bookings.customer(form.phone, form.name)).id
        booked = await self.bookings.book(
            form.resource_id,
            customer_id,
            form.party_size,
            self._local(form.start),
            self._local(form.end),
            form.notes,
        )
        return self._booked(booked, 201)

    def _held(self) -> dict[str, Any] | None:
        """Why the gateway holds SMS back now (its lock's error body), or None."""
        locked = getattr(self.sms, "locked", None)
        refusal = locked() if callable(locked) else None
        if refusal is None:
            return None
        return dict(error_response(refusal).json()["error"])

    @staticmethod
    def _line(request: ApiRequest) -> Line | None:
        form = structure(request.json(), LineForm)
        return None if form.line in (None, "") else Line(check_line(str(form.line)))

    async def answer(self, request: ApiRequest) -> ApiResponse:
        """Answer the ringing call: ``{"line": "gsm"|"pstn"}`` picks the line (the
        pop-up's); without it, the line that rings."""
        await self.phone.answer(self._line(request))
        return ApiResponse.of_json({"ok": True})

    async def hangup(self, request: ApiRequest) -> ApiResponse:
        """Hang up or reject: ``{"line": …}`` as for :meth:`answer`."""
        await self.phone.hangup(self._line(request))
        return ApiResponse.of_json({"ok": True})

    def _backups(self) -> DeskBackups:
        if self.backups is None:
            raise ConflictError(
                "this desk's database is backed up by its server",
                zh="本机数据库由服务器备份，无法在此备份或恢复",
            )
        return self.backups

    async def list_backups(self, request: ApiRequest) -> ApiResponse:
        """The backups, newest first, each verified (数据备份与恢复)."""
        return ApiResponse.of_json({"items": _json(await self._backups().list())})

    async def back_up(self, request: ApiRequest) -> ApiResponse:
        """A verified backup now; its pages go out on the live stream as they are copied."""
        made = await self._backups().back_up(self.calldesk.publish)
        return ApiResponse.of_json(_json(made), 201)

    async def restore_backup(self, request: ApiRequest, name: str) -> ApiResponse:
        """Restore a backup; the current data is kept as a backup first. Each step and
        its pages go out on the desk's live stream (:class:`BackupStep`)."""
        done = await self._backups().restore(name, self.calldesk.publish)
        return ApiResponse.of_json(_json(done))

    async def _sim(self) -> tuple[str, str | None] | None:
        if self.sim is not None and self.sim.sim is not None:
            return self.sim.sim
        info = getattr(self.phone, "info", None)
        if info is None or not getattr(self.phone, "connected", False):
            return None
        found = await info()
        return (found.iccid or "", found.imsi)

    async def registration_screen(self, request: ApiRequest) -> ApiResponse:
        """注册: the SIM (ICCID, IMSI), its registration, signature and today's quota left,
        and why SMS features are locked until it is registered."""
        status = await registration_status(self.desk, self.registration, await self._sim())
        return ApiResponse.of_json(_json(status))

    async def register(self, request: ApiRequest) -> ApiResponse:
        """注册: ask the management platform about the SIM in the phone now."""
        if self.sim is None:
            raise ConflictError(
                "this desk's registration is set by its host",
                zh="本机的注册由主机配置决定，无需在此注册",
            )
        await self.sim.register()
        return await self.registration_screen(request)

    async def dial(self, request: ApiRequest) -> ApiResponse:
        """Call a number from the desk phone (点击拨号): ``{"number": "138…"}``; calls go
        out on the SIM's line (``"line": "pstn"`` is refused with the reason)."""
        form = structure(request.json(), DialForm)
        dialled = await self.calldesk.dial(self.phone, form.number, form.line)
        return ApiResponse.of_json({"number": dialled})

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

    async def sms_inbox(self, request: ApiRequest) -> ApiResponse:
        """Received SMS, newest first (``?customer_id=``: one customer's)."""
        query = request.query
        customer_id = self._id(query["customer_id"]) if query.get("customer_id") else None
        found = await self.desk.inbox.messages(customer_id=customer_id)
        names: dict[int, str] = {}
        items = []
        for message in found:
            if message.customer_id is not None and message.customer_id not in names:
                customer = await self.desk.customers.get(message.customer_id)
                names[message.customer_id] = customer.name or ""
            items.append({**_json(message), "name": names.get(message.customer_id or 0, "")})
        return ApiResponse.of_json({"items": items})

    async def sms_templates(self, request: ApiRequest) -> ApiResponse:
        """The template library (新品通知, 降价优惠, 节日祝福 …)."""
        return ApiResponse.of_json({"items": _json(await self.sms_library.all())})

    async def add_sms_template(self, request: ApiRequest) -> ApiResponse:
        form = structure(request.json(), TemplateForm)
        return ApiResponse.of_json(_json(await self.sms_library.add(form.name, form.text)), 201)

    async def edit_sms_template(self, request: ApiRequest, template_id: str) -> ApiResponse:
        form = structure(request.json(), TemplateForm)
        changed = await self.sms_library.update(self._id(template_id), form.name, form.text)
        return ApiResponse.of_json(_json(changed))

    async def delete_sms_template(self, request: ApiRequest, template_id: str) -> ApiResponse:
        await self.sms_library.delete(self._id(template_id))
        return ApiResponse.of_json({"ok": True})

    async def sms_outbox(self, request: ApiRequest) -> ApiResponse:
        """How many messages wait, and the newest ones with their fate (``sent``,
        ``in_doubt``, ``blocked`` with the reason …)."""
        pending = await self.sms.pending() if hasattr(self.sms, "pending") else 0
        recent = await self.sms.recent(30) if hasattr(self.sms, "recent") else []
        return ApiResponse.of_json(
            {"pending": pending, "items": _json(recent), "blocked": self._held()}
        )

    async def bill(self, request: ApiRequest) -> ApiResponse:
        """A paid bill (流水录入) for a customer of the book (``customer_id``), a number
        (``phone``, with ``name``/``gender``: put in the book when new) or a walk-in."""
        form = structure(request.json(), BillForm)
        if form.customer_id is not None:
            entry = await self.desk.ledger.record(
                list(form.items), form.paid, customer_id=form.customer_id
            )
        else:
            entry = await self.cashier.bill(
                list(form.items), form.paid, phone=form.phone, name=form.name, gender=form.gender
            )
        return ApiResponse.of_json(_json(entry), 201)

    async def quote(self, request: ApiRequest) -> ApiResponse:
        """What a bill comes to before it is paid (member rate, payable, change)."""
        form = structure(request.json(), QuoteForm)
        found = await self.cashier.quote(list(form.items), form.paid, phone=form.phone)
        return ApiResponse.of_json(_json(found))

    async def _report(self, request: ApiRequest) -> tuple[str, list[Any], Any]:
        kind = request.query.get("kind", "day")
        now = self.desk.clock.now()
        start = now - timedelta(
            days={"day": 31, "month": 366, "quarter": 3 * 366, "year": 5 * 366}.get(kind, 31)
        )
        rows, total = await self.cashier.report(kind, start, now + timedelta(days=1))
        return kind, rows, total

    async def report(self, request: ApiRequest) -> ApiResponse:
        """Totals per day (31 days), month, quarter or year (``?kind=``), and 合计."""
        _, rows, total = await self._report(request)
        return ApiResponse.of_json({"rows": _json(rows), "total": _json(total)})

    async def report_export(self, request: ApiRequest) -> ApiResponse:
        """The report as a sheet (``?kind=…&format=csv|xlsx``)."""
        fmt = self._format(request)
        kind, rows, total = await self._report(request)
        return self._sheet(report_sheet(kind, rows, total, fmt), fmt, f"ledger-{kind}")

    async def bills(self, request: ApiRequest) -> ApiResponse:
        """The latest bills (the last 31 days), voided ones marked."""
        now = self.desk.clock.now()
        entries = await self.desk.ledger.entries(now - timedelta(days=31), now + timedelta(days=1))
        return ApiResponse.of_json({"items": _json(entries)})

    async def void(self, request: ApiRequest, entry_id: str) -> ApiResponse:
        """Void a bill (冲红) with a reason: ``{"reason": "…"}``."""
        form = structure(request.json(), VoidForm)
        entry = await self.desk.ledger.void(self._id(entry_id), form.reason)
        return ApiResponse.of_json(_json(entry))

    async def board(self, request: ApiRequest) -> ApiResponse:
        """The reservations of one local day (``?day=YYYY-MM-DD``, default today), or with
        ``?q=`` (a name or number, ``&day=`` optional) the bookings found, in any state."""
        zone = self.zone
        text = request.query.get("day")
        try:
            day = (
                date.fromisoformat(text) if text else self.desk.clock.now().astimezone(zone).date()
            )
        except ValueError as exc:
            raise InvalidInput(
                "day must be YYYY-MM-DD", zh="日期须为“年-月-日”格式，如 2027-02-06"
            ) from exc
        if "q" in request.query:
            query = request.query["q"]
            if len(query) > 64:
                raise InvalidInput("a search is at most 64 characters", zh="查找内容最多 64 个字")
            found = await self.desk.reservations.search(query, day=day if text else None)
        else:
            start = datetime.combine(day, time(0), zone)
            found = await self.desk.reservations.on_day(start, start + timedelta(days=1))
        names = {r.id: r.name for r in await self.desk.reservations.resources(retired=True)}
        items = []
        for reservation in found:
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
        """Move a booking (time, room/table) or change the party; the customer is texted."""
        form = structure(request.json(), ChangeForm)
        booked = await self.bookings.change(
            self._id(reservation_id),
            start=self._local(form.start) if form.start else None,
            end=self._local(form.end) if form.end else None,
            party_size=form.party_size,
            resource_id=form.resource_id,
        )
        return self._booked(booked)

    async def cancel(self, request: ApiRequest, reservation_id: str) -> ApiResponse:
        """Cancel a booking; the customer is texted."""
        return self._booked(await self.bookings.cancel(self._id(reservation_id)))

    async def check_out(self, request: ApiRequest, reservation_id: str) -> ApiResponse:
        form = structure(request.json(), CheckOutForm)
        entry = await self.desk.check_out(self._id(reservation_id), list(form.items), form.paid)
        return ApiResponse.of_json(_json(entry), 201)

    async def note_call(self, request: ApiRequest, call_id: str) -> ApiResponse:
        """Write the conversation notes of a call (沟通内容)."""
        form = structure(request.json(), NoteForm)
        await self.desk.customers.note_call(self._id(call_id), form.notes)
        return ApiResponse.of_json({"ok": True})

    async def call_log(self, request: ApiRequest) -> ApiResponse:
        """The call log (通信记录): ``?kind=missed|answered|rejected|outgoing``,
        ``&day=YYYY-MM-DD`` (the shop's calendar), ``&customer=`` (number or name),
        ``&customer_id=``, ``&line=gsm|pstn`` (the SIM's line or the landline port)."""
        query = request.query
        day = None
        if query.get("day"):
            try:
                day = date.fromisoformat(query["day"])
            except ValueError as exc:
                raise InvalidInput(
                    "day is YYYY-MM-DD", zh="日期须为“年-月-日”格式，如 2026-03-06"
                ) from exc
        customer_id = self._id(query["customer_id"]) if query.get("customer_id") else None
        found = await self.desk.calls.search(
            kind=query.get("kind") or None,
            day=day,
            customer=query.get("customer", ""),
            customer_id=customer_id,
            line=query.get("line") or None,
        )
        items = [{**_json(e), "display_name": e.display_name} for e in found]
        return ApiResponse.of_json({"items": items})

    async def missed_reminder(self, request: ApiRequest) -> ApiResponse:
        """Missed calls of the last day nobody has talked to since (滚动提醒)."""
        found = await self.desk.calls.recent_missed()
        return ApiResponse.of_json(
            {"items": [{**_json(e), "display_name": e.display_name} for e in found]}
        )

    # ---- automatic messages (系统设置 → 挂机短信, 未接来电回复) -----------------------------

    async def _auto_sms(self) -> dict[str, Any]:
        rules = self.calldesk.rules
        defaults = {"hang_up": rules.hang_up, "missed": rules.missed}
        return {
            "placeholders": sorted(AUTO_SMS_PLACEHOLDERS),
            **{
                kind: _json(await self.desk.auto_sms.rule(kind, defaults[kind]))
                for kind in AUTO_SMS_KINDS
            },
        }

    async def auto_sms(self, request: ApiRequest) -> ApiResponse:
        """The hang-up SMS and the missed-call reply as they apply now."""
        return ApiResponse.of_json(await self._auto_sms())

    async def save_auto_sms(self, request: ApiRequest, kind: str) -> ApiResponse:
        """Keep the shop's setting of one automatic message."""
        form = structure(request.json(), AutoSmsForm)
        await self.desk.auto_sms.save(
            kind,
            template=form.template,
            enabled=form.enabled,
            quiet_start=form.quiet_start,
            quiet_end=form.quiet_end,
            cooldown_s=form.cooldown_s,
        )
        return ApiResponse.of_json(await self._auto_sms())

    # ---- membership levels ------------------------------------------------------------

    async def levels(self, request: ApiRequest) -> ApiResponse:
        """Every membership level."""
        return ApiResponse.of_json({"items": _json(await self.desk.customers.levels())})

    async def add_level(self, request: ApiRequest) -> ApiResponse:
        """A new level (``{"name": "金卡", "discount": "0.88"}``)."""
        form = structure(request.json(), LevelForm)
        level = await self.desk.customers.add_level(form.name, form.discount)
        return ApiResponse.of_json(_json(level), 201)

    async def edit_level(self, request: ApiRequest, level_id: str) -> ApiResponse:
        """Rename a level or change its discount rate."""
        form = structure(request.json(), LevelForm)
        level = await self.desk.customers.update_level(self._id(level_id), form.name, form.discount)
        return ApiResponse.of_json(_json(level))

    async def set_level(self, request: ApiRequest, customer_id: str) -> ApiResponse:
        """Give a customer a level (``{"level_id": null}`` for none)."""
        form = structure(request.json(), MemberForm)
        await self.desk.customers.set_level(self._id(customer_id), form.level_id)
        return ApiResponse.of_json(await self._card(self._id(customer_id)))

    # ---- customer groups ----------------------------------------------------------------

    async def groups(self, request: ApiRequest) -> ApiResponse:
        """Every customer group with its member count."""
        return ApiResponse.of_json({"items": _json(await self.desk.groups.all())})

    async def add_group(self, request: ApiRequest) -> ApiResponse:
        """A new group (``{"name": "老顾客"}``)."""
        form = structure(request.json(), GroupForm)
        return ApiResponse.of_json(_json(await self.desk.groups.create(form.name)), 201)

    async def rename_group(self, request: ApiRequest, group_id: str) -> ApiResponse:
        """Rename a group."""
        form = structure(request.json(), GroupForm)
        group = await self.desk.groups.rename(self._id(group_id), form.name)
        return ApiResponse.of_json(_json(group))

    async def delete_group(self, request: ApiRequest, group_id: str) -> ApiResponse:
        """Delete an empty group (refused while customers are in it)."""
        await self.desk.groups.delete(self._id(group_id))
        return ApiResponse.of_json({"ok": True})

    async def group_members(self, request: ApiRequest, group_id: str) -> ApiResponse:
        """The group and its customers."""
        gid = self._id(group_id)
        group = await self.desk.groups.get(gid)
        members = [await self.desk.customers.get(i) for i in await self.desk.groups.member_ids(gid)]
        return ApiResponse.of_json({"group": _json(group), "items": _json(members)})

    async def assign_group(self, request: ApiRequest, group_id: str) -> ApiResponse:
        """Put customers in a group (``{"customer_ids": [1, 2]}``)."""
        form = structure(request.json(), AssignForm)
        group = await self.desk.groups.assign(self._id(group_id), form.customer_ids)
        return ApiResponse.of_json(_json(group))

    async def unassign_group(
        self, request: ApiRequest, group_id: str, customer_id: str
    ) -> ApiResponse:
        """Take a customer out of a group."""
        await self.desk.groups.remove(self._id(group_id), self._id(customer_id))
        return ApiResponse.of_json({"ok": True})

    async def set_groups(self, request: ApiRequest, customer_id: str) -> ApiResponse:
        """The groups a customer is in (``{"group_ids": [1]}``)."""
        form = structure(request.json(), CardGroupsForm)
        await self.desk.groups.set_for_customer(self._id(customer_id), form.group_ids)
        return ApiResponse.of_json(await self._card(self._id(customer_id)))

    # ---- customer care ----------------------------------------------------------------

    async def _care(self) -> dict[str, Any]:
        return {
            "settings": _json(await self.care.settings()),
            "holidays": _json(await self.care.holidays()),
        }

    async def care_settings(self, request: ApiRequest) -> ApiResponse:
        """The birthday settings and the holiday greetings."""
        return ApiResponse.of_json(await self._care())

    async def save_care(self, request: ApiRequest) -> ApiResponse:
        """Save the birthday settings."""
        form = structure(request.json(), CareForm)
        await self.care.save_settings(
            birthday_enabled=form.birthday_enabled,
            birthday_template=form.birthday_template,
            send_at=form.send_at,
        )
        return ApiResponse.of_json(await self._care())

    async def add_holiday(self, request: ApiRequest) -> ApiResponse:
        """Add a holiday greeting."""
        form = structure(request.json(), HolidayForm)
        await self.care.add_holiday(form.name, form.day, form.template, form.send_at)
        return ApiResponse.of_json(await self._care(), 201)

    async def edit_holiday(self, request: ApiRequest, holiday_id: str) -> ApiResponse:
        """Edit a holiday greeting."""
        form = structure(request.json(), HolidayForm)
        await self.care.update_holiday(
            self._id(holiday_id), form.name, form.day, form.template, form.send_at
        )
        return ApiResponse.of_json(await self._care())

    async def delete_holiday(self, request: ApiRequest, holiday_id: str) -> ApiResponse:
        """Remove a holiday greeting."""
        await self.care.delete_holiday(self._id(holiday_id))
        return ApiResponse.of_json(await self._care())

    # ---- import / export of the customer book ------------------------------------------

    @staticmethod
    def _format(request: ApiRequest) -> str:
        fmt = request.query.get("format", "csv")
        if fmt not in _SHEETS:
            raise InvalidInput("format is csv or xlsx", zh="文件格式须为 csv 或 xlsx")
        return fmt

    @staticmethod
    def _sheet(data: bytes, fmt: str, stem: str) -> ApiResponse:
        return ApiResponse(
            200,
            data,
            _SHEETS[fmt],
            headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'},
        )

    async def book_template(self, request: ApiRequest) -> ApiResponse:
        """The import template (``?format=csv|xlsx``)."""
        fmt = self._format(request)
        return self._sheet(template(fmt), fmt, "customers-template")

    async def book_export(self, request: ApiRequest) -> ApiResponse:
        """Every customer as a sheet (``?format=csv|xlsx``)."""
        fmt = self._format(request)
        return self._sheet(await export_customers(self.desk.customers, fmt), fmt, "customers")

    async def book_import(self, request: ApiRequest) -> ApiResponse:
        """Import the request body (a CSV or XLSX file; ``?format=``); per-row errors."""
        report = await import_customers(self.desk.customers, request.body, self._format(request))
        return ApiResponse.of_json(_json(report))
