"""The layout of a RED payload (RFC 2198), read: the twin of the parser in
``opus_decode.rs``, and the core of ``zhanye_sdk.media.red.parse``.

For each redundant block a 4-byte header (F=1, payload type in 7 bits, timestamp offset
back from the packet's in 14 bits, length in 10 bits), then a 1-byte header for the
primary (F=0, payload type), then the blocks' data in the same order, the primary last.
"""

from __future__ import annotations

__all__ = ["RedSplit", "split"]

_MAX_OFFSET = (1 << 14) - 1
_MAX_LENGTH = (1 << 10) - 1

#: The redundant blocks (payload type, timestamp offset, data), oldest first, and the
#: primary (payload type, data).
RedSplit = tuple[list[tuple[int, int, bytes]], tuple[int, bytes]]


def split(payload: bytes) -> RedSplit:
    """The blocks and the primary of a RED payload.

    Raises:
        ValueError: the payload is truncated or its lengths do not add up.
    """
    headers: list[tuple[int, int, int]] = []
    at = 0
    while True:
        if at >= len(payload):
            raise ValueError("RED payload ends inside its block headers")
        first = payload[at]
        if not first & 0x80:
            primary_type = first & 0x7F
            at += 1
            break
        if at + 4 > len(payload):
            raise ValueError("RED payload ends inside a redundant block header")
        word = int.from_bytes(payload[at : at + 4], "big")
        headers.append(((word >> 24) & 0x7F, (word >> 10) & _MAX_OFFSET, word & _MAX_LENGTH))
        at += 4
    blocks: list[tuple[int, int, bytes]] = []
    for payload_type, offset, length in headers:
        if at + length > len(payload):
            raise ValueError(
                f"RED block of {length} bytes overruns the payload ({len(payload) - at} left)"
            )
        blocks.append((payload_type, offset, payload[at : at + length]))
        at += length
    return blocks, (primary_type, payload[at:])
