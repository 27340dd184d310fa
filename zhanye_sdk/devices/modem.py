"""The ``Modem`` service: drives the AT core, the call tracker and the PDU codec over
a serial transport with anyio.

``async with Modem(url) as modem:`` opens the port in a worker thread, runs the
init sequence (echo off, verbose errors, caller ID, PDU mode, new-message
indications, flow control off), picks up messages stored while nobody listened
(``AT+CMGL``), then serves commands and turns URCs into events read from
``modem.events()``. When the device goes away (unplugged, socket closed) the
command in flight fails with :class:`DeviceDisconnected`, a
:class:`ModemDisconnected` event is sent, and the service reconnects with
exponential backoff, re-running init and the pick-up.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
import re
import time
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Self

import anyio
import attrs
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from zhanye_sdk.devices import pdu
from zhanye_sdk.devices.at import (
    DEFAULT_VENDOR_URCS,
    NEED_DATA,
    AtCommand,
    AtConnection,
    AtEvent,
    CallDisconnected,
    CallerId,
    CallListEntry,
    CommandFailed,
    Line,
    LineConnected,
    MessageDelivered,
    NewMessage,
    PromptReady,
    Response,
    Ring,
    SignalQuality,
    StatusReportDelivered,
    UnparsedLine,
    UrcPlugin,
    UssdReceived,
    VendorUrc,
    parse_csq,
    split_fields,
)
from zhanye_sdk.devices.at_errors import AtCommandError, AtTimeout, CmeError, DeviceDisconnected
from zhanye_sdk.devices.calls import (
    CallEnded,
    CallEvent,
    CallState,
    CallTimings,
    CallTracker,
)
from zhanye_sdk.devices.transport import ByteTransport, open_serial
from zhanye_sdk.errors import DeviceError, InvalidInput, ProtocolError

__all__ = [
    "DeviceInfo",
    "Modem",
    "ModemConfig",
    "ModemConnected",
    "ModemDisconnected",
    "ModemEvent",
    "SmsReceived",
    "StatusReportReceived",
    "SubmitInDoubt",
]

log = logging.getLogger(__name__)


class SubmitInDoubt(DeviceError):
    """The payload of an AT+CMGS went out but no answer came (unplugged, timed out):
    the network may or may not have the message. Not retryable: resending could
    deliver it twice."""

    def __init__(self, command: str, cause: DeviceError) -> None:
        super().__init__(f"{command}: payload sent, then {cause}", code=None, retryable=False)
        self.cause = cause


@attrs.frozen
class ModemConfig:
    """How the service talks to the device (seconds unless said otherwise).

    Args:
        baudrate, rtscts, xonxoff: serial settings (flow control off by default).
        command_timeout: default per-command timeout.
        sms_timeout: timeout of one AT+CMGS (the network may take a while).
        dial_timeout: timeout of ATD / ATA.
        init_attempts: tries per init command on retryable errors (SIM busy …).
        init_retry_delay: pause between those tries.
        reconnect_min, reconnect_max: exponential backoff bounds after a disconnect.
        cnmi: the AT+CNMI setting (default: store SMS and indicate with +CMTI; status
            reports routed with +CDS).
        call_timings: see :class:`CallTimings`.
        pstn_call_timings: the same for the optional landline port (一机双号): its
            caller ID is decoded after the first ring, and rings come every ~5 s.
        reassembly_timeout: how long parts of a multipart SMS wait for the rest.
        tick_interval: period of the housekeeping loop (call timeouts, CLCC polls).
        resync_quiet: after a timed-out command, how long an ``AT`` probe's ``OK`` must
            stand without a stray final result before the line counts as in step.
        vendor_urcs: vendor URC plug-ins.
        smsc: service centre number for sent SMS (None: the SIM's).
        status_reports: ask for delivery reports on sent SMS.
    """

    baudrate: int = 115200
    rtscts: bool = False
    xonxoff: bool = False
    command_timeout: float = 5.0
    sms_timeout: float = 60.0
    dial_timeout: float = 30.0
    init_attempts: int = 20
    init_retry_delay: float = 0.5
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    cnmi: str = "2,1,0,1,0"
    call_timings: CallTimings = attrs.field(factory=CallTimings)
    pstn_call_timings: CallTimings = attrs.field(
        factory=lambda: CallTimings(clip_wait=4.0, ring_timeout=12.0)
    )
    reassembly_timeout: float = 24 * 3600.0
    tick_interval: float = 0.1
    resync_quiet: float = 0.05
    vendor_urcs: tuple[UrcPlugin, ...] = DEFAULT_VENDOR_URCS
    smsc: str | None = None
    status_reports: bool = False


@attrs.frozen
class DeviceInfo:
    """What the device says about itself; None where it would not say."""

    manufacturer: str | None
    model: str | None
    imei: str | None
    imsi: str | None
    iccid: str | None
    own_number: str | None
    operator: str | None
    registration: int | None

    @property
    def registered(self) -> bool:
        """Registered on the home network (1) or roaming (5)."""
        return self.registration in (1, 5)


@attrs.frozen
class ModemConnected:
    """The device is connected and initialised."""

    url: str


@attrs.frozen
class ModemDisconnected:
    """The device went away; the service is reconnecting."""

    url: str
    reason: str


@attrs.frozen
class SmsReceived:
    """A whole received message (multipart reassembled)."""

    sms: pdu.IncomingSms


@attrs.frozen
class StatusReportReceived:
    """A delivery report for a sent message (``message_reference`` as +CMGS gave it)."""

    report: pdu.SmsStatusReport


ModemEvent = (
    CallEvent
    | SmsReceived
    | StatusReportReceived
    | UssdReceived
    | ModemConnected
    | ModemDisconnected
)

Opener = Callable[[str, ModemConfig], AbstractAsyncContextManager[ByteTransport]]


def _default_opener(url: str, config: ModemConfig) -> AbstractAsyncContextManager[ByteTransport]:
    return open_serial(url, baudrate=config.baudrate, rtscts=config.rtscts, xonxoff=config.xonxoff)


_FINAL_RESULTS = (b"OK", b"ERROR", b"+CME ERROR", b"+CMS ERROR")
_DIAL = re.compile(r"\+?[0-9*#]{1,40}")


def _call_end_report(event: AtEvent, line: Line) -> bool:
    """Whether ``event`` says a call on ``line`` ended (``NO CARRIER``, ``^CEND``,
    ``^PSTNEND``)."""
    if isinstance(event, CallDisconnected):
        return event.line is line
    return line is Line.GSM and isinstance(event, VendorUrc) and event.name == "^CEND"


@attrs.define
class _Pending:
    command: AtCommand
    done: anyio.Event
    result: Response | CommandFailed | None = None
    payload_sent: bool = False


class Modem:
    """A GSM/TD modem or desk phone on a pyserial URL.

    Args:
        url: ``/dev/ttyUSB0``, ``socket://127.0.0.1:7000``, ``rfc2217://…``,
            ``zhanyesim://name`` …
        config: see :class:`ModemConfig`.
        clock: monotonic clock (seconds).
        opener: opens a transport for ``url`` (default: pyserial in a worker thread).
    """

    def __init__(
        self,
        url: str,
        config: ModemConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        opener: Opener = _default_opener,
    ) -> None:
        self.url = url
        self.config = config or ModemConfig()
        self._clock = clock
        self._opener = opener
        self._engine = AtConnection(vendor_urcs=self.config.vendor_urcs)
        ids = itertools.count(1)
        self._tracker = CallTracker(self.config.call_timings, ids=ids)
        #: The optional landline port (一机双号): it only rings when one is fitted.
        self._pstn = CallTracker(self.config.pstn_call_timings, line=Line.PSTN, ids=ids)
        #: The line our hang-up command is for, while it is in flight.
        self._hanging_up: Line | None = None
        self._assembler = pdu.SmsAssembler(timeout=self.config.reassembly_timeout)
        self._recent_singles: deque[tuple[str, str, str]] = deque(maxlen=256)
        self._lock = anyio.Lock()
        self._pending: _Pending | None = None
        self._out_of_step = False
        self._stray_finals = 0
        self._transport: ByteTransport | None = None
        self._ready = anyio.Event()
        self._ready_flag = False
        send, receive = anyio.create_memory_object_stream[ModemEvent](math.inf)
        self._events_send: MemoryObjectSendStream[ModemEvent] = send
        self._events_receive: MemoryObjectReceiveStream[ModemEvent] = receive
        self._jobs_send, self._jobs_receive = anyio.create_memory_object_stream[int](math.inf)
        self._tg: TaskGroup | None = None
        self._next_concat_ref = random.randrange(256)
        self.connects = 0

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._supervise)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._tg is not None
        self._tg.cancel_scope.cancel()
        await self._tg.__aexit__(et, e, tb)
        self._events_send.close()

    def events(self) -> MemoryObjectReceiveStream[ModemEvent]:
        """The stream of :data:`ModemEvent` (one consumer; iterate with ``async for``)."""
        return self._events_receive

    @property
    def connected(self) -> bool:
        """Connected and initialised."""
        return self._ready_flag

    async def wait_connected(self) -> None:
        """Wait until the device is connected and initialised."""
        while not self._ready_flag:
            await self._ready.wait()

    @property
    def call_state(self) -> CallState:
        """The SIM line's call state."""
        return self._tracker.state

    def line_state(self, line: Line) -> CallState:
        """The call state of one line (the SIM's or the landline port's)."""
        return self._line(line).state

    @property
    def call_history(self) -> list[CallEnded]:
        """Ended calls of both lines, oldest first."""
        return sorted([*self._tracker.history, *self._pstn.history], key=lambda c: c.ended_at)

    def _line(self, line: Line) -> CallTracker:
        return self._pstn if line is Line.PSTN else self._tracker

    def _busy_line(self, wanted: CallState | None) -> Line:
        """The line a command without a line means: the SIM's unless only the landline
        has a call (in ``wanted`` state, when given)."""
        for line in (Line.GSM, Line.PSTN):
            state = self._line(line).state
            if state is not CallState.IDLE and (wanted is None or state is wanted):
                return line
        return Line.GSM

    def _emit(self, event: ModemEvent) -> None:
        try:
            self._events_send.send_nowait(event)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass

    async def _supervise(self) -> None:
        attempt = 0
        while True:
            reason = "could not open the port"
            connects = self.connects
            try:
                async with self._opener(self.url, self.config) as transport:
                    reason = await self._connection(transport)
            except DeviceError as exc:
                reason = str(exc)
            except OSError as exc:
                reason = f"{type(exc).__name__}: {exc}"
            if self.connects > connects:
                # This connection came up (the ready flag is already cleared by now):
                # the next reconnect starts from the shortest delay again.
                attempt = 0
            self._lost(reason)
            delay = min(self.config.reconnect_max, self.config.reconnect_min * 2**attempt)
            attempt = min(attempt + 1, 30)
            log.info("modem %s: %s; reconnecting in %.1f s", self.url, reason, delay)
            await anyio.sleep(delay * (0.8 + 0.4 * random.random()))

    def _lost(self, reason: str) -> None:
        if self._ready_flag:
            self._emit(ModemDisconnected(self.url, reason))
        self._ready_flag = False
        self._out_of_step = False
        if self._ready.is_set():
            self._ready = anyio.Event()
        self._transport = None
        self._engine.reset()
        pending = self._pending
        if pending is not None and pending.result is None:
            pending.result = CommandFailed(pending.command, DeviceDisconnected())
            pending.done.set()

    async def _connection(self, transport: ByteTransport) -> str:
        """Serve one connection; returns why it ended."""
        self._engine.reset()
        self._transport = transport
        lost = anyio.Event()
        reason = ["connection lost"]

        async def reader() -> None:
            try:
                while True:
                    data = await transport.receive()
                    self._engine.receive_data(data)
                    self._drain()
            except DeviceError as exc:
                reason[0] = str(exc)
                lost.set()

        async def session() -> None:
            try:
                await self._initialise()
                self.connects += 1
                self._ready_flag = True
                self._ready.set()
                self._emit(ModemConnected(self.url))
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._housekeeping)
                    tg.start_soon(self._read_messages)
                    await self._pick_up()
            except* DeviceError as group:
                first = group.exceptions[0]
                reason[0] = str(first) if self._ready_flag else f"init failed: {first}"
                lost.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(reader)
            tg.start_soon(session)
            await lost.wait()
            self._lost(reason[0])
            tg.cancel_scope.cancel()
        return reason[0]

    # ------------------------------------------------------------------ commands

    async def _run(self, command: AtCommand) -> Response:
        """Send one command and wait for its final result; raises its typed error."""
        async with self._lock:
            if self._out_of_step:
                await self._resync()
            return await self._exchange(command)

    async def _exchange(self, command: AtCommand) -> Response:
        """One command/answer exchange; the caller holds the lock."""
        transport = self._transport
        if transport is None:
            raise DeviceDisconnected()
        pending = _Pending(command, anyio.Event())
        self._pending = pending
        try:
            transport.send_nowait(self._engine.send(command, self._clock()))
            with anyio.move_on_after(command.timeout + 0.05):
                await pending.done.wait()
        finally:
            if pending.result is None and self._engine.command_in_flight is command:
                # Timed out or cancelled: give the engine its timeout now so the next
                # command can go; the device may still answer, so resync first.
                self._engine.expire(math.inf)
                self._drain()
                self._out_of_step = True
            self._pending = None
        result = pending.result
        if isinstance(result, Response):
            return result
        error: DeviceError = result.error if result is not None else DeviceDisconnected()
        if pending.payload_sent and isinstance(error, DeviceDisconnected | AtTimeout):
            raise SubmitInDoubt(command.text, error) from error
        raise error

    async def _resync(self) -> None:
        """After a timeout the device may still answer the old command, and that late
        answer would end the next one. Send ``AT`` until an ``OK`` comes and no stray
        final result follows it within ``resync_quiet`` seconds."""
        probe = AtCommand("AT", timeout=min(1.0, self.config.command_timeout))
        for _ in range(5):
            strays = self._stray_finals
            try:
                await self._exchange(probe)
            except DeviceDisconnected:
                raise
            except DeviceError:
                continue
            await anyio.sleep(self.config.resync_quiet)
            if self._stray_finals == strays:
                break
        self._out_of_step = False

    async def command(
        self, text: str, *, seconds: float | None = None, prefix: str | None = None
    ) -> Response:
        """Run any AT command once connected (``seconds``: its timeout); raises its typed error
        (:class:`CmeError`, :class:`CmsError`, :class:`AtTimeout` …)."""
        if not self._ready_flag:
            raise DeviceDisconnected()
        return await self._run(
            AtCommand(text, timeout=seconds or self.config.command_timeout, prefix=prefix)
        )

    async def _init_step(self, text: str, *, optional: bool = False) -> None:
        command = AtCommand(text, timeout=self.config.command_timeout)
        for attempt in range(self.config.init_attempts):
            try:
                await self._run(command)
                return
            except DeviceError as exc:
                if isinstance(exc, DeviceDisconnected):
                    raise
                if optional:
                    return
                if not exc.retryable or attempt == self.config.init_attempts - 1:
                    raise
                await anyio.sleep(self.config.init_retry_delay)

    async def _initialise(self) -> None:
        # The first AT may meet a booting modem or line noise: try a few times.
        for attempt in range(5):
            try:
                await self._run(AtCommand("AT", timeout=min(1.0, self.config.command_timeout)))
                break
            except DeviceError as exc:
                if isinstance(exc, DeviceDisconnected) or attempt == 4:
                    raise
        await self._init_step("ATE0")
        await self._init_step("AT+CMEE=2")
        await self._init_step("AT+CLIP=1")
        await self._init_step("AT+CMGF=0")
        await self._init_step(f"AT+CNMI={self.config.cnmi}")
        if not (self.config.rtscts or self.config.xonxoff):
            await self._init_step("AT+IFC=0,0", optional=True)

    # ------------------------------------------------------------------ events

    def _drain(self) -> None:
        now = self._clock()
        while True:
            event = self._engine.next_event()
            if event is NEED_DATA:
                return
            try:
                self._dispatch(event, now)
            except Exception:  # a bug handling one event must not stop the reader
                log.exception("modem %s: handling %r failed", self.url, event)

    def _dispatch(self, event: AtEvent, now: float) -> None:
        pending = self._pending
        if isinstance(event, Response | CommandFailed):
            if pending is not None and pending.command is event.command:
                pending.result = event
                pending.done.set()
            return
        if isinstance(event, PromptReady):
            if pending is not None:
                pending.payload_sent = True
            if self._transport is not None:
                self._transport.send_nowait(self._engine.send_payload())
            return
        if isinstance(
            event, Ring | CallerId | CallDisconnected | CallListEntry | VendorUrc | LineConnected
        ):
            hanging_up = self._hanging_up
            if hanging_up is not None and _call_end_report(event, hanging_up):
                # Our own hang-up's echo (Huawei says ^CEND before ATH's OK): the desk
                # rejected or ended the call, the caller did not give up.
                for call_event in self._line(hanging_up).hung_up(now):
                    self._emit(call_event)
                return
            for tracker in (self._tracker, self._pstn):
                for call_event in tracker.handle(event, now):
                    self._emit(call_event)
            return
        if isinstance(event, NewMessage):
            self._jobs_send.send_nowait(event.index)
            return
        if isinstance(event, MessageDelivered):
            self._take_pdu(event.pdu, now)
            return
        if isinstance(event, StatusReportDelivered):
            self._take_pdu(event.pdu, now)
            return
        if isinstance(event, UssdReceived):
            self._emit(event)
            return
        if isinstance(event, UnparsedLine):
            if event.raw.strip().startswith(_FINAL_RESULTS):
                self._stray_finals += 1
            log.debug("modem %s: %s: %r", self.url, event.reason, event.raw)

    def _take_pdu(self, hex_pdu: str, now: float) -> bool:
        """Decode one received PDU and emit what it completes; False if unreadable."""
        try:
            decoded = pdu.decode(hex_pdu)
        except (pdu.PduError, ValueError) as exc:
            log.warning("modem %s: unreadable PDU %s: %s", self.url, hex_pdu, exc)
            return False
        if isinstance(decoded, pdu.SmsStatusReport):
            self._emit(StatusReportReceived(decoded))
            return True
        if not isinstance(decoded, pdu.SmsDeliver):
            return True
        if decoded.concat is None or decoded.concat.parts == 1:
            key = (decoded.sender, decoded.timestamp.isoformat(), hex_pdu)
            if key in self._recent_singles:
                return True
            self._recent_singles.append(key)
        whole = self._assembler.add(decoded, now)
        if whole is not None:
            self._emit(SmsReceived(whole))
        return True

    async def _read_messages(self) -> None:
        async for index in self._jobs_receive:
            try:
                response = await self._run(
                    AtCommand(f"AT+CMGR={index}", timeout=self.config.command_timeout)
                )
            except DeviceDisconnected:
                raise
            except DeviceError as exc:
                log.warning("modem %s: reading message %d: %s", self.url, index, exc)
                continue
            pdus = _pdu_lines(response.lines, "+CMGR")
            if pdus and all(self._take_pdu(p, self._clock()) for _, p in pdus):
                await self._delete(index)

    async def _pick_up(self) -> None:
        """Read and delete every message stored while nobody was listening."""
        try:
            response = await self._run(AtCommand("AT+CMGL=4", timeout=self.config.sms_timeout))
        except DeviceDisconnected:
            raise
        except DeviceError as exc:
            log.warning("modem %s: listing stored messages: %s", self.url, exc)
            return
        for index, hex_pdu in _pdu_lines(response.lines, "+CMGL"):
            if self._take_pdu(hex_pdu, self._clock()) and index is not None:
                await self._delete(index)

    async def _delete(self, index: int) -> None:
        try:
            await self._run(AtCommand(f"AT+CMGD={index}", timeout=self.config.command_timeout))
        except DeviceDisconnected:
            raise
        except DeviceError as exc:
            log.warning("modem %s: deleting message %d: %s", self.url, index, exc)

    async def _housekeeping(self) -> None:
        while True:
            await anyio.sleep(self.config.tick_interval)
            now = self._clock()
            for tracker in (self._tracker, self._pstn):
                for call_event in tracker.tick(now):
                    self._emit(call_event)
            for partial in self._assembler.expire(now):
                self._emit(SmsReceived(partial))
            if self._tracker.poll_due(now):
                self._tracker.polled(now)
                await self._poll_calls()

    async def _poll_calls(self) -> None:
        try:
            response = await self._run(
                AtCommand("AT+CLCC", timeout=self.config.command_timeout, prefix="+CLCC")
            )
        except DeviceDisconnected:
            raise
        except (AtCommandError, CmeError) as exc:
            if exc.code in (None, 3, 4):
                log.info("modem %s: no AT+CLCC (%s); using the RING timeout", self.url, exc)
                self._tracker.clcc_supported = False
            return
        except DeviceError:
            return
        entries = []
        for fields in response.values("+CLCC"):
            try:
                entries.append(CallListEntry.parse(fields))
            except ProtocolError:
                continue
        for call_event in self._tracker.call_list(entries, self._clock()):
            self._emit(call_event)

    # ------------------------------------------------------------------ calls

    async def dial(self, number: str, line: Line = Line.GSM) -> None:
        """Call ``number`` (digits, ``+``, ``*``, ``#``). Emits OutgoingCall, then
        CallAnswered/CallEnded as the call goes; raises :class:`AtCommandError` for
        BUSY / NO ANSWER / NO CARRIER. Calls go out on the SIM only: ``line=PSTN``
        raises :class:`InvalidInput` (主叫均由移动SIM卡呼出)."""
        if line is not Line.GSM:
            raise InvalidInput(
                "the landline port only takes calls; calls go out on the SIM",
                zh="座机线路只能接听来电，外呼均经手机卡线路",
            )
        if not _DIAL.fullmatch(number):
            raise InvalidInput(f"cannot dial {number!r}: digits, '+', '*' and '#' only")
        if not self._ready_flag:
            raise DeviceDisconnected()
        command = AtCommand(f"ATD{number};", timeout=self.config.dial_timeout, call_control=True)
        try:
            response = await self._run(command)
        except AtCommandError as exc:
            for event in self._tracker.dialed(number, self._clock()):
                self._emit(event)
            for event in self._tracker.dial_failed(exc.result, self._clock()):
                self._emit(event)
            raise
        for event in self._tracker.dialed(number, self._clock()):
            self._emit(event)
        if response.final.startswith("CONNECT"):
            for event in self._tracker.connected(self._clock()):
                self._emit(event)

    async def answer(self, line: Line | None = None) -> None:
        """Answer the ringing call (ATA; ``AT^PSTNANS`` on the landline). Without a
        line: the one that rings (the SIM's when both do)."""
        if not self._ready_flag:
            raise DeviceDisconnected()
        line = line or self._busy_line(CallState.RINGING)
        tracker = self._line(line)
        text = "AT^PSTNANS" if line is Line.PSTN else "ATA"
        command = AtCommand(text, timeout=self.config.dial_timeout, call_control=True)
        try:
            await self._run(command)
        except AtCommandError as exc:
            if exc.result == "NO CARRIER":  # the caller gave up just before
                gone = CallDisconnected("NO CARRIER", line)
                for event in tracker.handle(gone, self._clock()):
                    self._emit(event)
            raise
        for event in tracker.answered(self._clock()):
            self._emit(event)

    async def hangup(self, line: Line | None = None) -> None:
        """Hang up (or reject) the current call (ATH; ``AT^PSTNHUP`` on the landline).
        Without a line: the one with a call (the SIM's when both have one)."""
        line = line or self._busy_line(None)
        self._hanging_up = line
        try:
            await self.command("AT^PSTNHUP" if line is Line.PSTN else "ATH")
        finally:
            self._hanging_up = None
        for event in self._line(line).hung_up(self._clock()):
            self._emit(event)

    # ------------------------------------------------------------------ SMS

    async def send_pdu(self, part: pdu.SubmitPart) -> int:
        """Submit one PDU with AT+CMGS; returns the message reference."""
        if not self._ready_flag:
            raise DeviceDisconnected()
        command = AtCommand(
            f"AT+CMGS={part.tpdu_length}",
            timeout=self.config.sms_timeout,
            prefix="+CMGS",
            payload=part.hex.encode("ascii"),
        )
        response = await self._run(command)
        values = response.values("+CMGS")
        try:
            return int(values[0][0])
        except (IndexError, ValueError) as exc:
            raise ProtocolError(
                f"AT+CMGS answered OK without a reference: {response.lines}"
            ) from exc

    def next_reference(self) -> int:
        """A fresh concatenation reference (0–255)."""
        ref = self._next_concat_ref
        self._next_concat_ref = (ref + 1) % 256
        return ref

    def encode(self, number: str, text: str) -> list[pdu.SubmitPart]:
        """The SMS-SUBMIT parts :meth:`send_sms` would send (7-bit or UCS2, split)."""
        return pdu.encode_submit(
            number,
            text,
            reference=self.next_reference(),
            status_report=self.config.status_reports,
            smsc=self.config.smsc,
        )

    async def send_sms(self, number: str, text: str) -> list[int]:
        """Send ``text`` to ``number``; returns the message reference of each part.

        Raises :class:`CmsError` (its ``retryable`` says whether to try again),
        :class:`DeviceDisconnected`, :class:`InvalidInput` for a bad number.
        """
        return [await self.send_pdu(part) for part in self.encode(number, text)]

    async def ussd(self, code: str) -> None:
        """Send a USSD request (e.g. ``"*100#"``); the answer arrives as a
        :class:`UssdReceived` event."""
        if not re.fullmatch(r"[0-9*#]{1,40}", code):
            raise InvalidInput(f"USSD code {code!r} may hold digits, '*' and '#' only")
        await self.command(f'AT+CUSD=1,"{code}",15', seconds=self.config.dial_timeout)

    # ------------------------------------------------------------------ device info

    async def signal(self) -> SignalQuality:
        """Signal quality from AT+CSQ (GSM 0–31 and TD-SCDMA 100–191 ranges)."""
        response = await self.command("AT+CSQ", prefix="+CSQ")
        values = response.values("+CSQ")
        if not values:
            raise ProtocolError(f"AT+CSQ answered without +CSQ: {response.lines}")
        return parse_csq(values[0])

    async def _try(self, text: str, prefix: str | None = None) -> Response | None:
        try:
            return await self.command(text, prefix=prefix)
        except DeviceDisconnected:
            raise
        except DeviceError:
            return None

    async def info(self) -> DeviceInfo:
        """IMEI, IMSI, ICCID (+CCID or +CRSM), own number, operator, registration."""

        def bare(response: Response | None) -> str | None:
            if response is None:
                return None
            for line in response.lines:
                text = line.split(":", 1)[1].strip() if line.startswith("+") else line
                if text:
                    return text.strip('"')
            return None

        imei = bare(await self._try("AT+CGSN"))
        imsi = bare(await self._try("AT+CIMI"))
        manufacturer = bare(await self._try("AT+CGMI"))
        model = bare(await self._try("AT+CGMM"))
        iccid = _iccid_from_ccid(bare(await self._try("AT+CCID", "+CCID")))
        if iccid is None:
            crsm = await self._try("AT+CRSM=176,12258,0,0,10", "+CRSM")
            iccid = _iccid_from_crsm(crsm.values("+CRSM") if crsm else [])
        own_number = None
        cnum = await self._try("AT+CNUM", "+CNUM")
        if cnum is not None:
            for fields in cnum.values("+CNUM"):
                if len(fields) > 1 and fields[1]:
                    own_number = fields[1]
                    break
        operator = None
        cops = await self._try("AT+COPS?", "+COPS")
        if cops is not None:
            for fields in cops.values("+COPS"):
                if len(fields) > 2 and fields[2]:
                    operator = fields[2]
        registration = None
        creg = await self._try("AT+CREG?", "+CREG")
        if creg is not None:
            for fields in creg.values("+CREG"):
                if len(fields) > 1 and fields[1].isdigit():
                    registration = int(fields[1])
        return DeviceInfo(
            manufacturer, model, imei, imsi, iccid, own_number, operator, registration
        )


def _pdu_lines(lines: Sequence[str], prefix: str) -> list[tuple[int | None, str]]:
    """Pair ``+CMGL:``/``+CMGR:`` header lines with the PDU line after each."""
    out: list[tuple[int | None, str]] = []
    header: list[str] | None = None
    for line in lines:
        if line.startswith(prefix):
            header = split_fields(line[len(prefix) :].lstrip(":").strip())
            continue
        if header is not None:
            index = int(header[0]) if prefix == "+CMGL" and header[0].isdigit() else None
            out.append((index, line.strip()))
            header = None
    return out


def _iccid_from_ccid(text: str | None) -> str | None:
    if not text:
        return None
    digits = text.strip().strip('"').upper().rstrip("F")
    return digits if re.fullmatch(r"[0-9]{18,22}", digits) else None


def _iccid_from_crsm(values: list[list[str]]) -> str | None:
    for fields in values:
        if len(fields) > 2 and fields[0] == "144" and re.fullmatch(r"[0-9A-Fa-f]{20}", fields[2]):
            raw = fields[2].upper()
            swapped = "".join(raw[i + 1] + raw[i] for i in range(0, len(raw), 2))
            return swapped.rstrip("F")
    return None
