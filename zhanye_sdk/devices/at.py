"""AT protocol core (3GPP TS 27.007 / 27.005), sans-I/O.

Theory of operation
-------------------
Bytes from the modem go in with :meth:`AtConnection.receive_data`; events come out
of :meth:`AtConnection.next_event` until it returns :data:`NEED_DATA`. Commands go
out with :meth:`AtConnection.send`, which returns the bytes to write. Nothing here
reads a clock or touches a port: the caller passes ``now`` and calls
:meth:`AtConnection.expire` to time a command out.

Framing: a line ends at CR, LF or CRLF (modems mix them); empty lines are skipped.
The SMS prompt ``"> "`` has no line end, so it is recognised at the start of the
buffer while a command that carries a payload waits for it. Bytes up to a Ctrl-Z /
ESC are the echo of a payload and are dropped. A line that is not valid ASCII/UTF-8,
or that grows past :data:`MAX_LINE` bytes, becomes an :class:`UnparsedLine` event:
bad bytes never stop the reader.

One command is in flight at a time. Every complete line is classified by the
first row of this table that matches:

====================  =========================================  ==========================
state / line          condition                                  result
====================  =========================================  ==========================
PDU awaited           hex digits (after ``+CMT:`` / ``+CDS:``)    the URC event, with the PDU
command in flight     line == the command text (echo)            dropped
command in flight     line starts with the command's ``prefix``  an information line of it
command in flight     ``OK``, ``CONNECT`` (call control)         :class:`Response`
command in flight     ``ERROR``, ``+CME/+CMS ERROR``,            :class:`CommandFailed`
                      ``NO CARRIER``/``BUSY``/``NO ANSWER``/
                      ``NO DIALTONE`` (call control commands)
any                   in the URC table or a vendor plug-in       its URC event
command in flight     anything else                              an information line of it
no command            anything else                              :class:`UnparsedLine`
====================  =========================================  ==========================

So a URC that arrives between the lines of a response is dispatched at once and
does not end up in the response, and ``NO CARRIER`` outside a dial/answer command
is the URC :class:`CallDisconnected`.

The second line (一机双号)
-----------------------
A desk phone may carry an optional PSTN port beside its GSM radio: the shop's old
landline plugs in and its callers pop up too; every outgoing call still goes out on
the SIM (主叫均由移动SIM卡呼出). The standard reports (``RING``, ``+CLIP``, ``+CLCC``)
describe the radio only, and the source documents do not say how the phone reports
its landline, so this driver assumes one clean, line-tagged set of vendor reports:

===========================  ====================================================
``^PSTNRING``                the landline rings (repeats with the ring cadence)
``^PSTNCLIP: <as +CLIP>``    the caller ID the phone decoded on the landline
``^PSTNCONN``                the landline call was picked up (handset or command)
``^PSTNEND``                 the landline call ended (the far end hung up)
``AT^PSTNANS`` / ``AT^PSTNHUP``  answer / hang up the landline
===========================  ====================================================

They become the same events as the radio's, tagged ``line=Line.PSTN``
(:class:`Ring`, :class:`CallerId`, :class:`CallDisconnected`, :class:`LineConnected`).
A real device with other words needs only another mapping here.
"""

from __future__ import annotations

import enum
import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Final, Protocol

import attrs

from zhanye_sdk.devices.at_errors import (
    AtCommandError,
    AtTimeout,
    cme_error,
    cms_error,
)
from zhanye_sdk.errors import DeviceError, InvalidInput, ProtocolError

__all__ = [
    "DEFAULT_VENDOR_URCS",
    "MAX_LINE",
    "NEED_DATA",
    "AtCommand",
    "AtConnection",
    "AtEvent",
    "CallDisconnected",
    "CallListEntry",
    "CallerId",
    "CommandFailed",
    "Line",
    "LineConnected",
    "MessageDelivered",
    "NeedData",
    "NewMessage",
    "PromptReady",
    "RegistrationChanged",
    "Response",
    "Ring",
    "SignalQuality",
    "StatusReportDelivered",
    "UnparsedLine",
    "UrcPlugin",
    "UssdReceived",
    "VendorUrc",
    "VendorUrcs",
    "parse_csq",
    "split_fields",
]

