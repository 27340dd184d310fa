"""The simulated modem: one object that speaks the AT dialect of a USB GSM/TD desk phone.

It is driven by whoever carries its bytes (the in-process pyserial URL handler, the
pty server, the TCP server): they call :meth:`ModemSimulator.receive_data` with what
the driver wrote, :meth:`ModemSimulator.read` for what the modem says, and
:meth:`ModemSimulator.tick` to let time pass (ring trains, periodic vendor URCs,
stalled answers). Tests and the control protocol script it: incoming calls, a caller
who gives up (no URC at all, as on a real network), SMS (single and multipart),
status reports, and faults — echo, a URC between the lines of a response, random
byte chunking, +CMS/+CME errors, SIM busy for the first commands, stalls, unplug.

The optional landline port (一机双号) is fitted unless ``pstn=False``: its calls ring
with the line-tagged reports the driver assumes (``^PSTNRING``; the caller ID as
``^PSTNCLIP`` once, decoded after the first ring; ``^PSTNCONN``, ``^PSTNEND``) and are
answered and hung up with ``AT^PSTNANS`` / ``AT^PSTNHUP``; see
:mod:`zhanye_sdk.devices.at`. They never appear in ``+CLCC``, which lists radio calls.

Thread-safe: every public method takes the simulator's lock, and :attr:`changed`
(a Condition on that lock) is notified when there is output.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable

import attrs

from zhanye_sdk.devices import pdu
from zhanye_sdk.errors import InvalidInput

__all__ = ["PROFILES", "Faults", "ModemSimulator", "SentSms", "SimProfile", "StoredSms"]


@attrs.frozen
class SimProfile:
    """How a particular modem model behaves.

    Args:
        name: profile name.
        vendor: ``"huawei"`` adds ^BOOT/^MODE at power-up, periodic ^RSSI, ^CONN/^CEND;
            ``"simcom"`` adds ``MISSED_CALL`` when a caller gives up; None: plain 27.007.
        echo_at_power_up: commands are echoed until ``ATE0``.
        sim_busy_commands: the first N commands after power-up get ``+CME ERROR: 14``.
        iccid_via: ``"ccid"`` answers AT+CCID; ``"crsm"`` only AT+CRSM (EF_ICCID).
        clcc: AT+CLCC is supported.
        rssi: the +CSQ value (0–31 GSM, 100–191 TD-SCDMA).
    """

    name: str = "generic"
    vendor: str | None = None
    echo_at_power_up: bool = False
    sim_busy_commands: int = 0
    iccid_via: str = "ccid"
    clcc: bool = True
    rssi: int = 23
    manufacturer: str = "Zhanye"
    model: str = "SIM-5112"
    imei: str = "867000012345678"
    imsi: str = "460001234567890"
    iccid: str = "89860012345678901234"
    own_number: str | None = "13912345678"
    operator: str = "CHINA MOBILE"
    rssi_interval: float = 2.0


PROFILES: dict[str, SimProfile] = {
    "generic": SimProfile(),
    "huawei": SimProfile(
        name="huawei",
        vendor="huawei",
        iccid_via="crsm",
        rssi=150,
        model="E1750",
        manufacturer="huawei",
        own_number=None,
    ),
    "busy-echo": SimProfile(name="busy-echo", echo_at_power_up=True, sim_busy_commands=3),
    "simcom": SimProfile(name="simcom", vendor="simcom", clcc=False, model="SIM800"),
}
"""Ready profiles: ``generic``; ``huawei`` (^RSSI/^BOOT/^MODE URCs, TD-SCDMA signal,
ICCID via +CRSM, no own number); ``busy-echo`` (echo on at power-up, SIM busy for the
first 3 commands); ``simcom`` (no AT+CLCC, ``MISSED_CALL`` URC)."""


@attrs.define
class Faults:
    """Faults switched on at run time.

    Args:
        echo: echo commands whatever ATE said.
        urc_mid_response: put ``mid_response_urc`` between the lines of every response.
        chunking: hand out output in random chunks of 1–7 bytes.
        stall: seconds by which the answer to each command is held back.
    """

    echo: bool = False
    urc_mid_response: bool = False
    mid_response_urc: str = "^RSSI: 18"
    chunking: bool = False
    stall: float = 0.0


@attrs.frozen
class SentSms:
    """A message the driver submitted with AT+CMGS."""

    message_reference: int
    recipient: str
    text: str | None
    concat: pdu.ConcatInfo | None
    pdu: str


@attrs.define
class StoredSms:
    """A message in the SIM's storage (``stat``: 0 unread, 1 read)."""

    index: int
    pdu: str
    stat: int = 0


