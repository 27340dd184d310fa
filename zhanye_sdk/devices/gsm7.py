"""The GSM 7-bit default alphabet and its extension table (3GPP TS 23.038 §6.2.1), packed.

Text is turned into *septets* (values 0-127, held one per byte in a ``bytes``), and
septets are packed eight into seven octets, least significant bit first (§6.1.2.1.1).
A character of the extension table costs two septets: the escape ``0x1B`` and its code.

Encoding is exact: only characters that decode back to themselves are accepted (no
look-alike substitution such as ``ç`` → ``Ç``), so a text that passes :func:`is_gsm7`
survives a round trip unchanged. Decoding is lenient, as §6.2.1.1 asks of a receiver: an
escape followed by a code the extension table does not define shows the default-alphabet
character of that code, and a trailing lone escape shows a space.
"""

from __future__ import annotations

import re

from zhanye_sdk.errors import InvalidInput

__all__ = [
    "DEFAULT_ALPHABET",
    "ESCAPE",
    "EXTENSION_TABLE",
    "decode_septets",
    "encode_septets",
    "header_septets",
    "is_gsm7",
    "pack_septets",
    "septet_count",
    "unpack_septets",
]

ESCAPE = 0x1B
"""The septet announcing that the next septet is read in the extension table."""

# 128 characters, indexed by septet; 0x1B is the escape, shown here as a non-breaking
# space (the character 23.038 suggests for display) but never produced by the encoder.
DEFAULT_ALPHABET = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\xa0ÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(DEFAULT_ALPHABET) == 128