MAX_LINE: Final = 4096
"""Longest line kept; longer runs without a line end are dropped as garbage."""


class NeedData(enum.Enum):
    """Sentinel type of :data:`NEED_DATA`."""

    NEED_DATA = "NEED_DATA"


NEED_DATA: Final = NeedData.NEED_DATA
"""Returned by :meth:`AtConnection.next_event` when more bytes are needed."""


@attrs.frozen
class AtCommand:
    """One AT command.

    Args:
        text: the command without the line end, e.g. ``"AT+CSQ"``.
        timeout: seconds the device has to send its final result.
        prefix: information lines starting with this (e.g. ``"+CLCC"``) belong to the
            command even though the URC table knows them.
        payload: bytes sent after the ``"> "`` prompt, followed by Ctrl-Z (AT+CMGS).
        call_control: ``NO CARRIER``/``BUSY``/``NO ANSWER``/``NO DIALTONE``/``CONNECT``
            end this command (ATD, ATA) instead of being URCs.
    """

    text: str
    timeout: float = 5.0
    prefix: str | None = None
    payload: bytes | None = None
    call_control: bool = False

    def __attrs_post_init__(self) -> None:
        if not self.text or not _COMMAND_TEXT.fullmatch(self.text):
            raise InvalidInput(
                f"AT command {self.text!r} must be printable ASCII starting with 'AT', "
                "without a line end"
            )
        if self.timeout <= 0:
            raise InvalidInput(f"timeout must be positive, got {self.timeout}")
        if self.payload is not None and (b"\x1a" in self.payload or b"\x1b" in self.payload):
            raise InvalidInput("payload must not contain Ctrl-Z or ESC; they are added by send")


_COMMAND_TEXT = re.compile(r"(?i)AT[\x20-\x7e]*")


# ---------------------------------------------------------------- events


@attrs.frozen
class Response:
    """A command finished with ``OK`` (or ``CONNECT``); ``lines`` are its information lines."""

    command: AtCommand
    lines: tuple[str, ...]
    final: str = "OK"

    def values(self, prefix: str) -> list[list[str]]:
        """The comma-separated fields of every line starting with ``prefix`` (e.g. ``"+CSQ"``)."""
        out = []
        for line in self.lines:
            if line.startswith(prefix):
                rest = line[len(prefix) :].lstrip(":").strip()
                out.append(split_fields(rest))
        return out


@attrs.frozen
class CommandFailed:
    """A command finished with an error, a call-control failure or a timeout."""

    command: AtCommand
    error: DeviceError
    lines: tuple[str, ...] = ()


@attrs.frozen
class PromptReady:
    """The ``"> "`` prompt arrived: write :meth:`AtConnection.send_payload` now."""

    command: AtCommand


@attrs.frozen
class UnparsedLine:
    """A line that could not be used; ``reason`` says why. The reader carries on."""

    raw: bytes
    reason: str


class Line(enum.Enum):
    """Which line of the desk phone a call is on: its SIM (``gsm``, the 无线座机 number)
    or the optional PSTN port (``pstn``, the shop's old landline number)."""

    GSM = "gsm"
    PSTN = "pstn"


@attrs.frozen
class Ring:
    """``RING`` or ``+CRING: <type>`` (type e.g. ``"VOICE"``); ``^PSTNRING`` on the landline."""

    call_type: str | None = None
    line: Line = Line.GSM


