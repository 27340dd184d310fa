"""SMS PDU codec (3GPP TS 23.040 / 23.038): SMS-SUBMIT, SMS-DELIVER, SMS-STATUS-REPORT.

Theory of operation
-------------------
Sans-I/O: strings of hex in, attrs values out, and back. Nothing here touches a port
or a clock; the reassembler is handed the time.

* :func:`encode_submit` turns a number and a text into the PDUs that ``AT+CMGS`` takes
  in PDU mode (``AT+CMGF=0``). The text goes as GSM 7-bit when every character is in
  the default alphabet or its extension table, else as UCS2 (UTF-16BE, so characters
  outside the BMP travel as surrogate pairs, as every current phone expects). It is one
  PDU when it fits in 160 septets / 70 UTF-16 units; otherwise concatenated parts with a
  user-data header (IEI 00, 8-bit reference; or IEI 08, 16-bit reference), split by
  encoded budget: 153 septets (152 with a 16-bit reference) or 67 units (66) a part,
  never between an escape and its character nor inside a surrogate pair.
* :func:`decode` reads any of the three TPDUs a modem shows (``+CMT``, ``+CMGR``,
  ``+CMGL``, ``+CDS``), SUBMIT included so a simulator can read what a driver sends.
* :func:`encode_deliver` and :func:`encode_status_report` produce what a network would
  deliver (for the modem simulator and for tests).
* :class:`SmsAssembler` joins the parts of concatenated messages, in any order, once
  each, and gives back incomplete messages after a timeout with the holes marked.

Numbers: ``"+8613800138000"`` is sent with type of address 0x91 (international, ISDN);
a number without ``+`` such as ``"13800138000"`` with 0x81 (type *unknown*, ISDN): the
network then reads the digits as the user dialled them, as a handset does, so national,
short (``10086``) and ``00``-prefixed numbers all work and no prefix is ever invented.
Spaces, hyphens, dots and parentheses are dropped as formatting. Alphanumeric
addresses exist only as senders (a network names the sender, a phone cannot).

Errors: bad arguments to the encoders raise :class:`~zhanye_sdk.errors.InvalidInput`;
every structural problem of a PDU being decoded raises :class:`PduError` (a subclass
of it) naming the octet. Content problems are not structural and decode leniently:
invalid UTF-16 (a lone surrogate, an odd last octet) shows U+FFFD, an unknown
7-bit escape shows the base character, invalid digits of a time-zone octet read as 0
(as Android does), a concatenation element with impossible numbers is ignored, and
octets after the user data are ignored.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Literal, NamedTuple

import attrs

from zhanye_sdk.devices import gsm7
from zhanye_sdk.errors import InvalidInput

__all__ = [
    "ConcatInfo",
    "DEFAULT_REASSEMBLY_TIMEOUT",
    "Encoding",
    "IncomingSms",
    "MAX_PARTS",
    "PartCount",
    "PduError",
    "SmsAssembler",
    "SmsDeliver",
    "SmsPdu",
    "SmsStatusReport",
    "SmsSubmit",
    "SubmitPart",
    "count_parts",
    "decode",
    "encode_deliver",
    "encode_status_report",
    "encode_submit",
    "status_meaning",
    "validity_from_vp",
    "vp_from_validity",
]

Encoding = Literal["gsm7", "ucs2", "8bit"]
"""How the user data is coded: GSM 7-bit, UCS2 (read as UTF-16BE) or 8-bit data."""

DEFAULT_REASSEMBLY_TIMEOUT = 24 * 3600.0
"""Seconds an incomplete concatenated message waits for its missing parts."""

MAX_PARTS = 255
_SINGLE_SEPTETS = 160
_SINGLE_UNITS = 70
_MAX_ADDRESS_DIGITS = 20
_MAX_ALPHANUMERIC = 11

_TOA_INTERNATIONAL = 0x91
_TOA_UNKNOWN = 0x81
_TOA_ALPHANUMERIC = 0xD0
_TON_INTERNATIONAL = 1
_TON_ALPHANUMERIC = 5

_IEI_CONCAT_8 = 0x00
_IEI_CONCAT_16 = 0x08


class PduError(InvalidInput):
    """A PDU is malformed; the message says what is wrong and at which octet.

    Attributes:
        octet: index (0-based, in the whole PDU as given) of the octet at fault, if known.
    """

    def __init__(self, message: str, *, octet: int | None = None) -> None:
        super().__init__(message)
        self.octet = octet


# ---------------------------------------------------------------------------- types


@attrs.frozen
class ConcatInfo:
    """The concatenation element of one part: which message, how many parts, which one.

    ``reference_bits`` is 8 (IEI 00) or 16 (IEI 08).
    """

    reference: int
    parts: int
    part: int
    reference_bits: int = 8


@attrs.frozen
class SubmitPart:
    """One SMS-SUBMIT PDU ready for ``AT+CMGS=<tpdu_length>``.

    Attributes:
        hex: the whole PDU as uppercase hex, starting with the SMSC field (``"00"``: use
            the SMSC stored on the SIM).
        tpdu_length: octets after the SMSC field, the number ``AT+CMGS=`` takes.
        part: 1-based index of this part.
        parts: how many parts the message has.
        reference: the concatenation reference, None for a single-part message.
    """

    hex: str
    tpdu_length: int
    part: int
    parts: int
    reference: int | None


class PartCount(NamedTuple):
    """What a text costs: its encoding, the parts it needs and its encoded length.

    ``units`` is septets for ``"gsm7"`` (extension characters count two) and UTF-16 code
    units for ``"ucs2"`` (characters outside the BMP count two).
    """

    encoding: Encoding
    parts: int
    units: int


@attrs.frozen
class SmsDeliver:
    """A received message (SMS-DELIVER, or one part of a concatenated one).

    Attributes:
        smsc: the service centre's number, None when the PDU had none.
        sender: the originating address exactly as the network sent it: a leading ``+``
            only when its type of number is international; alphanumeric senders decoded.
        sender_type: the type-of-address octet of the sender (0x91, 0x81, 0xA1, 0xD0 …).
        text: the text, or None for 8-bit data and compressed messages (see
            ``user_data``).
        timestamp: the service-centre time stamp, timezone-aware.
        encoding: how the user data is coded.
        concat: the concatenation element, None for a message in one part.
        user_data_header: the user-data header as sent, its length octet included;
            empty when there is none.
        user_data: the body after the header: one septet per byte for ``"gsm7"``, the
            octets otherwise (UTF-16BE for ``"ucs2"``).
        protocol_id: TP-PID.
        data_coding: TP-DCS.
        message_class: 0 (flash) … 3, or None when the DCS names no class.
        more_messages: the service centre has more messages waiting (TP-MMS).
        reply_path: TP-RP.
        status_report_indication: the sender asked for a status report (TP-SRI).
    """

    smsc: str | None
    sender: str
    sender_type: int
    text: str | None
    timestamp: dt.datetime
    encoding: Encoding
    concat: ConcatInfo | None
    user_data_header: bytes
    user_data: bytes
    protocol_id: int = 0
    data_coding: int = 0
    message_class: int | None = None
    more_messages: bool = False
    reply_path: bool = False
    status_report_indication: bool = False

    @property
    def information_elements(self) -> tuple[tuple[int, bytes], ...]:
        """The user-data header's elements as (IEI, data) pairs."""
        return _information_elements(self.user_data_header, 0)