EXTENSION_TABLE: dict[str, int] = {
    "\x0c": 0x0A,  # page break (form feed)
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
"""Characters reached through the escape, with the code that follows ``ESCAPE``."""

_ENCODE: dict[int, str] = {
    ord(ch): chr(code) for code, ch in enumerate(DEFAULT_ALPHABET) if code != ESCAPE
}
_ENCODE.update({ord(ch): chr(ESCAPE) + chr(code) for ch, code in EXTENSION_TABLE.items()})
_ALLOWED = "".join(chr(c) for c in _ENCODE)
_NOT_GSM7 = re.compile("[^" + re.escape(_ALLOWED) + "]")

_DECODE: dict[int, str] = dict(enumerate(DEFAULT_ALPHABET))
_DECODE[ESCAPE] = " "
_DECODE_EXTENSION: dict[int, str] = {code: ch for ch, code in EXTENSION_TABLE.items()}


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` is in the default alphabet or extension table."""
    return _NOT_GSM7.search(text) is None


def septet_count(text: str) -> int | None:
    """Septets ``text`` takes in GSM 7-bit (extension characters count two); None if it can't."""
    if _NOT_GSM7.search(text) is not None:
        return None
    return len(text) + sum(text.count(ch) for ch in EXTENSION_TABLE)


def encode_septets(text: str) -> bytes:
    """The septets of ``text``, one per byte, escapes included.

    Raises:
        InvalidInput: a character is in neither the default alphabet nor the extension
            table (the message names it and its index).
    """
    bad = _NOT_GSM7.search(text)
    if bad is not None:
        raise InvalidInput(
            f"character {bad.group()!r} at index {bad.start()} is not in the GSM 7-bit "
            "default alphabet or its extension table; send the text as UCS2"
        )
    return text.translate(_ENCODE).encode("latin-1")


def decode_septets(septets: bytes) -> str:
    """Text of septets held one per byte (values above 127 are read modulo 128)."""
    if max(septets, default=0) > 0x7F:
        septets = bytes(s & 0x7F for s in septets)
    if ESCAPE not in septets:
        return septets.decode("latin-1").translate(_DECODE)
    out: list[str] = []
    i, n = 0, len(septets)
    while i < n:
        s = septets[i]
        if s == ESCAPE:
            if i + 1 == n:
                out.append(" ")
                break
            code = septets[i + 1]
            ext = _DECODE_EXTENSION.get(code)
            # An unknown extension code (or 0x1B 0x1B, reserved for another table)
            # shows the default character, as 23.038 §6.2.1.1 tells a receiver to.
            out.append(ext if ext is not None else _DECODE[code])
            i += 2
        else:
            out.append(_DECODE[s])
            i += 1
    return "".join(out)


def header_septets(header_octets: int) -> int:
    """Septets a user-data header of ``header_octets`` octets (UDHL included) occupies.

    The header is followed by fill bits up to the next septet boundary (23.040 §9.2.3.24).
    """
    return (header_octets * 8 + 6) // 7


def pack_septets(septets: bytes, *, header: bytes = b"") -> bytes:
    """Pack septets into octets, after ``header`` and its fill bits when one is given.

    The result is the TP-User-Data field; its TP-UDL is
    ``header_septets(len(header)) + len(septets)``.
    """
    n = len(septets)
    groups = (n + 7) // 8
    # Eight septets (one per byte) become seven octets: squeeze the 7-bit lanes of
    # every 64-bit word together with three mask-and-shift steps over the whole text.
    x = int.from_bytes(septets + bytes(8 * groups - n), "little")
    x = (x & _mask(0x007F007F007F007F, groups)) | ((x & _mask(0x7F007F007F007F00, groups)) >> 1)
    x = (x & _mask(0x00003FFF00003FFF, groups)) | ((x & _mask(0x3FFF00003FFF0000, groups)) >> 2)
    x = (x & _mask(0x000000000FFFFFFF, groups)) | ((x & _mask(0x0FFFFFFF00000000, groups)) >> 4)
    words = x.to_bytes(8 * groups, "little")
    packed = bytearray(7 * groups)
    for k in range(7):
        packed[k::7] = words[k::8]
    body = bytes(packed[: (n * 7 + 7) // 8])
    if not header:
        return body
    shift = header_septets(len(header)) * 7
    total = (shift + 7 * n + 7) // 8
    return (
        header + (int.from_bytes(body, "little") << shift).to_bytes(total, "little")[len(header) :]
    )


def unpack_septets(data: bytes, count: int) -> bytes:
    """The first ``count`` septets of the bit stream ``data``, one per byte.

    Raises:
        InvalidInput: ``data`` is shorter than ``count`` septets need.
    """
    need = (count * 7 + 7) // 8
    if count < 0 or len(data) < need:
        raise InvalidInput(
            f"{count} septets need {need} octets of packed data, only {len(data)} given"
        )
    groups = (count + 7) // 8
    words = bytearray(8 * groups)
    chunk = data[:need]
    for k in range(7):
        lane = chunk[k::7]
        words[k : k + 8 * len(lane) : 8] = lane
    # The inverse of pack_septets: spread each 56-bit group back into eight bytes.
    x = int.from_bytes(words, "little")
    x = (x & _mask(0x000000000FFFFFFF, groups)) | ((x & _mask(0x00FFFFFFF0000000, groups)) << 4)
    x = (x & _mask(0x00003FFF00003FFF, groups)) | ((x & _mask(0x0FFFC0000FFFC000, groups)) << 2)
    x = (x & _mask(0x007F007F007F007F, groups)) | ((x & _mask(0x3F803F803F803F80, groups)) << 1)
    return x.to_bytes(8 * groups, "little")[:count]


def _repeat(word: int, groups: int) -> int:
    return int.from_bytes(word.to_bytes(8, "little") * groups, "little")


# Masks for up to 32 groups (256 septets, more than any TP-UD) are made once.
_MASKS: dict[int, tuple[int, ...]] = {
    word: tuple(_repeat(word, g) for g in range(33))
    for word in (
        0x007F007F007F007F,
        0x7F007F007F007F00,
        0x00003FFF00003FFF,
        0x3FFF00003FFF0000,
        0x000000000FFFFFFF,
        0x0FFFFFFF00000000,
        0x00FFFFFFF0000000,
        0x0FFFC0000FFFC000,
        0x3F803F803F803F80,
    )
}


def _mask(word: int, groups: int) -> int:
    """``word`` (64 bits) repeated ``groups`` times."""
    masks = _MASKS[word]
    return masks[groups] if groups < len(masks) else _repeat(word, groups)