@attrs.frozen
class CallerId:
    """``+CLIP: <number>,<type>[,<subaddr>,<satype>,<alpha>,<CLI validity>]``.

    ``number`` is exactly as the network sent it (a national number with type 129 has
    no ``+``); None when it was withheld or is unavailable.
    """

    number: str | None
    number_type: int | None = None
    validity: int | None = None
    alpha: str | None = None
    line: Line = Line.GSM

    @property
    def withheld(self) -> bool:
        """The caller withheld the number (CLI validity 1)."""
        return self.validity == 1

    @property
    def unavailable(self) -> bool:
        """The network could not give the number (CLI validity 2, or no number)."""
        return self.validity == 2 or (self.number is None and self.validity != 1)


@attrs.frozen
class NewMessage:
    """``+CMTI: <mem>,<index>``: a message was stored; read it with AT+CMGR."""

    storage: str
    index: int


@attrs.frozen
class MessageDelivered:
    """``+CMT: [<alpha>],<length>`` and its PDU line (SMS-DELIVER routed directly)."""

    pdu: str
    length: int


@attrs.frozen
class StatusReportDelivered:
    """``+CDS: <length>`` and its PDU line (SMS-STATUS-REPORT)."""

    pdu: str
    length: int


@attrs.frozen
class CallListEntry:
    """One ``+CLCC`` line (unsolicited, or part of an AT+CLCC response).

    ``state``: 0 active, 1 held, 2 dialing, 3 alerting, 4 incoming, 5 waiting.
    ``incoming`` is True for mobile-terminated calls.
    """

    index: int
    incoming: bool
    state: int
    mode: int
    multiparty: bool
    number: str | None = None
    number_type: int | None = None

    @classmethod
    def parse(cls, fields: Sequence[str]) -> CallListEntry:
        """Parse the fields after ``+CLCC:``; raises :class:`ProtocolError` if malformed."""
        try:
            index, direction, state, mode, mpty = (int(f) for f in fields[:5])
        except ValueError as exc:
            raise ProtocolError(f"+CLCC needs five integers first, got {list(fields)!r}") from exc
        number = fields[5] if len(fields) > 5 and fields[5] else None
        number_type = int(fields[6]) if len(fields) > 6 and fields[6].isdigit() else None
        return cls(index, direction == 1, state, mode, mpty == 1, number, number_type)


@attrs.frozen
class CallDisconnected:
    """``NO CARRIER`` / ``BUSY`` / ``NO ANSWER`` outside a call-control command;
    ``^PSTNEND`` (as ``NO CARRIER``) on the landline."""

    result: str
    line: Line = Line.GSM


@attrs.frozen
class LineConnected:
    """``^PSTNCONN``: the landline call was picked up (on the handset or by command)."""

    line: Line = Line.PSTN


@attrs.frozen
class UssdReceived:
    """``+CUSD: <m>[,<str>,<dcs>]``."""

    status: int
    text: str | None
    dcs: int | None


@attrs.frozen
class RegistrationChanged:
    """Unsolicited ``+CREG: <stat>[,<lac>,<ci>]``."""

    status: int
    lac: str | None = None
    cell: str | None = None


@attrs.frozen
class VendorUrc:
    """A vendor URC recognised by a plug-in, e.g. ``^RSSI: 18`` or ``MISSED_CALL: …``."""

    vendor: str
    name: str
    fields: tuple[str, ...]
    raw: str


AtEvent = (
    Response
    | CommandFailed
    | PromptReady
    | UnparsedLine
    | Ring
    | CallerId
    | NewMessage
    | MessageDelivered
    | StatusReportDelivered
    | CallListEntry
    | CallDisconnected
    | LineConnected
    | UssdReceived
    | RegistrationChanged
    | VendorUrc
)


# ---------------------------------------------------------------- vendor plug-ins


class UrcPlugin(Protocol):
    """Recognises vendor URCs: returns an event for a line it knows, else None."""

    def parse(self, line: str) -> AtEvent | None:
        """The event for ``line``, or None if it is not this plug-in's."""