@attrs.frozen
class SmsSubmit:
    """A message as a phone sends it (SMS-SUBMIT), read back by :func:`decode`.

    Attributes:
        recipient: the destination address as written in the PDU (``+`` when
            international).
        recipient_type: its type-of-address octet.
        validity: a relative validity period, an absolute expiry time, or None.
        message_reference: TP-MR.
        status_report_request: TP-SRR.
        reject_duplicates: TP-RD.

    The other attributes mean what they mean in :class:`SmsDeliver`.
    """

    smsc: str | None
    recipient: str
    recipient_type: int
    text: str | None
    encoding: Encoding
    concat: ConcatInfo | None
    user_data_header: bytes
    user_data: bytes
    message_reference: int = 0
    validity: dt.timedelta | dt.datetime | None = None
    status_report_request: bool = False
    reject_duplicates: bool = False
    reply_path: bool = False
    protocol_id: int = 0
    data_coding: int = 0
    message_class: int | None = None

    @property
    def information_elements(self) -> tuple[tuple[int, bytes], ...]:
        """The user-data header's elements as (IEI, data) pairs."""
        return _information_elements(self.user_data_header, 0)


@attrs.frozen
class SmsStatusReport:
    """What became of a sent message (SMS-STATUS-REPORT).

    Attributes:
        smsc: the service centre's number, None when the PDU had none.
        message_reference: TP-MR of the SMS-SUBMIT this reports on (the number
            ``+CMGS:`` answered).
        recipient: the address the message was sent to, as the network writes it.
        recipient_type: its type-of-address octet.
        timestamp: when the service centre received the message.
        discharge_time: when it was delivered, or when delivery was last attempted.
        status: TP-ST; see :attr:`status_meaning`, :attr:`delivered`, :attr:`pending`.
        more_messages: the service centre has more messages waiting (TP-MMS).
        for_command: the report answers an SMS-COMMAND rather than a SUBMIT (TP-SRQ).
        text: the optional user data's text, None when absent or 8-bit.
        user_data_header: the optional user-data header, empty when absent.
    """

    smsc: str | None
    message_reference: int
    recipient: str
    recipient_type: int
    timestamp: dt.datetime
    discharge_time: dt.datetime
    status: int
    more_messages: bool = False
    for_command: bool = False
    text: str | None = None
    user_data_header: bytes = b""

    @property
    def status_meaning(self) -> str:
        """The meaning of :attr:`status` in words (23.040 §9.2.3.15)."""
        return status_meaning(self.status)

    @property
    def delivered(self) -> bool:
        """The transaction is complete: the message reached the recipient."""
        return self.status < 0x20

    @property
    def pending(self) -> bool:
        """A temporary error; the service centre is still trying."""
        return 0x20 <= self.status < 0x40

    @property
    def failed(self) -> bool:
        """The service centre has given up (a permanent error or a final temporary one)."""
        return self.status >= 0x40


SmsPdu = SmsDeliver | SmsStatusReport | SmsSubmit
"""Whatever :func:`decode` returns."""


@attrs.frozen
class IncomingSms:
    """A whole received message, its concatenated parts joined.

    Attributes:
        sender: as in :attr:`SmsDeliver.sender`.
        text: the text; when parts are missing each one shows as the assembler's
            placeholder. Empty for 8-bit data (see ``data``).
        timestamp: the service-centre time stamp of the first part received by number.
        parts: how many parts the message has.
        complete: every part arrived.
        missing: the numbers of the parts that never arrived.
        smsc: the service centre of the first part.
        encoding: the encoding of the first part.
        data: the joined bytes of 8-bit parts, None for text.
    """

    sender: str
    text: str
    timestamp: dt.datetime
    parts: int
    complete: bool
    missing: tuple[int, ...] = ()
    smsc: str | None = None
    encoding: Encoding = "gsm7"
    data: bytes | None = None


# ------------------------------------------------------------------ status meanings

_STATUS_MEANINGS: dict[int, str] = {
    0x00: "short message received by the recipient",
    0x01: "forwarded to the recipient; the service centre cannot confirm delivery",
    0x02: "replaced by the service centre",
    0x20: "congestion; still trying",
    0x21: "recipient busy; still trying",
    0x22: "no response from the recipient; still trying",
    0x23: "service rejected; still trying",
    0x24: "quality of service not available; still trying",
    0x25: "error in the recipient's phone; still trying",
    0x40: "remote procedure error",
    0x41: "incompatible destination",
    0x42: "connection rejected by the recipient",
    0x43: "not obtainable",
    0x44: "quality of service not available",
    0x45: "no interworking available",
    0x46: "validity period expired",
    0x47: "deleted by the sender",
    0x48: "deleted by the service centre's administration",
    0x49: "the message does not exist",
    0x60: "congestion; no longer trying",
    0x61: "recipient busy; no longer trying",
    0x62: "no response from the recipient; no longer trying",
    0x63: "service rejected; no longer trying",
    0x64: "quality of service not available; no longer trying",
    0x65: "error in the recipient's phone; no longer trying",
}


