"""``CallDesk``: the desk phone's calls turned into pop-ups, history and automatic SMS.

It consumes the modem's call events (``zhanye_sdk.devices``): an incoming call
captures the number (未知客户 when new) and opens a pop-up with the customer's card,
recent calls and upcoming reservations; when the call ends the pop-up closes, the call
goes into the history (answered or missed), and — within the quiet hours and cooldown
of its rule — the caller gets the hang-up SMS (answered) or the missed-call reply.

Whatever the device says is input, not trusted: a caller ID that is no phone number
(``abc``, ``*``, a service number of two digits, 25 digits) is shown and recorded as
"number unreadable", like a withheld one, and no single event can end :meth:`CallDesk.run`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import anyio
import attrs
import sqlalchemy as sa
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from zhanye_sdk.clock import to_ms
from zhanye_sdk.devices.at_errors import AtCommandError
from zhanye_sdk.devices.calls import (
    CallAnswered,
    CallDirection,
    CallEnded,
    IncomingCall,
    OutgoingCall,
)
from zhanye_sdk.devices.modem import SmsReceived
from zhanye_sdk.devices.sms import SmsGateway
from zhanye_sdk.errors import ConflictError, InvalidInput, ZhanyeError
from zhanye_sdk.merchant.auto_sms import AutoSmsRule, should_send
from zhanye_sdk.merchant.backups import BackupStep
from zhanye_sdk.merchant.book import CallRecord, Customer, check_line, normalize_number
from zhanye_sdk.merchant.desk import MerchantDesk
from zhanye_sdk.merchant.inbox import InboxMessage
from zhanye_sdk.merchant.numbers import is_mobile
from zhanye_sdk.merchant.registration import Registration
from zhanye_sdk.merchant.reservations import Reservation
from zhanye_sdk.merchant.schema import auto_sms_log, calls
from zhanye_sdk.merchant.templates import fill

__all__ = [
    "AutoSmsSent",
    "CallDesk",
    "CallDialled",
    "CallDeskRules",
    "DeskStatus",
    "Dialler",
    "PopUpClosed",
    "PopUpOpened",
    "PopUpUpdated",
    "SmsArrived",
    "readable_number",
]

log = logging.getLogger(__name__)

#: What a caller ID that is no phone number is recorded as (at most 20 characters).
_UNREADABLE_MAX = 20


def readable_number(caller_id: str | None) -> str | None:
    """The caller's number as the desk stores it, or None when the device gave none
    or something that is no phone number."""
    if not caller_id:
        return None
    try:
        return normalize_number(caller_id)
    except (ZhanyeError, ValueError):
        return None


@attrs.frozen
class CallDeskRules:
    """The two automatic messages as built in, until the shop saves its own (系统设置,
    :class:`~zhanye_sdk.merchant.auto_sms_settings.AutoSmsSettings`); ``{name}`` and
    ``{shop}`` are filled in."""

    shop: str = "本店"
    hang_up: AutoSmsRule = AutoSmsRule(template="{name}您好，感谢致电{shop}，期待您的光临！")
    missed: AutoSmsRule = AutoSmsRule(
        template="{name}您好，{shop}刚才未能接听您的来电，我们会尽快回电。"
    )
    timezone: str = "Asia/Shanghai"


@attrs.frozen
class PopUpOpened:
    """An incoming call: show this card (one pop-up per call)."""

    call_id: int
    number: str | None
    withheld: bool
    customer: Customer | None
    known: bool
    recent_calls: tuple[CallRecord, ...]
    upcoming: tuple[Reservation, ...]
    #: The caller ID as the device sent it when it is no phone number (shown, not used).
    unreadable: str | None = None
    #: The desk phone's line it rings on: ``gsm`` (the SIM's number) or ``pstn`` (the
    #: shop's old landline number on the phone's PSTN port, 一机双号).
    line: str = "gsm"


@attrs.frozen
class PopUpUpdated:
    """The call was answered."""

    call_id: int
    answered: bool


@attrs.frozen
class PopUpClosed:
    """The call ended; ``missed`` when nobody answered."""

    call_id: int
    missed: bool
    duration_s: int
    call: CallRecord | None


@attrs.frozen
class AutoSmsSent:
    """An automatic SMS went to the outbox (or was skipped, with the reason)."""

    call_id: int
    number: str
    kind: str  # hang_up | missed
    sent: bool
    #: ``ok``, or why not: ``disabled``, ``quiet``, ``cooldown``, ``opted_out``,
    #: ``landline`` (the caller's number cannot get an SMS),
    #: ``quota`` (the registration's daily quota is used up), ``blocked`` (the SIM's
    #: registration lock), ``refused`` (the gateway refused it).
    reason: str
    #: The gateway's words when it held back or refused the message.
    detail: str | None = None
    #: The line the call was on; the message itself always goes out on the SIM.
    line: str = "gsm"


@attrs.frozen
class DeskStatus:
    """The desk's state as its header shows it, in words.

    ``state``: ``connected`` (the phone is plugged in and the SIM registered),
    ``unplugged`` (no phone, or it is reconnecting), ``unregistered`` (the SIM has no
    active registration: SMS features are locked), ``error`` (a desk task failed and
    is being restarted; ``detail`` says which and why).
    """

    state: str
    detail: str = ""


@attrs.frozen
class CallDialled:
    """The desk phone is calling out (去电): to whom, as the book knows them."""

    call_id: int
    number: str
    customer: Customer | None


class Dialler(Protocol):
    """What dialling needs from the phone line (``Modem`` provides it)."""

    async def dial(self, number: str) -> None:
        """Call ``number`` (ATD)."""
        ...


@attrs.frozen
class SmsArrived:
    """A received SMS, kept in the inbox; ``message.opt_out`` when it was a 退订/TD
    reply and the number is now on the opt-out list."""

    message: InboxMessage
    #: The sender as the desk names them (the card's name, or the number).
    who: str


DeskEvent = (
    PopUpOpened
    | PopUpUpdated
    | PopUpClosed
    | AutoSmsSent
    | DeskStatus
    | SmsArrived
    | CallDialled
    | BackupStep
)


class CallDesk:
    """Turns call events into desk events; run ``feed`` for each modem event."""

    def __init__(
        self,
        desk: MerchantDesk,
        sms_gateway: SmsGateway,
        rules: CallDeskRules | None = None,
        *,
        registration: Callable[[], Registration | None] | None = None,
    ) -> None:
        """``registration``: the SIM's registration now; its daily quota (shared with
        bulk SMS and greetings) also bounds the automatic messages."""
        self._desk = desk
        self._registration = registration
        self._sms = sms_gateway
        self.rules = rules or CallDeskRules()
        self._zone = ZoneInfo(self.rules.timezone)
        self._open: dict[int, str | None] = {}
        self._listeners: list[MemoryObjectSendStream[DeskEvent]] = []

    def subscribe(self) -> MemoryObjectReceiveStream[DeskEvent]:
        """A stream of desk events (for the kiosk page); close it when done."""
        send, receive = anyio.create_memory_object_stream[DeskEvent](256)
        self._listeners.append(send)
        return receive

    def publish(self, event: DeskEvent) -> None:
        """Send ``event`` to every subscriber (the runtime publishes :class:`DeskStatus`)."""
        for listener in list(self._listeners):
            try:
                listener.send_nowait(event)
            except (anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._listeners.remove(listener)

    async def _emit(self, event: DeskEvent) -> None:
        self.publish(event)

    async def run(self, events: AsyncIterator[object]) -> None:
        """Feed every event of a modem's event stream. An event that cannot be handled
        is logged and skipped: the next call still pops up."""
        async for event in events:
            try:
                await self.feed(event)
            except Exception:
                log.exception("call desk: handling %r failed; carrying on", event)

    async def feed(self, event: object) -> list[DeskEvent]:
        """Handle one modem event; returns (and publishes) the desk events it caused."""
        out: list[DeskEvent] = []
        if isinstance(event, IncomingCall):
            out.append(await self._incoming(event))
        elif isinstance(event, CallAnswered) and event.call_id in self._open:
            out.append(PopUpUpdated(event.call_id, True))
        elif isinstance(event, CallEnded):
            out.extend(await self._ended(event))
        elif isinstance(event, SmsReceived):
            out.append(await self._received(event))
        elif isinstance(event, OutgoingCall):
            number = readable_number(event.number)
            customer = await self._desk.customers.by_phone(number) if number else None
            out.append(CallDialled(event.call_id, event.number, customer))
        for item in out:
            await self._emit(item)
        return out

    async def dial(self, phone: Dialler, number: str, line: str = "gsm") -> str:
        """Call a customer from the desk (点击拨号): ``number`` as typed or from the book
        (+86 and separators are fine) is dialled on the desk phone in its national form;
        the call then shows as :class:`CallDialled` and lands in the call log as 去电.
        Calls go out on the SIM's line only (主叫均由移动SIM卡呼出).

        Raises:
            InvalidInput: not a phone number, or ``line`` is the landline port.
            DeviceDisconnected: the desk phone is not plugged in.
            AtCommandError: the line is busy or nobody answered.
        """
        if line != "gsm":
            check_line(line)
            raise InvalidInput(
                "the landline port only takes calls; calls go out on the SIM",
                zh="座机线路只能接听来电，外呼均经手机卡线路",
            )
        dialled = normalize_number(number)
        try:
            await phone.dial(dialled)
        except AtCommandError as exc:
            why = {"BUSY": "对方忙", "NO ANSWER": "无人接听", "NO CARRIER": "未接通"}
            raise ConflictError(
                f"the call to {dialled} did not go through ({exc.result})",
                zh=f"呼叫 {dialled} 未接通：{why.get(exc.result, exc.result)}",
            ) from exc
        return dialled

    async def _received(self, event: SmsReceived) -> SmsArrived:
        message = await self._desk.inbox.receive(event.sms.sender, event.sms.text)
        who = message.phone
        if message.customer_id is not None:
            customer = await self._desk.customers.get(message.customer_id)
            who = customer.name or message.phone
        return SmsArrived(message, who)

    async def _incoming(self, event: IncomingCall) -> PopUpOpened:
        self._open[event.call_id] = event.number
        line = event.line.value
        if event.withheld or not event.number:
            return PopUpOpened(event.call_id, None, True, None, False, (), (), line=line)
        number = readable_number(event.number)
        if number is None:
            return PopUpOpened(
                event.call_id, None, False, None, False, (), (), unreadable=event.number, line=line
            )
        customer, new = await self._desk.customers.capture(number)
        history = tuple(await self._desk.customers.history(customer.id, limit=5))
        now = self._desk.clock.now()
        upcoming = tuple(
            r
            for r in await self._desk.reservations.on_day(now, now + timedelta(days=30))
            if r.customer_id == customer.id and r.status == "booked"
        )
        return PopUpOpened(
            event.call_id, customer.phone, False, customer, not new, history, upcoming, line=line
        )

    async def _ended(self, event: CallEnded) -> list[DeskEvent]:
        self._open.pop(event.call_id, None)
        out: list[DeskEvent] = []
        now = self._desk.clock.now()
        if event.direction is not CallDirection.INCOMING:
            dialled = readable_number(event.number)
            outgoing = None
            if dialled is not None:
                # In the call log as 去电: answered, or nobody picked up.
                outgoing = await self._desk.customers.record_call(
                    dialled,
                    direction="out",
                    outcome="answered" if event.answered_at else "missed",
                    started_at=now - timedelta(seconds=max(0.0, event.ended_at - event.started_at)),
                    duration_s=int(event.duration),
                )
            out.append(PopUpClosed(event.call_id, event.missed, int(event.duration), outgoing))
            return out
        outcome = "missed" if event.missed else ("answered" if event.answered_at else "rejected")
        started_at = now - timedelta(seconds=max(0.0, event.ended_at - event.started_at))
        number = readable_number(event.number)
        if number is None:
            # Withheld or unreadable: in the call log without a customer.
            shown = "".join(c for c in (event.number or "") if c.isprintable())
            record = await self._record_anonymous(
                shown[:_UNREADABLE_MAX], outcome, started_at, int(event.duration), event.line.value
            )
            out.append(PopUpClosed(event.call_id, event.missed, int(event.duration), record))
            return out
        record = await self._desk.customers.record_call(
            number,
            direction="in",
            outcome=outcome,
            started_at=started_at,
            duration_s=int(event.duration),
            line=event.line.value,
        )
        out.append(PopUpClosed(event.call_id, event.missed, int(event.duration), record))
        if outcome in ("missed", "answered"):
            kind = "missed" if outcome == "missed" else "hang_up"
            result = await self._auto_sms(event.call_id, record.phone, kind, now)
            result = attrs.evolve(result, line=event.line.value)
            await self._note_auto_sms(record.id, result)
            out.append(result)
        return out

    async def _quota_left(self, now: datetime) -> int | None:
        """Messages the registration still allows today (None: no quota known)."""
        registration = self._registration() if self._registration is not None else None
        if registration is None or not registration.active:
            return None  # the gateway's lock holds the message back and says why
        local = now.astimezone(self._zone)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        async with self._desk.db.connect() as conn:
            sent = (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(auto_sms_log)
                    .where(auto_sms_log.c.sent_ms >= to_ms(midnight))
                )
            ).scalar_one()
        return registration.quota_per_day - int(sent)

    async def _note_auto_sms(self, call_id: int, result: AutoSmsSent) -> None:
        """What became of the call's automatic SMS, for the call log."""
        async with self._desk.db.begin() as conn:
            await conn.execute(
                calls.update()
                .where(calls.c.id == call_id)
                .values(
                    auto_sms="sent" if result.sent else result.reason[:16],
                    auto_sms_detail=None if result.sent else result.detail,
                )
            )

    async def _record_anonymous(
        self, shown: str, outcome: str, started_at: datetime, duration_s: int, line: str
    ) -> CallRecord:
        """A call from a withheld (``shown`` empty) or unreadable caller ID."""
        async with self._desk.db.begin() as conn:
            result = await conn.execute(
                calls.insert().values(
                    customer_id=None,
                    phone=shown,
                    direction="in",
                    outcome=outcome,
                    started_ms=to_ms(started_at),
                    duration_s=max(0, duration_s),
                    line=line,
                )
            )
        row_id = result.inserted_primary_key[0] if result.inserted_primary_key else 0
        return CallRecord(
            int(row_id), shown, "in", outcome, started_at, max(0, duration_s), None, line
        )

    async def _auto_sms(self, call_id: int, number: str, kind: str, now: datetime) -> AutoSmsSent:
        default = self.rules.missed if kind == "missed" else self.rules.hang_up
        rule = await self._desk.auto_sms.rule(kind, default)
        now_ms = to_ms(now)
        async with self._desk.db.connect() as conn:
            last = (
                await conn.execute(
                    sa.select(sa.func.max(auto_sms_log.c.sent_ms))
                    .where(auto_sms_log.c.phone == number)
                    .where(auto_sms_log.c.kind == kind)
                )
            ).scalar()
        ok, reason = should_send(rule, now.astimezone(self._zone), last, now_ms)
        if not ok:
            return AutoSmsSent(call_id, number, kind, False, reason)
        if not is_mobile(number):
            # A landline (e.g. a caller on the shop's old fixed line) cannot get an SMS.
            return AutoSmsSent(call_id, number, kind, False, "landline")
        customer = await self._desk.customers.by_phone(number)
        if customer is not None and customer.opted_out:
            return AutoSmsSent(call_id, number, kind, False, "opted_out")
        quota = await self._quota_left(now)
        if quota is not None and quota <= 0:
            return AutoSmsSent(call_id, number, kind, False, "quota", "今日短信额度已用完")
        name = customer.name if customer and customer.name else ""
        text = fill(rule.template, {"name": name, "shop": self.rules.shop})
        try:
            results = await self._sms.send([number], text)
        except ZhanyeError as exc:
            log.warning("call desk: the %s SMS to %s was refused: %s", kind, number, exc)
            return AutoSmsSent(call_id, number, kind, False, "refused", exc.zh or str(exc))
        held = [r for r in results or () if getattr(r, "status", "") == "blocked"]
        if held:
            # Held back (e.g. the SIM is not registered): no cooldown starts.
            lock = getattr(self._sms, "locked", None)
            refusal = lock() if callable(lock) else None
            why = (refusal.zh or str(refusal)) if isinstance(refusal, ZhanyeError) else None
            return AutoSmsSent(
                call_id, number, kind, False, "blocked", why or held[0].error or None
            )
        async with self._desk.db.begin() as conn:
            await conn.execute(
                auto_sms_log.insert().values(phone=number, kind=kind, sent_ms=now_ms)
            )
        return AutoSmsSent(call_id, number, kind, True, "ok")