@attrs.frozen
class VendorUrcs:
    """A plug-in for URCs of the form ``NAME: a,b,c`` or a bare ``NAME``.

    Args:
        vendor: label put in the events (``"huawei"``).
        names: the URC names, e.g. ``("^RSSI", "^BOOT")``.
    """

    vendor: str
    names: tuple[str, ...]

    def parse(self, line: str) -> AtEvent | None:
        if not line.startswith(self.names):
            return None
        for name in self.names:
            if line == name:
                return VendorUrc(self.vendor, name, (), line)
            if line.startswith(name) and line[len(name)] in ": ":
                rest = line[len(name) + 1 :].strip()
                return VendorUrc(self.vendor, name, tuple(split_fields(rest)), line)
        return None


DEFAULT_VENDOR_URCS: Final[tuple[UrcPlugin, ...]] = (
    VendorUrcs(
        "huawei",
        (
            "^RSSI",
            "^BOOT",
            "^MODE",
            "^CEND",
            "^ORIG",
            "^CONF",
            "^CONN",
            "^SIMST",
            "^SRVST",
            "^DSFLOWRPT",
            "^HCSQ",
            "^SYSSTART",
        ),
    ),
    VendorUrcs("simcom", ("MISSED_CALL", "Call Ready", "SMS Ready", "RDY", "+CPIN")),
)
"""Plug-ins used when none are given: Huawei ``^…`` URCs and SIMCom ``MISSED_CALL``."""


# ---------------------------------------------------------------- helpers


def split_fields(text: str) -> list[str]:
    """Split ``a,"b,c",,d`` into ``["a", "b,c", "", "d"]`` (quotes removed)."""
    fields: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            fields.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    fields.append("".join(current).strip())
    return fields