def status_meaning(status: int) -> str:
    """The meaning of a TP-Status value (23.040 §9.2.3.15), reserved ranges included."""
    known = _STATUS_MEANINGS.get(status)
    if known is not None:
        return known
    if status < 0x10:
        return f"delivered (reserved status 0x{status:02X})"
    if status < 0x20:
        return f"delivered (service-centre specific status 0x{status:02X})"
    if status < 0x30:
        return f"temporary error, still trying (reserved status 0x{status:02X})"
    if status < 0x40:
        return f"temporary error, still trying (service-centre specific status 0x{status:02X})"
    if status < 0x50:
        return f"permanent error (reserved status 0x{status:02X})"
    if status < 0x60:
        return f"permanent error (service-centre specific status 0x{status:02X})"
    if status < 0x70:
        return f"temporary error, no longer trying (reserved status 0x{status:02X})"
    if status < 0x80:
        return f"temporary error, no longer trying (service-centre specific status 0x{status:02X})"
    return f"reserved status 0x{status:02X}, read as a failure"


# --------------------------------------------------------------------- validity


def vp_from_validity(validity: dt.timedelta) -> int:
    """The relative TP-VP octet (TP-VPF = 10) for a validity period (23.040 §9.2.3.12.1).

    The period is rounded up to the next value the octet can express (5-minute steps up
    to 12 h, 30-minute steps up to 24 h, days up to 30, weeks up to 63), so a message is
    never discarded earlier than asked; longer periods are clamped to 63 weeks.

    Raises:
        InvalidInput: the period is zero or negative.
    """
    seconds = validity.total_seconds()
    if seconds <= 0:
        raise InvalidInput(f"validity must be a positive period, got {validity}")
    minutes = -(-(validity // dt.timedelta(microseconds=1)) // 60_000_000)
    if minutes <= 12 * 60:
        return max(0, -(-minutes // 5) - 1)
    if minutes <= 24 * 60:
        return 143 + -(-(minutes - 12 * 60) // 30)
    if minutes <= 30 * 24 * 60:
        return 166 + -(-minutes // (24 * 60))
    if minutes <= 63 * 7 * 24 * 60:
        return 192 + max(5, -(-minutes // (7 * 24 * 60)))
    return 255


def validity_from_vp(vp: int) -> dt.timedelta:
    """The period a relative TP-VP octet stands for (23.040 §9.2.3.12.1)."""
    if not 0 <= vp <= 255:
        raise InvalidInput(f"a relative TP-VP is one octet (0-255), got {vp}")
    if vp <= 143:
        return dt.timedelta(minutes=(vp + 1) * 5)
    if vp <= 167:
        return dt.timedelta(hours=12, minutes=(vp - 143) * 30)
    if vp <= 196:
        return dt.timedelta(days=vp - 166)
    return dt.timedelta(weeks=vp - 192)


# ----------------------------------------------------------------------- hex in


_NON_HEX = re.compile(r"[^0-9A-Fa-f]")


def _from_hex(hex_pdu: str | bytes) -> bytes:
    if isinstance(hex_pdu, bytes | bytearray):
        try:
            hex_pdu = bytes(hex_pdu).decode("ascii")
        except UnicodeDecodeError as exc:
            raise PduError(
                f"non-ASCII byte 0x{hex_pdu[exc.start]:02X} at position {exc.start} of the hex PDU",
                octet=exc.start // 2,
            ) from None
    if not isinstance(hex_pdu, str):
        raise PduError(f"a PDU is a string of hex digits, got {type(hex_pdu).__name__}")
    text = hex_pdu.strip()
    if not text:
        raise PduError("the PDU is empty", octet=0)
    bad = _NON_HEX.search(text)
    if bad is not None:
        raise PduError(
            f"non-hex character {bad.group()!r} at position {bad.start()} of the PDU "
            f"(octet {bad.start() // 2})",
            octet=bad.start() // 2,
        )
    if len(text) % 2:
        raise PduError(
            f"odd number of hex digits ({len(text)}): octet {len(text) // 2} is cut in half",
            octet=len(text) // 2,
        )
    return bytes.fromhex(text)


class _Reader:
    """Reads a PDU front to back; every shortfall is a PduError naming the octet."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def octet(self, what: str) -> int:
        if self.pos >= len(self.data):
            raise PduError(
                f"the PDU ends after {len(self.data)} octets, before {what} (octet {self.pos})",
                octet=self.pos,
            )
        value = self.data[self.pos]
        self.pos += 1
        return value

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise PduError(
                f"the PDU ends after {len(self.data)} octets, but {what} needs {n} octets "
                f"from octet {self.pos}",
                octet=self.pos,
            )
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk


# --------------------------------------------------------------------- addresses

_FORMATTING = str.maketrans("", "", " -().\t")
_DIALLABLE = re.compile(r"[0-9*#]+")
_DIGITS_TO_NIBBLES = str.maketrans({"*": "A", "#": "B"})
_NIBBLES_TO_DIGITS = str.maketrans({"a": "*", "b": "#", "c": "a", "d": "b", "e": "c", "f": None})


_SWAP_NIBBLES = bytes(((b & 0x0F) << 4) | (b >> 4) for b in range(256))


def _bcd(digits: str) -> bytes:
    """Semi-octets, low nibble first, padded with F (23.040 §9.1.2.3)."""
    nibbles = digits.translate(_DIGITS_TO_NIBBLES)
    if len(nibbles) % 2:
        nibbles += "F"
    return bytes.fromhex(nibbles).translate(_SWAP_NIBBLES)


def _unbcd(data: bytes, count: int) -> str:
    # A filler F inside the declared digits is skipped rather than refused.
    return data.translate(_SWAP_NIBBLES).hex()[:count].translate(_NIBBLES_TO_DIGITS)


def _phone_number(number: str, what: str) -> tuple[int, str] | None:
    """(type of address, digits) of a phone number, None when it is not one."""
    if not isinstance(number, str):
        raise InvalidInput(f"{what} must be a string, got {type(number).__name__}")
    cleaned = number.strip().translate(_FORMATTING)
    international = cleaned.startswith("+")
    digits = cleaned[1:] if international else cleaned
    if not _DIALLABLE.fullmatch(digits):
        return None
    if len(digits) > _MAX_ADDRESS_DIGITS:
        raise InvalidInput(
            f"{what} {number!r} has {len(digits)} digits; an SMS address holds at most "
            f"{_MAX_ADDRESS_DIGITS}"
        )
    return (_TOA_INTERNATIONAL if international else _TOA_UNKNOWN), digits


def _address_field(
    number: str, what: str, *, allow_alphanumeric: bool, toa: int | None = None
) -> bytes:
    """A TP address field: digit count, type of address, semi-octets (or packed 7-bit)."""
    parsed = _phone_number(number, what)
    if parsed is None:
        if not allow_alphanumeric:
            raise InvalidInput(
                f"{what} {number!r} is not a phone number (digits, * and #, an optional "
                "leading +); alphanumeric addresses can only be senders"
            )
        if not number or not gsm7.is_gsm7(number):
            raise InvalidInput(
                f"alphanumeric {what} {number!r} must be GSM 7-bit characters, not empty"
            )
        septets = gsm7.encode_septets(number)
        if len(septets) > _MAX_ALPHANUMERIC:
            raise InvalidInput(
                f"alphanumeric {what} {number!r} takes {len(septets)} septets; at most "
                f"{_MAX_ALPHANUMERIC} fit"
            )
        packed = gsm7.pack_septets(septets)
        semi_octets = (len(septets) * 7 + 3) // 4
        return bytes([semi_octets, _TOA_ALPHANUMERIC]) + packed
    default_toa, digits = parsed
    if toa is not None:
        if not 0x80 <= toa <= 0xFF or (toa >> 4) & 7 == _TON_ALPHANUMERIC:
            raise InvalidInput(
                f"type of address for {what} must be 0x80-0xFF and not alphanumeric, "
                f"got 0x{toa:02X}"
            )
        if default_toa == _TOA_INTERNATIONAL and (toa >> 4) & 7 != _TON_INTERNATIONAL:
            raise InvalidInput(
                f"{what} {number!r} starts with + but type of address 0x{toa:02X} is not "
                "international"
            )
    else:
        toa = default_toa
    return bytes([len(digits), toa]) + _bcd(digits)


def _smsc_field(smsc: str | None) -> bytes:
    if smsc is None:
        return b"\x00"
    parsed = _phone_number(smsc, "SMSC")
    if parsed is None or not parsed[1]:
        raise InvalidInput(f"SMSC {smsc!r} is not a phone number (digits, optional leading +)")
    toa, digits = parsed
    body = bytes([toa]) + _bcd(digits)
    return bytes([len(body)]) + body


def _number_text(toa: int, digits: str) -> str:
    if (toa >> 4) & 7 == _TON_INTERNATIONAL and digits:
        return "+" + digits
    return digits


def _read_address(r: _Reader, what: str) -> tuple[str, int]:
    at = r.pos
    length = r.octet(f"the {what} length")
    toa = r.octet(f"the {what} type of address")
    raw = r.take((length + 1) // 2, f"the {what} ({length} semi-octets, declared at octet {at})")
    if (toa >> 4) & 7 == _TON_ALPHANUMERIC:
        septets = gsm7.unpack_septets(raw, length * 4 // 7)
        return gsm7.decode_septets(septets), toa
    return _number_text(toa, _unbcd(raw, length)), toa


def _read_smsc(r: _Reader) -> str | None:
    at = r.pos
    length = r.octet("the SMSC length")
    if length == 0:
        return None
    body = r.take(length, f"the SMSC address ({length} octets, declared at octet {at})")
    toa = body[0]
    return _number_text(toa, _unbcd(body[1:], 2 * (length - 1)))


# -------------------------------------------------------------------- timestamps


def _scts(ts: dt.datetime, what: str) -> bytes:
    """A 7-octet service-centre time stamp (23.040 §9.2.3.11), zone in quarter hours."""
    offset = ts.utcoffset() if isinstance(ts, dt.datetime) else None
    if offset is None:
        raise InvalidInput(f"{what} must be a timezone-aware datetime, got {ts!r}")
    quarters, rest = divmod(int(offset.total_seconds()), 900)
    if rest or offset.microseconds or not -79 <= quarters <= 79:
        raise InvalidInput(
            f"{what}'s UTC offset {offset} is not a whole number of quarter hours within "
            "±19:45, which is all an SMS time stamp can carry"
        )
    if not 1990 <= ts.year <= 2089:
        raise InvalidInput(f"{what} year {ts.year} is outside 1990-2089, the SMS year window")
    digits = (
        f"{ts.year % 100:02d}{ts.month:02d}{ts.day:02d}{ts.hour:02d}{ts.minute:02d}{ts.second:02d}"
    )
    zone_tens, zone_units = divmod(abs(quarters), 10)
    zone = (zone_units << 4) | zone_tens | (0x08 if quarters < 0 else 0)
    return _bcd(digits) + bytes([zone])


def _read_scts(r: _Reader, what: str) -> dt.datetime:
    at = r.pos
    raw = r.take(7, what)
    digits = raw[:6].translate(_SWAP_NIBBLES).hex()
    if not digits.isdigit():
        i = next(i for i in range(6) if not digits[2 * i : 2 * i + 2].isdigit())
        raise PduError(
            f"{what} octet {at + i} (0x{raw[i]:02X}) is not two decimal semi-octets",
            octet=at + i,
        )
    values = [int(digits[i : i + 2]) for i in range(0, 12, 2)]
    zone = raw[6]
    # Invalid BCD digits in the zone octet are read as 0, as Android does: some service
    # centres send them, and the message matters more than its zone.
    tens = zone & 0x07
    units = zone >> 4
    quarters = tens * 10 + (units if units <= 9 else 0)
    if zone & 0x08:
        quarters = -quarters
    yy, month, day, hour, minute, second = values
    year = yy + (1900 if yy >= 90 else 2000)
    try:
        tz = dt.timezone(dt.timedelta(minutes=15 * quarters))
        return dt.datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError as exc:
        raise PduError(
            f"{what} at octet {at} is not a valid date and time ({raw.hex().upper()}): {exc}",
            octet=at,
        ) from None


# -------------------------------------------------------------- data coding scheme


def _read_dcs(dcs: int) -> tuple[Encoding, int | None]:
    """(encoding, message class) of a TP-DCS octet (23.038 §4).

    Compressed text (which we can't decompress) is read as 8-bit data.
    """
    group = dcs >> 4
    if group <= 0x7:  # general data coding, with or without automatic deletion
        alphabet = (dcs >> 2) & 3
        encoding: Encoding = "8bit" if alphabet == 1 else "ucs2" if alphabet == 2 else "gsm7"
        if dcs & 0x20:
            encoding = "8bit"
        return encoding, (dcs & 3) if dcs & 0x10 else None
    if group == 0xE:  # message waiting indication, store, UCS2
        return "ucs2", None
    if group == 0xF:  # data coding / message class
        return ("8bit" if dcs & 0x04 else "gsm7"), dcs & 3
    # 0xC, 0xD (message waiting, 7-bit) and the reserved groups 0x8-0xB read as 7-bit.
    return "gsm7", None


_DCS: dict[str, int] = {"gsm7": 0x00, "ucs2": 0x08}


# -------------------------------------------------------------------- user data


def _information_elements(header: bytes, base: int) -> tuple[tuple[int, bytes], ...]:
    """The (IEI, data) pairs of a user-data header given with its length octet."""
    if not header:
        return ()
    elements: list[tuple[int, bytes]] = []
    i, end = 1, len(header)
    while i < end:
        if i + 2 > end:
            raise PduError(
                f"information element at octet {base + i} is cut off by the end of the "
                "user-data header",
                octet=base + i,
            )
        iei, length = header[i], header[i + 1]
        if i + 2 + length > end:
            raise PduError(
                f"information element 0x{iei:02X} at octet {base + i} declares {length} "
                f"octets, past the end of the user-data header at octet {base + end}",
                octet=base + i,
            )
        elements.append((iei, header[i + 2 : i + 2 + length]))
        i += 2 + length
    return tuple(elements)


def _concat(elements: Iterable[tuple[int, bytes]]) -> ConcatInfo | None:
    for iei, data in elements:
        if iei == _IEI_CONCAT_8 and len(data) == 3:
            reference, parts, part, bits = data[0], data[1], data[2], 8
        elif iei == _IEI_CONCAT_16 and len(data) == 4:
            reference, parts, part, bits = (data[0] << 8) | data[1], data[2], data[3], 16
        else:
            continue
        # 23.040 §9.2.3.24.1: an element with impossible numbers is ignored.
        if parts == 0 or part == 0 or part > parts:
            continue
        return ConcatInfo(reference, parts, part, bits)
    return None


class _UserData(NamedTuple):
    header: bytes
    concat: ConcatInfo | None
    body: bytes
    text: str | None


def _read_user_data(r: _Reader, dcs: int, udhi: bool) -> tuple[_UserData, Encoding, int | None]:
    encoding, message_class = _read_dcs(dcs)
    udl_at = r.pos
    udl = r.octet("TP-UDL")
    septets = encoding == "gsm7"
    n_octets = (udl * 7 + 7) // 8 if septets else udl
    unit = "septets" if septets else "octets"
    ud_at = r.pos
    ud = r.take(n_octets, f"TP-UD ({udl} {unit} by TP-UDL at octet {udl_at})")
    header = b""
    concat = None
    if udhi:
        if not ud:
            raise PduError(
                f"TP-UDHI announces a user-data header but TP-UDL at octet {udl_at} is 0",
                octet=udl_at,
            )
        udhl = ud[0]
        if 1 + udhl > len(ud):
            raise PduError(
                f"user-data header length {udhl} at octet {ud_at} overruns the {len(ud)} "
                "octets of user data",
                octet=ud_at,
            )
        header = ud[: 1 + udhl]
        concat = _concat(_information_elements(header, ud_at))
    if septets:
        skip = gsm7.header_septets(len(header)) if header else 0
        if skip > udl:
            raise PduError(
                f"TP-UDL {udl} at octet {udl_at} is shorter than the {skip} septets of the "
                "user-data header",
                octet=udl_at,
            )
        body = gsm7.unpack_septets(ud, udl)[skip:]
        text: str | None = gsm7.decode_septets(body)
    else:
        body = ud[len(header) :]
        text = body.decode("utf-16-be", errors="replace") if encoding == "ucs2" else None
    return _UserData(header, concat, body, text), encoding, message_class


# ------------------------------------------------------------------------ decode


def decode(
    hex_pdu: str | bytes, *, with_smsc: bool = True, tpdu_length: int | None = None
) -> SmsPdu:
    """Decode an SMS-DELIVER, SMS-SUBMIT or SMS-STATUS-REPORT given as hex.

    Args:
        hex_pdu: the PDU as hex digits (either case; surrounding whitespace ignored).
        with_smsc: the PDU starts with the SMSC field, as ``+CMT``/``+CMGR`` show it;
            False for a bare TPDU.
        tpdu_length: the ``<length>`` a modem announced with the PDU (octets after the
            SMSC field). When given, it decides whether an SMSC field is present, in
            place of ``with_smsc``, and a PDU that matches neither reading is refused.

    Raises:
        PduError: the PDU is malformed: not hex, truncated, lengths that overrun, a
            reserved message type, an impossible time stamp, a length that disagrees
            with ``tpdu_length``. The message names the octet.
    """
    data = _from_hex(hex_pdu)
    if tpdu_length is not None:
        extra = len(data) - tpdu_length
        if extra == 0:
            with_smsc = False
        elif extra > 0 and data[0] + 1 == extra:
            with_smsc = True
        else:
            raise PduError(
                f"the PDU has {len(data)} octets but the announced TPDU length is "
                f"{tpdu_length}: the {extra} octets before it are not an SMSC field "
                f"(whose length octet says {data[0] + 1})",
                octet=0,
            )
    r = _Reader(data)
    smsc = _read_smsc(r) if with_smsc else None
    first = r.octet("the first octet (TP-MTI)")
    mti = first & 0x03
    if mti == 0:
        return _read_deliver(r, first, smsc)
    if mti == 1:
        return _read_submit(r, first, smsc)
    if mti == 2:
        return _read_status_report(r, first, smsc)
    raise PduError(f"TP-MTI 3 at octet {r.pos - 1} is a reserved message type", octet=r.pos - 1)


def _read_deliver(r: _Reader, first: int, smsc: str | None) -> SmsDeliver:
    sender, sender_type = _read_address(r, "sender address (TP-OA)")
    pid = r.octet("TP-PID")
    dcs = r.octet("TP-DCS")
    timestamp = _read_scts(r, "the service-centre time stamp (TP-SCTS)")
    ud, encoding, message_class = _read_user_data(r, dcs, bool(first & 0x40))
    return SmsDeliver(
        smsc=smsc,
        sender=sender,
        sender_type=sender_type,
        text=ud.text,
        timestamp=timestamp,
        encoding=encoding,
        concat=ud.concat,
        user_data_header=ud.header,
        user_data=ud.body,
        protocol_id=pid,
        data_coding=dcs,
        message_class=message_class,
        more_messages=not first & 0x04,
        reply_path=bool(first & 0x80),
        status_report_indication=bool(first & 0x20),
    )


def _read_validity(r: _Reader, vpf: int) -> dt.timedelta | dt.datetime | None:
    if vpf == 0:
        return None
    if vpf == 2:
        return validity_from_vp(r.octet("TP-VP"))
    if vpf == 3:
        return _read_scts(r, "the absolute validity period (TP-VP)")
    raw = r.take(7, "the enhanced validity period (TP-VP)")
    form = raw[0] & 0x07
    if form == 1:
        return validity_from_vp(raw[1])
    if form == 2:
        return dt.timedelta(seconds=raw[1])
    if form == 3:
        h, m, s = ((b & 0x0F) * 10 + (b >> 4) for b in raw[1:4])
        return dt.timedelta(hours=h, minutes=m, seconds=s)
    return None


def _read_submit(r: _Reader, first: int, smsc: str | None) -> SmsSubmit:
    mr = r.octet("TP-MR")
    recipient, recipient_type = _read_address(r, "destination address (TP-DA)")
    pid = r.octet("TP-PID")
    dcs = r.octet("TP-DCS")
    validity = _read_validity(r, (first >> 3) & 0x03)
    ud, encoding, message_class = _read_user_data(r, dcs, bool(first & 0x40))
    return SmsSubmit(
        smsc=smsc,
        recipient=recipient,
        recipient_type=recipient_type,
        text=ud.text,
        encoding=encoding,
        concat=ud.concat,
        user_data_header=ud.header,
        user_data=ud.body,
        message_reference=mr,
        validity=validity,
        status_report_request=bool(first & 0x20),
        reject_duplicates=bool(first & 0x04),
        reply_path=bool(first & 0x80),
        protocol_id=pid,
        data_coding=dcs,
        message_class=message_class,
    )


def _read_status_report(r: _Reader, first: int, smsc: str | None) -> SmsStatusReport:
    mr = r.octet("TP-MR")
    recipient, recipient_type = _read_address(r, "recipient address (TP-RA)")
    timestamp = _read_scts(r, "the service-centre time stamp (TP-SCTS)")
    discharge = _read_scts(r, "the discharge time (TP-DT)")
    status = r.octet("TP-ST")
    text: str | None = None
    header = b""
    # The optional part (TP-PI and what it announces) is read when it is well formed
    # and ignored otherwise: the mandatory fields above are the report, and modems are
    # known to pad status reports with stray octets.
    mark = r.pos
    try:
        if r.pos < len(r.data):
            pi = last = r.octet("TP-PI")
            while last & 0x80:  # extension octets announce parameters we don't know
                last = r.octet("TP-PI extension")
            if pi & 0x01:
                r.octet("TP-PID")
            dcs = r.octet("TP-DCS") if pi & 0x02 else 0
            if pi & 0x04:
                ud, _, _ = _read_user_data(r, dcs, bool(first & 0x40))
                text, header = ud.text, ud.header
    except PduError:
        r.pos = mark
    return SmsStatusReport(
        smsc=smsc,
        message_reference=mr,
        recipient=recipient,
        recipient_type=recipient_type,
        timestamp=timestamp,
        discharge_time=discharge,
        status=status,
        more_messages=not first & 0x04,
        for_command=bool(first & 0x20),
        text=text,
        user_data_header=header,
    )


# ------------------------------------------------------------------------ encode


def _split(
    text: str, *, force_ucs2: bool, reference_16bit: bool
) -> tuple[Encoding, list[bytes], int]:
    """(encoding, one encoded body per part, total units) of a text."""
    if not isinstance(text, str):
        raise InvalidInput(f"text must be a string, got {type(text).__name__}")
    if not force_ucs2 and gsm7.is_gsm7(text):
        septets = gsm7.encode_septets(text)
        if len(septets) <= _SINGLE_SEPTETS:
            return "gsm7", [septets], len(septets)
        budget = 152 if reference_16bit else 153
        chunks: list[bytes] = []
        i, n = 0, len(septets)
        while i < n:
            end = min(i + budget, n)
            # Every 0x1B the encoder makes is an escape (no character encodes to 0x1B),
            # so a part ending in one would cut an escape pair.
            if end < n and septets[end - 1] == gsm7.ESCAPE:
                end -= 1
            chunks.append(septets[i:end])
            i = end
        return "gsm7", chunks, n
    try:
        data = text.encode("utf-16-be")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            f"text has a lone surrogate {text[exc.start]!r} at index {exc.start}; it is not "
            "a character and cannot be sent"
        ) from None
    units = len(data) // 2
    if units <= _SINGLE_UNITS:
        return "ucs2", [data], units
    step = 2 * (66 if reference_16bit else 67)
    chunks = []
    i, n = 0, len(data)
    while i < n:
        end = min(i + step, n)
        if end < n and 0xD8 <= data[end - 2] <= 0xDB:  # a high surrogate: keep the pair
            end -= 2
        chunks.append(data[i:end])
        i = end
    return "ucs2", chunks, units


def _concat_header(reference: int, parts: int, part: int, reference_16bit: bool) -> bytes:
    if reference_16bit:
        return bytes([6, _IEI_CONCAT_16, 4, reference >> 8, reference & 0xFF, parts, part])
    return bytes([5, _IEI_CONCAT_8, 3, reference, parts, part])


def _user_data(encoding: Encoding, body: bytes, header: bytes) -> bytes:
    """TP-UDL followed by TP-UD."""
    if encoding == "gsm7":
        udl = (gsm7.header_septets(len(header)) if header else 0) + len(body)
        return bytes([udl]) + gsm7.pack_septets(body, header=header)
    return bytes([len(header) + len(body)]) + header + body


def _check_reference(reference: int, reference_16bit: bool) -> None:
    top = 0xFFFF if reference_16bit else 0xFF
    if not isinstance(reference, int) or not 0 <= reference <= top:
        bits = 16 if reference_16bit else 8
        raise InvalidInput(f"a {bits}-bit concatenation reference is 0-{top}, got {reference!r}")


def _parts(
    text: str, *, force_ucs2: bool, reference: int, reference_16bit: bool
) -> tuple[Encoding, list[tuple[bytes, bytes]]]:
    """(encoding, [(header, body)]) of every part of a message."""
    _check_reference(reference, reference_16bit)
    encoding, chunks, _ = _split(text, force_ucs2=force_ucs2, reference_16bit=reference_16bit)
    total = len(chunks)
    if total > MAX_PARTS:
        raise InvalidInput(
            f"the text needs {total} parts; a concatenated SMS has at most {MAX_PARTS}"
        )
    if total == 1:
        return encoding, [(b"", chunks[0])]
    return encoding, [
        (_concat_header(reference, total, i + 1, reference_16bit), chunk)
        for i, chunk in enumerate(chunks)
    ]


def encode_submit(
    number: str,
    text: str,
    *,
    reference: int = 0,
    validity: dt.timedelta | None = None,
    status_report: bool = False,
    smsc: str | None = None,
    message_reference: int = 0,
    force_ucs2: bool = False,
    reference_16bit: bool = False,
) -> list[SubmitPart]:
    """The SMS-SUBMIT PDUs that send ``text`` to ``number`` (one per part).

    Args:
        number: the recipient: ``"+8613800138000"`` (international, type 0x91) or the
            digits as dialled, ``"13800138000"`` (type 0x81, unknown). Spaces, hyphens,
            dots and parentheses are dropped.
        text: the message; GSM 7-bit when it can be, else UCS2.
        reference: the concatenation reference shared by the parts (0-255, or 0-65535
            with ``reference_16bit``); unused for a single part.
        validity: how long the service centre keeps trying (relative TP-VP, rounded up to
            what 23.040 can express); None sends no validity period.
        status_report: ask for a status report (TP-SRR) for every part.
        smsc: the service centre to use; None uses the one stored on the SIM.
        message_reference: TP-MR of the first part; the next parts take the following
            values (most modems replace it with their own counter anyway).
        force_ucs2: send as UCS2 even when GSM 7-bit would do.
        reference_16bit: use the 16-bit reference element (IEI 08, one unit less a part).

    Raises:
        InvalidInput: the number is not a phone number (alphanumeric included), a value
            is out of range, the text has a lone surrogate or needs more than 255 parts.
    """
    address = _address_field(number, "recipient", allow_alphanumeric=False)
    smsc_field = _smsc_field(smsc)
    if not isinstance(message_reference, int) or not 0 <= message_reference <= 0xFF:
        raise InvalidInput(f"TP-MR is one octet (0-255), got {message_reference!r}")
    vp = b"" if validity is None else bytes([vp_from_validity(validity)])
    encoding, parts = _parts(
        text, force_ucs2=force_ucs2, reference=reference, reference_16bit=reference_16bit
    )
    first = 0x01 | (0x10 if vp else 0) | (0x20 if status_report else 0)
    middle = address + bytes([0x00, _DCS[encoding]]) + vp
    out: list[SubmitPart] = []
    for i, (header, body) in enumerate(parts):
        tpdu = (
            bytes([first | (0x40 if header else 0), (message_reference + i) & 0xFF])
            + middle
            + _user_data(encoding, body, header)
        )
        out.append(
            SubmitPart(
                hex=(smsc_field + tpdu).hex().upper(),
                tpdu_length=len(tpdu),
                part=i + 1,
                parts=len(parts),
                reference=reference if len(parts) > 1 else None,
            )
        )
    return out


def count_parts(text: str, *, reference_16bit: bool = False) -> PartCount:
    """Encoding, number of parts and encoded length of ``text``, as :func:`encode_submit`
    would send it (for a bulk-SMS preview).

    Raises:
        InvalidInput: the text has a lone surrogate.
    """
    encoding, chunks, units = _split(text, force_ucs2=False, reference_16bit=reference_16bit)
    return PartCount(encoding, len(chunks), units)


def encode_deliver(
    sender: str,
    text: str,
    timestamp: dt.datetime,
    *,
    smsc: str | None = None,
    reference: int = 0,
    reference_16bit: bool = False,
    force_ucs2: bool = False,
    sender_type: int | None = None,
    more_messages: bool = False,
    status_report_indication: bool = False,
) -> list[str]:
    """The SMS-DELIVER PDUs (hex, SMSC field first) a network delivers for ``text``.

    For the modem simulator and tests. Concatenated parts come out in order.

    Args:
        sender: ``"+8613800138000"``, digits, or an alphanumeric name of at most 11
            GSM 7-bit septets (type 0xD0).
        text: the message, coded and split as :func:`encode_submit` does.
        timestamp: the service-centre time stamp; timezone-aware, whole quarter-hour
            offset, years 1990-2089, seconds kept and microseconds dropped.
        smsc: the service centre's number; None writes an empty SMSC field.
        reference: concatenation reference (8 or 16 bits).
        reference_16bit: use IEI 08.
        force_ucs2: send as UCS2 even when GSM 7-bit would do.
        sender_type: type-of-address octet for a sender given as plain digits (e.g.
            0xA1 for a national number); by default 0x81, or 0x91 with ``+``.
        more_messages: set "more messages waiting" (TP-MMS = 0).
        status_report_indication: set TP-SRI.

    Raises:
        InvalidInput: a bad sender, time stamp or reference.
    """
    address = _address_field(sender, "sender", allow_alphanumeric=True, toa=sender_type)
    smsc_field = _smsc_field(smsc)
    scts = _scts(timestamp, "timestamp")
    encoding, parts = _parts(
        text, force_ucs2=force_ucs2, reference=reference, reference_16bit=reference_16bit
    )
    first = (0x00 if more_messages else 0x04) | (0x20 if status_report_indication else 0)
    middle = address + bytes([0x00, _DCS[encoding]]) + scts
    return [
        (
            smsc_field
            + bytes([first | (0x40 if header else 0)])
            + middle
            + _user_data(encoding, body, header)
        )
        .hex()
        .upper()
        for header, body in parts
    ]


def encode_status_report(
    message_reference: int,
    recipient: str,
    status: int,
    timestamp: dt.datetime,
    discharge_time: dt.datetime | None = None,
    *,
    smsc: str | None = None,
    more_messages: bool = False,
) -> str:
    """An SMS-STATUS-REPORT PDU (hex, SMSC field first), as a network sends it.

    Args:
        message_reference: TP-MR of the submitted message (0-255).
        recipient: the number the message was sent to.
        status: TP-ST (0 = delivered; see :func:`status_meaning`).
        timestamp: when the service centre received the message.
        discharge_time: when it was delivered or last tried; defaults to ``timestamp``.
        smsc: the service centre's number; None writes an empty SMSC field.
        more_messages: set "more messages waiting".

    Raises:
        InvalidInput: a value is out of range or a time stamp can't be expressed.
    """
    if not isinstance(message_reference, int) or not 0 <= message_reference <= 0xFF:
        raise InvalidInput(f"TP-MR is one octet (0-255), got {message_reference!r}")
    if not isinstance(status, int) or not 0 <= status <= 0xFF:
        raise InvalidInput(f"TP-ST is one octet (0-255), got {status!r}")
    address = _address_field(recipient, "recipient", allow_alphanumeric=False)
    scts = _scts(timestamp, "timestamp")
    discharge = _scts(discharge_time if discharge_time is not None else timestamp, "discharge")
    first = 0x02 | (0x00 if more_messages else 0x04)
    tpdu = bytes([first, message_reference]) + address + scts + discharge + bytes([status])
    return (_smsc_field(smsc) + tpdu).hex().upper()


# -------------------------------------------------------------------- reassembly

_Key = tuple[str, int, int, int]  # sender, reference bits, reference, parts


@attrs.define
class _Pending:
    first_seen: float
    parts: dict[int, SmsDeliver]


@attrs.define
class _Finished:
    at: float
    bodies: dict[int, bytes]


class SmsAssembler:
    """Joins the parts of concatenated SMS-DELIVERs (sans-I/O: time is passed in).

    Parts belong together when they share sender, reference (and its width) and part
    count. A part already held, or one identical to a part of a message completed within
    the timeout, is a duplicate and ignored, so a message is never given back twice; a
    part with the same key but different content after completion starts a new message
    (references wrap around). Incomplete messages are given back by :meth:`expire` once
    ``timeout`` seconds have passed since their first part, with each missing part shown
    as ``placeholder``; nothing is dropped silently. When more than ``max_pending``
    messages are incomplete, the oldest is given back early by the next :meth:`expire`.

    Args:
        timeout: seconds an incomplete message waits (default 24 h).
        placeholder: the text standing for each missing part.
        max_pending: most incomplete messages held at once.
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_REASSEMBLY_TIMEOUT,
        placeholder: str = "[…]",
        max_pending: int = 1024,
    ) -> None:
        if timeout <= 0 or max_pending <= 0:
            raise InvalidInput("timeout and max_pending must be positive")
        self.timeout = timeout
        self.placeholder = placeholder
        self.max_pending = max_pending
        self._pending: dict[_Key, _Pending] = {}
        self._finished: dict[_Key, _Finished] = {}
        self._early: list[IncomingSms] = []

    @property
    def pending(self) -> int:
        """How many incomplete messages are held."""
        return len(self._pending)

    def add(self, deliver: SmsDeliver, now: float) -> IncomingSms | None:
        """Take one received PDU; the whole message when this was its last missing part.

        A message in one part comes straight back. Returns None while parts are missing
        and for duplicates.
        """
        concat = deliver.concat
        if concat is None or concat.parts == 1:
            return self._whole({1: deliver}, 1, complete=True)
        key: _Key = (deliver.sender, concat.reference_bits, concat.reference, concat.parts)
        finished = self._finished.get(key)
        if finished is not None:
            if finished.bodies.get(concat.part) == deliver.user_data:
                return None
            del self._finished[key]
        pending = self._pending.get(key)
        if pending is None:
            if len(self._pending) >= self.max_pending:
                oldest = min(self._pending, key=lambda k: self._pending[k].first_seen)
                self._early.append(self._incomplete(oldest))
            pending = self._pending[key] = _Pending(now, {})
        if concat.part in pending.parts:
            return None
        pending.parts[concat.part] = deliver
        if len(pending.parts) < concat.parts:
            return None
        del self._pending[key]
        self._finished[key] = _Finished(now, {n: d.user_data for n, d in pending.parts.items()})
        if len(self._finished) > 4 * self.max_pending:
            del self._finished[next(iter(self._finished))]
        return self._whole(pending.parts, concat.parts, complete=True)

    def expire(self, now: float) -> list[IncomingSms]:
        """Incomplete messages whose first part came ``timeout`` seconds ago or more.

        They are given back with ``complete=False`` and forgotten.
        """
        out, self._early = self._early, []
        for key in [k for k, p in self._pending.items() if now - p.first_seen >= self.timeout]:
            out.append(self._incomplete(key))
        for key in [k for k, f in self._finished.items() if now - f.at >= self.timeout]:
            del self._finished[key]
        return out

    def drain(self) -> list[IncomingSms]:
        """Every incomplete message held, given back now (e.g. on shutdown)."""
        out, self._early = self._early, []
        for key in list(self._pending):
            out.append(self._incomplete(key))
        return out

    def _incomplete(self, key: _Key) -> IncomingSms:
        pending = self._pending.pop(key)
        return self._whole(pending.parts, key[3], complete=False)

    def _whole(self, parts: dict[int, SmsDeliver], total: int, *, complete: bool) -> IncomingSms:
        first = parts[min(parts)]
        pieces: list[str] = []
        data: list[bytes] = []
        missing: list[int] = []
        run: list[SmsDeliver] = []
        for n in range(1, total + 1):
            part = parts.get(n)
            if part is None:
                pieces.append(_join(run))
                run = []
                pieces.append(self.placeholder)
                missing.append(n)
            else:
                run.append(part)
                if part.encoding == "8bit":
                    data.append(part.user_data)
        pieces.append(_join(run))
        return IncomingSms(
            sender=first.sender,
            text="".join(pieces),
            timestamp=first.timestamp,
            parts=total,
            complete=complete and not missing,
            missing=tuple(missing),
            smsc=first.smsc,
            encoding=first.encoding,
            data=b"".join(data) if first.encoding == "8bit" else None,
        )


def _join(run: list[SmsDeliver]) -> str:
    """Text of consecutive parts, decoded together so that an escape pair or a surrogate
    pair split across parts by another sender's encoder still comes out whole."""
    if not run:
        return ""
    encodings = {p.encoding for p in run}
    if encodings == {"gsm7"}:
        return gsm7.decode_septets(b"".join(p.user_data for p in run))
    if encodings == {"ucs2"}:
        return b"".join(p.user_data for p in run).decode("utf-16-be", errors="replace")
    return "".join(p.text or "" for p in run)