@attrs.define
class _Call:
    number: str | None
    number_type: int
    incoming: bool
    state: int  # +CLCC stat: 0 active, 2 dialing, 3 alerting, 4 incoming
    withheld: bool = False
    next_ring: float = 0.0
    rings_left: int | None = None
    connect_at: float | None = None
    clip_sent: bool = False


# Commands a real modem answers while its SIM is still busy.
_NO_SIM_NEEDED = ("ATE", "AT+CMEE", "AT+IFC", "ATZ", "AT+CGM", "AT+CGSN", "AT+GSN")
_CMGS = re.compile(r"AT\+CMGS=(\d+)", re.I)


class ModemSimulator:
    """A scriptable modem (see module doc).

    Args:
        profile: a :class:`SimProfile` or the name of one in :data:`PROFILES`.
        faults: initial faults.
        seed: seed of the chunking randomness.
        ring_interval: seconds between RINGs of an incoming call.
        clock: monotonic clock used by injections.
        pstn: the landline port is fitted (see the module doc).
    """

    def __init__(
        self,
        profile: SimProfile | str = "generic",
        *,
        faults: Faults | None = None,
        seed: int = 0,
        ring_interval: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
        pstn: bool = True,
    ) -> None:
        if isinstance(profile, str):
            if profile not in PROFILES:
                raise InvalidInput(f"unknown profile {profile!r}; known: {sorted(PROFILES)}")
            profile = PROFILES[profile]
        self.profile = profile
        self.faults = faults or Faults()
        self.ring_interval = ring_interval
        self.clock = clock
        self.pstn = pstn
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.storage: dict[int, StoredSms] = {}
        self.sent: list[SentSms] = []
        self.commands: list[str] = []
        self.generation = 0
        self.plugged = True
        self.on_sent: Callable[[SentSms], None] | None = None
        self._rng = random.Random(seed)
        self._failures: deque[tuple[str, str]] = deque()
        self._next_mr = 0
        self._next_rssi = 0.0
        self._inbuf = bytearray()
        self._out: deque[tuple[float, bytes]] = deque()
        with self.lock:
            self._power_up()

    # ------------------------------------------------------------ power

    def _power_up(self) -> None:
        self.echo = self.profile.echo_at_power_up
        self.cmee = 0
        self.clip = False
        self.cmgf = 1
        self.cnmi = (0, 0, 0, 0, 0)
        self.busy_left = self.profile.sim_busy_commands
        self.call: _Call | None = None
        #: The call on the landline port, if any.
        self.landline: _Call | None = None
        self._payload_for: int | None = None
        self._inbuf.clear()
        self._out.clear()
        self.rssi = self.profile.rssi
        if self.profile.vendor == "huawei":
            self._urc("^BOOT: 20952658,0,0,0,72", "^MODE: 15,8")

    def unplug(self) -> None:
        """Pull the USB cable: output stops, the port goes away, calls drop. SIM storage
        stays (messages arriving meanwhile are stored without an indication)."""
        with self.lock:
            self.plugged = False
            self.generation += 1
            self.call = None
            self.landline = None
            self._inbuf.clear()
            self._out.clear()
            self.changed.notify_all()

    def replug(self) -> None:
        """Plug it back: the modem powers up again (echo, SIM busy, settings reset)."""
        with self.lock:
            if self.plugged:
                return
            self.plugged = True
            self.generation += 1
            self._power_up()
            self.changed.notify_all()

    # ------------------------------------------------------------ byte interface

    def receive_data(self, data: bytes) -> None:
        """Bytes written by the driver."""
        with self.lock:
            if not self.plugged:
                return
            self._inbuf += data
            self._process()
            self.changed.notify_all()

    def read(self, size: int = 4096, now: float | None = None) -> bytes:
        """Output that is due (at most ``size`` bytes; fewer when chunking)."""
        with self.lock:
            if not self.plugged:
                return b""
            now = self.clock() if now is None else now
            self._tick(now)
            if self.faults.chunking:
                size = min(size, self._rng.randint(1, 7))
            out = bytearray()
            while self._out and len(out) < size and self._out[0][0] <= now:
                at, chunk = self._out.popleft()
                take = size - len(out)
                out += chunk[:take]
                if len(chunk) > take:
                    self._out.appendleft((at, chunk[take:]))
            return bytes(out)

    def next_due(self) -> float | None:
        """When the next queued output becomes due, if any."""
        with self.lock:
            return self._out[0][0] if self._out else None

    def tick(self, now: float | None = None) -> None:
        """Let time pass (ring trains, periodic URCs, delayed connects)."""
        with self.lock:
            self._tick(self.clock() if now is None else now)

    def _tick(self, now: float) -> None:
        if not self.plugged:
            return
        call = self.call
        if call is not None and call.incoming and call.state == 4 and now >= call.next_ring:
            if call.rings_left is not None:
                if call.rings_left <= 0:
                    self._caller_gave_up()
                    return
                call.rings_left -= 1
            call.next_ring = now + self.ring_interval
            self._ring(call)
        landline = self.landline
        if landline is not None and landline.state == 4 and now >= landline.next_ring:
            if landline.rings_left is not None and landline.rings_left <= 0:
                self.landline = None  # the rings stop: that is all a landline says
            else:
                if landline.rings_left is not None:
                    landline.rings_left -= 1
                landline.next_ring = now + self.ring_interval
                self._urc("^PSTNRING")
                if not landline.clip_sent:
                    # The caller ID is sent between the first and the second ring.
                    landline.clip_sent = True
                    number = "" if landline.withheld else landline.number
                    fields = f'"{number}",{landline.number_type},"",,"",{int(landline.withheld)}'
                    line = f"\r\n^PSTNCLIP: {fields}\r\n"
                    self._emit(line.encode(), min(0.5, self.ring_interval / 3))
        if call is not None and call.connect_at is not None and now >= call.connect_at:
            call.connect_at = None
            call.state = 0
            if self.profile.vendor == "huawei":
                self._urc("^CONN: 1,0")
        if self.profile.vendor == "huawei" and now >= self._next_rssi:
            if self._next_rssi:
                self._urc(f"^RSSI: {self.rssi if self.rssi < 100 else self.rssi - 100}")
            self._next_rssi = now + self.profile.rssi_interval

    def _emit(self, data: bytes, delay: float = 0.0) -> None:
        self._out.append((self.clock() + delay, data))
        self.changed.notify_all()

    def _urc(self, *lines: str) -> None:
        if self.plugged:
            self._emit(b"".join(b"\r\n" + line.encode() + b"\r\n" for line in lines))

    # ------------------------------------------------------------ scripting

    def incoming_call(
        self,
        number: str | None = "13800138000",
        *,
        number_type: int | None = None,
        withheld: bool = False,
        rings: int | None = None,
    ) -> None:
        """A call comes in: RING (+ ``+CLIP`` when enabled) now and every ring interval.

        Args:
            number: the caller's number as the network sends it (no ``+`` with type 129).
            number_type: 145 when the number starts with ``+``, else 129, unless given.
            withheld: the caller hides the number (``+CLIP: "",128,,,,1``).
            rings: the caller gives up silently after this many RINGs (None: rings on).
        """
        with self.lock:
            if number_type is None:
                number_type = 145 if number and number.startswith("+") else 129
            self.call = _Call(
                None if withheld else number,
                128 if withheld else number_type,
                True,
                4,
                withheld=withheld,
                next_ring=self.clock(),
                rings_left=rings,
            )
            self._tick(self.clock())

    def landline_call(
        self,
        number: str | None = "02188886666",
        *,
        withheld: bool = False,
        rings: int | None = None,
    ) -> None:
        """A call comes in on the landline port (see the module doc): ``^PSTNRING`` now
        and every ring interval, the caller ID once after the first ring.

        Raises:
            InvalidInput: this desk phone has no landline port.
        """
        if not self.pstn:
            raise InvalidInput("this desk phone has no landline (PSTN) port")
        with self.lock:
            now = self.clock()
            self.landline = _Call(
                None if withheld else number,
                128 if withheld else 129,
                True,
                4,
                withheld=withheld,
                next_ring=now,
                rings_left=rings,
            )
            self._tick(now)

    def landline_picked_up(self) -> None:
        """The handset is lifted while the landline rings: ``^PSTNCONN``."""
        with self.lock:
            if self.landline is not None and self.landline.state == 4:
                self.landline.state = 0
                self._urc("^PSTNCONN")

    def landline_hangup(self) -> None:
        """The landline caller hangs up: the rings just stop while it rings,
        ``^PSTNEND`` once connected."""
        with self.lock:
            landline, self.landline = self.landline, None
            if landline is not None and landline.state == 0 and self.plugged:
                self._urc("^PSTNEND")

    def _ring(self, call: _Call) -> None:
        lines = ["RING"]
        if self.clip:
            if call.withheld:
                lines.append('+CLIP: "",128,,,,1')
            else:
                lines.append(f'+CLIP: "{call.number}",{call.number_type},"",,"",0')
        self._urc(*lines)

    def _caller_gave_up(self) -> None:
        call = self.call
        self.call = None
        if self.profile.vendor == "simcom" and call is not None:
            self._urc(f"MISSED_CALL: 10:23AM {call.number or ''}")
        # Everyone else: no URC at all, as on a real network.

    def remote_hangup(self) -> None:
        """The other party hangs up: silently while ringing, NO CARRIER once connected."""
        with self.lock:
            call = self.call
            if call is None:
                return
            if call.incoming and call.state == 4:
                self._caller_gave_up()
                return
            self.call = None
            if self.profile.vendor == "huawei":
                self._urc("^CEND: 1,0,104,16")
            self._urc("NO CARRIER")

    def receive_sms(
        self,
        sender: str,
        text: str,
        *,
        timestamp: dt.datetime | None = None,
        reference: int = 0,
        parts: slice | None = None,
    ) -> list[int]:
        """An SMS arrives (split into parts like a network would); returns SIM indices.

        ``parts`` selects which parts arrive now (e.g. ``slice(0, 1)``), so a test can
        deliver the rest later.
        """
        when = timestamp or dt.datetime(
            2026, 11, 23, 12, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))
        )
        pdus = pdu.encode_deliver(sender, text, when, reference=reference)
        return self.deliver_pdus(pdus[parts] if parts is not None else pdus)

    def deliver_pdus(self, pdus: list[str]) -> list[int]:
        """Deliver SMS-DELIVER PDUs (hex with SMSC field): stored with +CMTI, or routed
        with +CMT when AT+CNMI asked for it."""
        indices = []
        with self.lock:
            for hex_pdu in pdus:
                if self.plugged and self.cnmi[1] == 2:
                    length = len(hex_pdu) // 2 - (int(hex_pdu[:2], 16) + 1)
                    self._urc(f"+CMT: ,{length}", hex_pdu)
                    continue
                index = next(i for i in range(1, 1000) if i not in self.storage)
                self.storage[index] = StoredSms(index, hex_pdu)
                indices.append(index)
                if self.plugged and self.cnmi[1] in (1, 3):
                    self._urc(f'+CMTI: "SM",{index}')
        return indices

    def status_report(self, message_reference: int, recipient: str, status: int = 0) -> None:
        """The network reports on a sent message (+CDS when AT+CNMI routes it)."""
        when = dt.datetime(2026, 11, 23, 12, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        hex_pdu = pdu.encode_status_report(message_reference, recipient, status, when)
        with self.lock:
            length = len(hex_pdu) // 2 - 1
            self._urc(f"+CDS: {length}", hex_pdu)

    def fail_next(self, prefix: str, result: str) -> None:
        """Answer the next command starting with ``prefix`` with ``result`` (e.g.
        ``fail_next("AT+CMGS", "+CMS ERROR: 42")``)."""
        with self.lock:
            self._failures.append((prefix.upper(), result))

    def urc(self, line: str) -> None:
        """Send any line as a URC."""
        with self.lock:
            self._urc(line)

    # ------------------------------------------------------------ command processing

    def _process(self) -> None:
        while True:
            if self._payload_for is not None:
                end = -1
                for marker in (b"\x1a", b"\x1b"):
                    pos = self._inbuf.find(marker)
                    if pos >= 0 and (end < 0 or pos < end):
                        end = pos
                if end < 0:
                    return
                payload = bytes(self._inbuf[:end])
                cancelled = self._inbuf[end] == 0x1B
                del self._inbuf[: end + 1]
                if self.echo or self.faults.echo:
                    self._emit(payload + (b"\x1b" if cancelled else b"\x1a"))
                length, self._payload_for = self._payload_for, None
                if cancelled:
                    self._answer([], "OK")
                else:
                    self._submit(payload.decode("ascii", "replace").strip(), length)
                continue
            pos = self._inbuf.find(b"\r")
            if pos < 0:
                if len(self._inbuf) > 4096:
                    self._inbuf.clear()
                return
            raw = bytes(self._inbuf[:pos])
            del self._inbuf[: pos + 1]
            if self.echo or self.faults.echo:
                self._emit(raw + b"\r")
            text = raw.decode("ascii", "replace").strip().lstrip("\n")
            if not text:
                continue
            self._command(text)

    def _answer(self, lines: list[str], final: str) -> None:
        body = [b"\r\n" + line.encode() + b"\r\n" for line in lines]
        if self.faults.urc_mid_response:
            urc = b"\r\n" + self.faults.mid_response_urc.encode() + b"\r\n"
            body.insert(1 if body else 0, urc)
        body.append(b"\r\n" + final.encode() + b"\r\n")
        self._emit(b"".join(body), self.faults.stall)

    def _error(self, kind: str, code: int, verbose: str) -> str:
        if self.cmee == 0:
            return "ERROR"
        if self.cmee == 2:
            return f"+{kind} ERROR: {verbose}"
        return f"+{kind} ERROR: {code}"

    def _command(self, text: str) -> None:
        self.commands.append(text)
        upper = text.upper()
        for i, (prefix, result) in enumerate(self._failures):
            if upper.startswith(prefix):
                del self._failures[i]
                if upper.startswith("AT+CMGS"):
                    # The error comes after the payload, like a network rejection.
                    match = _CMGS.fullmatch(text)
                    self._payload_for = int(match.group(1)) if match else 0
                    self._emit(b"\r\n> ")
                    self._failures.appendleft(("\x00PAYLOAD", result))
                    return
                self._answer([], result)
                return
        if self.busy_left > 0 and upper != "AT" and not upper.startswith(_NO_SIM_NEEDED):
            self.busy_left -= 1
            self._answer([], self._error("CME", 14, "SIM busy"))
            return
        if not upper.startswith("AT"):
            self._answer([], "ERROR")
            return
        try:
            lines, final = self._execute(text, upper)
        except (ValueError, IndexError, KeyError):
            lines, final = [], "ERROR"
        if final:
            self._answer(lines, final)

    def _execute(self, text: str, upper: str) -> tuple[list[str], str]:  # noqa: C901
        p = self.profile
        if upper in ("AT", "ATZ", "AT&F", "AT+IFC=0,0", "AT+CFUN=1"):
            return [], "OK"
        if upper in ("ATE0", "ATE1", "ATE"):
            self.echo = upper == "ATE1"
            return [], "OK"
        if upper.startswith("AT+CMEE="):
            self.cmee = int(upper[8:])
            return [], "OK"
        if upper.startswith("AT+CLIP="):
            self.clip = upper[8:] == "1"
            return [], "OK"
        if upper.startswith("AT+CMGF="):
            self.cmgf = int(upper[8:])
            return [], "OK"
        if upper.startswith("AT+CNMI="):
            values = [int(v) if v else 0 for v in upper[8:].split(",")]
            self.cnmi = tuple((values + [0] * 5)[:5])  # type: ignore[assignment]
            return [], "OK"
        if upper in ("AT+CGSN", "AT+GSN"):
            return [p.imei], "OK"
        if upper == "AT+CIMI":
            return [p.imsi], "OK"
        if upper in ("AT+CGMI", "AT+GMI"):
            return [p.manufacturer], "OK"
        if upper in ("AT+CGMM", "AT+GMM"):
            return [p.model], "OK"
        if upper in ("AT+CCID", "AT+ICCID", "AT^ICCID?"):
            if p.iccid_via != "ccid":
                return [], "ERROR"
            return [f"+CCID: {p.iccid}"], "OK"
        if upper.startswith("AT+CRSM=176,12258"):
            digits = p.iccid.ljust(20, "F")
            swapped = "".join(digits[i + 1] + digits[i] for i in range(0, 20, 2))
            return [f'+CRSM: 144,0,"{swapped}"'], "OK"
        if upper == "AT+CNUM":
            if p.own_number is None:
                return [], "OK"
            return [f'+CNUM: "","{p.own_number}",129'], "OK"
        if upper == "AT+COPS?":
            return [f'+COPS: 0,0,"{p.operator}",2'], "OK"
        if upper == "AT+CREG?":
            return ["+CREG: 0,1"], "OK"
        if upper == "AT+CSQ":
            return [f"+CSQ: {self.rssi},99"], "OK"
        if upper == "AT+CLCC":
            if not p.clcc:
                return [], "ERROR"
            call = self.call
            if call is None:
                return [], "OK"
            number = call.number or ""
            line = f'+CLCC: 1,{0 if not call.incoming else 1},{call.state},0,0,"{number}",'
            return [line + str(call.number_type)], "OK"
        if upper == "AT^PSTNANS":
            landline = self.landline
            if not self.pstn:
                return [], "ERROR"
            if landline is None or landline.state != 4:
                return [], "NO CARRIER"
            landline.state = 0
            return [], "OK"
        if upper == "AT^PSTNHUP":
            if not self.pstn:
                return [], "ERROR"
            self.landline = None
            return [], "OK"
        if upper == "ATA":
            call = self.call
            if call is None or not call.incoming or call.state != 4:
                return [], "NO CARRIER"
            call.state = 0
            if p.vendor == "huawei":
                self._urc("^CONN: 1,0")
            return [], "OK"
        if upper in ("ATH", "AT+CHUP", "ATH0"):
            if self.call is not None and p.vendor == "huawei":
                self._urc("^CEND: 1,0,104,16")
            self.call = None
            return [], "OK"
        if upper.startswith("ATD"):
            number = text[3:].rstrip(";")
            if number.endswith("0000"):
                return [], "BUSY"
            self.call = _Call(number, 129, False, 2, connect_at=self.clock() + 0.2)
            return [], "OK"
        match = _CMGS.fullmatch(text)
        if match:
            if self.cmgf != 0:
                return [], self._error("CMS", 302, "operation not allowed")
            self._payload_for = int(match.group(1))
            self._emit(b"\r\n> ")  # no line end after the prompt
            return [], ""
        if upper.startswith("AT+CMGL"):
            wanted = upper.partition("=")[2] or "4"
            lines = []
            for index in sorted(self.storage):
                sms = self.storage[index]
                if wanted in ("4", str(sms.stat)):
                    lines += [f"+CMGL: {index},{sms.stat},,{self._tpdu_len(sms.pdu)}", sms.pdu]
                    sms.stat = 1
            return lines, "OK"
        if upper.startswith("AT+CMGR="):
            index = int(upper[8:])
            if index not in self.storage:
                return [], self._error("CMS", 321, "invalid memory index")
            sms = self.storage[index]
            stat, sms.stat = sms.stat, 1
            return [f"+CMGR: {stat},,{self._tpdu_len(sms.pdu)}", sms.pdu], "OK"
        if upper.startswith("AT+CMGD="):
            args = [int(v) for v in upper[8:].split(",")]
            if len(args) > 1 and args[1] == 4:
                self.storage.clear()
            elif len(args) > 1 and args[1] == 1:
                for i in [i for i, s in self.storage.items() if s.stat == 1]:
                    del self.storage[i]
            else:
                self.storage.pop(args[0], None)
            return [], "OK"
        if upper.startswith("AT+CPMS"):
            n = len(self.storage)
            return [f'+CPMS: "SM",{n},50,"SM",{n},50,"SM",{n},50'], "OK"
        if upper.startswith("AT+CUSD="):
            self._urc('+CUSD: 0,"Balance 12.50 yuan",15')
            return [], "OK"
        return [], "ERROR"

    @staticmethod
    def _tpdu_len(hex_pdu: str) -> int:
        return len(hex_pdu) // 2 - (int(hex_pdu[:2], 16) + 1)

    def _submit(self, hex_pdu: str, length: int) -> None:
        if self._failures and self._failures[0][0] == "\x00PAYLOAD":
            _, result = self._failures.popleft()
            self._answer([], result)
            return
        try:
            decoded = pdu.decode(hex_pdu)
            if not isinstance(decoded, pdu.SmsSubmit):
                raise InvalidInput("not an SMS-SUBMIT")
            if self._tpdu_len(hex_pdu) != length:
                raise InvalidInput("length mismatch")
        except (InvalidInput, ValueError):
            self._answer([], self._error("CMS", 304, "invalid PDU mode parameter"))
            return
        mr = self._next_mr
        self._next_mr = (self._next_mr + 1) % 256
        sent = SentSms(mr, decoded.recipient, decoded.text, decoded.concat, hex_pdu)
        self.sent.append(sent)
        if self.on_sent is not None:
            self.on_sent(sent)
        self._answer([f"+CMGS: {mr}"], "OK")