@attrs.frozen
class SignalQuality:
    """``+CSQ`` decoded.

    ``rssi`` is the raw value; ``dbm`` the received level (None when unknown);
    ``technology`` ``"gsm"`` for 0–31 or ``"td-scdma"`` for 100–191 (TS 27.007 §8.5);
    ``ber`` the bit-error class 0–7 or None.
    """

    rssi: int
    dbm: int | None
    technology: str | None
    ber: int | None

    @property
    def bars(self) -> int:
        """0–5 bars, the way desk phones show it."""
        if self.dbm is None:
            return 0
        return max(0, min(5, (self.dbm + 113) // 10))


def parse_csq(fields: Sequence[str]) -> SignalQuality:
    """Decode the fields of ``+CSQ: <rssi>,<ber>``; raises :class:`ProtocolError` if malformed."""
    try:
        rssi = int(fields[0])
        ber_raw = int(fields[1]) if len(fields) > 1 and fields[1] else 99
    except (ValueError, IndexError) as exc:
        raise ProtocolError(f"+CSQ needs <rssi>,<ber> integers, got {list(fields)!r}") from exc
    ber = ber_raw if 0 <= ber_raw <= 7 else None
    if 0 <= rssi <= 31:
        return SignalQuality(rssi, -113 + 2 * rssi, "gsm", ber)
    if 100 <= rssi <= 191:
        return SignalQuality(rssi, -116 + (rssi - 100), "td-scdma", ber)
    if rssi in (99, 199):
        return SignalQuality(rssi, None, "td-scdma" if rssi == 199 else None, ber)
    raise ProtocolError(f"+CSQ rssi {rssi} is outside 0-31, 99, 100-191, 199")


# ---------------------------------------------------------------- the connection

_HEX = re.compile(r"[0-9A-Fa-f]+")
_EOL = re.compile(rb"[\r\n]")
_SKIP_EOL = re.compile(rb"[\r\n]*")
_EOLS = re.compile(rb"[\r\n]+")
_CALL_FINALS = ("NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE")
# The landline's bare reports (see "The second line" in the module doc).
_PSTN_URCS: Final[dict[str, AtEvent]] = {
    "^PSTNRING": Ring(line=Line.PSTN),
    "^PSTNCONN": LineConnected(Line.PSTN),
    "^PSTNEND": CallDisconnected("NO CARRIER", Line.PSTN),
}


def _int_field(fields: Sequence[str], i: int) -> int | None:
    if len(fields) > i and fields[i].strip().lstrip("-").isdigit():
        return int(fields[i])
    return None


class AtConnection:
    """The AT engine: framing, the command in flight and URC dispatch (see module doc).

    Args:
        vendor_urcs: plug-ins tried after the standard URC table.
    """

    def __init__(self, *, vendor_urcs: Iterable[UrcPlugin] = DEFAULT_VENDOR_URCS) -> None:
        self._plugins = tuple(vendor_urcs)
        self._buffer = bytearray()
        self._pos = 0
        self._events: deque[AtEvent] = deque()
        self._command: AtCommand | None = None
        self._deadline = 0.0
        self._lines: list[str] = []
        self._prompted = False
        self._eat_space = False
        self._pending_pdu: Callable[[str], AtEvent] | None = None
        self._discarding = False
        self._urcs: dict[str, Callable[[str, str], AtEvent | None]] = {
            "+CLIP": self._clip,
            "^PSTNCLIP": lambda _l, rest: self._clip(_l, rest, Line.PSTN),
            "+CRING": lambda _l, rest: Ring(rest or None),
            "+CMTI": self._cmti,
            "+CMT": self._cmt,
            "+CDS": self._cds,
            "+CLCC": lambda _l, rest: CallListEntry.parse(split_fields(rest)),
            "+CUSD": self._cusd,
            "+CREG": self._creg,
        }

    # -- outgoing ------------------------------------------------------------

    @property
    def command_in_flight(self) -> AtCommand | None:
        """The command waiting for its final result, if any."""
        return self._command

    @property
    def deadline(self) -> float | None:
        """When the command in flight times out (in the caller's clock), if any."""
        return self._deadline if self._command is not None else None

    def send(self, command: AtCommand, now: float) -> bytes:
        """Start ``command``; returns the bytes to write. One command at a time:
        raises :class:`ProtocolError` if another is in flight."""
        if self._command is not None:
            raise ProtocolError(
                f"cannot send {command.text!r}: {self._command.text!r} is still in flight"
            )
        self._command = command
        self._deadline = now + command.timeout
        self._lines = []
        self._prompted = False
        return command.text.encode("ascii") + b"\r"

    def send_payload(self) -> bytes:
        """The payload of the prompted command followed by Ctrl-Z (after :class:`PromptReady`)."""
        command = self._command
        if command is None or command.payload is None or not self._prompted:
            raise ProtocolError("no command is waiting at the '> ' prompt")
        return command.payload + b"\x1a"

    def expire(self, now: float) -> None:
        """Time out the command in flight if its deadline has passed (queues a
        :class:`CommandFailed` carrying :class:`AtTimeout`)."""
        command = self._command
        if command is not None and now >= self._deadline:
            self._finish(
                CommandFailed(command, AtTimeout(command.text, command.timeout), tuple(self._lines))
            )

    def reset(self) -> AtCommand | None:
        """Forget buffered bytes and the command in flight (the device went away);
        returns that command so the caller can fail it."""
        command = self._command
        self._buffer.clear()
        self._pos = 0
        self._events.clear()
        self._command = None
        self._lines = []
        self._pending_pdu = None
        self._prompted = self._eat_space = self._discarding = False
        return command

    # -- incoming ------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Feed bytes read from the device."""
        self._buffer += data

    def next_event(self) -> AtEvent | NeedData:
        """The next event, or :data:`NEED_DATA`."""
        while not self._events:
            if not self._frame_one():
                return NEED_DATA
        return self._events.popleft()

    def _frame_one(self) -> bool:
        """Consume one unit from the buffer; False if more bytes are needed."""
        buf = self._buffer
        # Consumed bytes are skipped with an offset and dropped once per read, so a
        # large read is not moved in memory once per line.
        pos = self._pos
        size = len(buf)
        if self._eat_space and pos < size:
            self._eat_space = False
            if buf[pos] == 0x20:
                pos += 1
        skipped = _SKIP_EOL.match(buf, pos)
        if skipped is not None and skipped.end() > pos:
            pos = skipped.end()
            self._discarding = False
        if pos >= size:
            buf.clear()
            self._pos = 0
            return False
        command = self._command
        if (
            buf[pos] == 0x3E  # '>'
            and command is not None
            and command.payload is not None
            and not self._prompted
            and not self._discarding
        ):
            pos += 2 if pos + 1 < size and buf[pos + 1] == 0x20 else 1
            self._eat_space = pos >= size
            self._pos = pos
            self._prompted = True
            self._events.append(PromptReady(command))
            return True
        if not self._discarding and (command is None or command.payload is None):
            # No prompt can come: frame every complete line of this read in one go.
            last = max(buf.rfind(b"\r", pos), buf.rfind(b"\n", pos))
            if last >= 0:
                self._pos = last + 1
                for raw in _EOLS.split(bytes(buf[pos:last])):
                    if len(raw) > MAX_LINE:
                        reason = f"line longer than {MAX_LINE} bytes"
                        self._events.append(UnparsedLine(raw[:64], reason))
                    elif raw:
                        self._line(raw)
                return True
        found = _EOL.search(buf, pos)
        if found is None:
            del buf[:pos]
            self._pos = 0
            if len(buf) > MAX_LINE:
                if not self._discarding:
                    self._events.append(
                        UnparsedLine(bytes(buf[:64]), f"line longer than {MAX_LINE} bytes")
                    )
                self._discarding = True
                buf.clear()
                return True
            return False
        end = found.start()
        raw = bytes(buf[pos:end])
        self._pos = end + 1
        if self._discarding:
            self._discarding = False
            return True
        if len(raw) > MAX_LINE:
            self._events.append(UnparsedLine(raw[:64], f"line longer than {MAX_LINE} bytes"))
            return True
        self._line(raw)
        return True

    def _line(self, raw: bytes) -> None:
        # Everything up to Ctrl-Z / ESC is the device echoing a payload.
        cut = max(raw.rfind(b"\x1a"), raw.rfind(b"\x1b"))
        body = raw[cut + 1 :] if cut >= 0 else raw
        try:
            line = body.decode("utf-8").strip()
        except UnicodeDecodeError:
            self._events.append(UnparsedLine(raw, "not valid ASCII/UTF-8"))
            return
        if not line:
            return
        if not line.isprintable():
            self._events.append(UnparsedLine(raw, "contains control characters"))
            return
        pending = self._pending_pdu
        if pending is not None:
            self._pending_pdu = None
            if _HEX.fullmatch(line) and len(line) % 2 == 0:
                self._events.append(pending(line.upper()))
                return
            self._events.append(UnparsedLine(raw, "expected the PDU line of +CMT/+CDS"))
        command = self._command
        if command is not None:
            if line.upper() == command.text.upper():
                return  # echo
            if command.prefix is not None and line.startswith(command.prefix):
                self._lines.append(line)
                return
            if self._final(command, line):
                return
        elif line[:2].upper() == "AT":
            self._events.append(UnparsedLine(raw, "echo of a command no longer in flight"))
            return
        if self._urc(line, raw):
            return
        if command is not None:
            self._lines.append(line)
        else:
            self._events.append(UnparsedLine(raw, "unsolicited line not in the URC table"))

    def _final(self, command: AtCommand, line: str) -> bool:
        lines = tuple(self._lines)
        if line == "OK" or (command.call_control and line.startswith("CONNECT")):
            self._finish(Response(command, lines, line))
        elif line == "ERROR":
            error = AtCommandError(f"{command.text!r} answered ERROR", result="ERROR")
            self._finish(CommandFailed(command, error, lines))
        elif line.startswith("+CME ERROR"):
            arg = line[len("+CME ERROR") :].lstrip(":").strip()
            self._finish(CommandFailed(command, cme_error(arg, command=command.text), lines))
        elif line.startswith("+CMS ERROR"):
            arg = line[len("+CMS ERROR") :].lstrip(":").strip()
            self._finish(CommandFailed(command, cms_error(arg, command=command.text), lines))
        elif command.call_control and line in _CALL_FINALS:
            error = AtCommandError(f"{command.text!r} answered {line}", result=line)
            self._finish(CommandFailed(command, error, lines))
        else:
            return False
        return True

    def _finish(self, event: Response | CommandFailed) -> None:
        self._command = None
        self._lines = []
        self._prompted = False
        self._events.append(event)

    def _urc(self, line: str, raw: bytes) -> bool:
        if line == "RING":
            self._events.append(Ring())
            return True
        landline = _PSTN_URCS.get(line)
        if landline is not None:
            self._events.append(landline)
            return True
        if line in _CALL_FINALS:
            self._events.append(CallDisconnected(line))
            return True
        head, sep, rest = line.partition(":")
        handler = self._urcs.get(head) if sep else None
        if handler is not None:
            try:
                event = handler(line, rest.strip())
            except (ProtocolError, ValueError, IndexError) as exc:
                self._events.append(UnparsedLine(raw, f"malformed {head}: {exc}"))
                return True
            if event is not None:
                self._events.append(event)
            return True
        for plugin in self._plugins:
            found = plugin.parse(line)
            if found is not None:
                self._events.append(found)
                return True
        return False

    # -- standard URC parsers --------------------------------------------------

    def _clip(self, _line: str, rest: str, line: Line = Line.GSM) -> AtEvent:
        fields = split_fields(rest)
        number = fields[0] or None
        number_type = _int_field(fields, 1)
        validity = _int_field(fields, 5)
        alpha = fields[4] if len(fields) > 4 and fields[4] else None
        if validity in (1, 2):
            number = None
        return CallerId(number, number_type, validity, alpha, line)

    def _cmti(self, _line: str, rest: str) -> AtEvent:
        fields = split_fields(rest)
        index = _int_field(fields, 1)
        if index is None:
            raise ProtocolError(f"expected <mem>,<index>, got {rest!r}")
        return NewMessage(fields[0], index)

    def _cmt(self, _line: str, rest: str) -> AtEvent | None:
        fields = split_fields(rest)
        length = _int_field(fields, len(fields) - 1)
        if length is None:
            raise ProtocolError(f"expected [<alpha>],<length>, got {rest!r}")
        self._pending_pdu = lambda pdu: MessageDelivered(pdu, length)
        return None

    def _cds(self, _line: str, rest: str) -> AtEvent | None:
        fields = split_fields(rest)
        length = _int_field(fields, 0)
        if length is None:
            raise ProtocolError(f"expected <length>, got {rest!r}")
        self._pending_pdu = lambda pdu: StatusReportDelivered(pdu, length)
        return None

    def _cusd(self, _line: str, rest: str) -> AtEvent:
        fields = split_fields(rest)
        status = _int_field(fields, 0)
        if status is None:
            raise ProtocolError(f"expected <m>[,<str>,<dcs>], got {rest!r}")
        text = fields[1] if len(fields) > 1 else None
        return UssdReceived(status, text, _int_field(fields, 2))

    def _creg(self, _line: str, rest: str) -> AtEvent:
        fields = split_fields(rest)
        status = _int_field(fields, 0)
        if status is None:
            raise ProtocolError(f"expected <stat>[,<lac>,<ci>], got {rest!r}")
        return RegistrationChanged(
            status, fields[1] if len(fields) > 1 else None, fields[2] if len(fields) > 2 else None
        )
