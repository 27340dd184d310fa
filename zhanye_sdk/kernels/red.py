"""RED payloads (RFC 2198) read and written: the twins of the parser in
``opus_decode.rs`` and of ``RedPacker`` (``red.rs``); the core of
``zhanye_sdk.media.red``.

For each redundant block a 4-byte header (F=1, payload type in 7 bits, timestamp offset
back from the packet's in 14 bits, length in 10 bits), then a 1-byte header for the
primary (F=0, payload type), then the blocks' data in the same order, the primary last.
"""

from __future__ import annotations

import collections

__all__ = ["MAX_DISTANCE", "RedPacker", "RedSplit", "distance_for_loss", "join", "split"]

#: The most earlier frames one packet carries.
MAX_DISTANCE = 3

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


def join(blocks: list[tuple[int, int, bytes]], primary: tuple[int, bytes]) -> bytes:
    """The RED payload of the redundant ``blocks`` (payload type, timestamp offset, data;
    oldest first) and the ``primary`` (payload type, data): ``split``'s inverse. The
    fields are not checked (the caller keeps them in range)."""
    head = bytearray()
    for payload_type, offset, data in blocks:
        head += ((1 << 31) | (payload_type << 24) | (offset << 10) | len(data)).to_bytes(4, "big")
    head.append(primary[0])
    return b"".join([bytes(head), *(data for _, _, data in blocks), primary[1]])


def distance_for_loss(loss: float) -> int:
    """How many earlier frames to repeat for a measured loss (0–1): none on a clean link,
    one from 2 %, two from 10 %, three from 25 % (a frame is then lost only with four
    packets in a row: 0.8 % at 30 % independent loss)."""
    if loss >= 0.25:
        return 3
    if loss >= 0.10:
        return 2
    if loss >= 0.02:
        return 1
    return 0


class RedPacker:
    """Wraps encoded frames in RED, repeating the last ``distance`` ones.

    Args:
        payload_type: the payload type of the frames inside (Opus's), 0–127.
        distance: earlier frames repeated in each packet (clamped to 0–``MAX_DISTANCE``).

    Raises:
        ValueError: the payload type does not fit 7 bits.
    """

    def __init__(self, payload_type: int, distance: int = 1) -> None:
        if not 0 <= payload_type <= 0x7F:
            raise ValueError(f"payload type {payload_type} does not fit 7 bits")
        self._payload_type = payload_type
        self.distance = distance
        self._recent: collections.deque[tuple[int, bytes]] = collections.deque(maxlen=MAX_DISTANCE)

    @property
    def payload_type(self) -> int:
        """The payload type of the frames inside."""
        return self._payload_type

    @property
    def distance(self) -> int:
        """Earlier frames repeated in each packet (0–3; a value outside is clamped)."""
        return self._distance

    @distance.setter
    def distance(self, distance: int) -> None:
        self._distance = min(MAX_DISTANCE, max(0, distance))

    def set_loss(self, loss: float) -> None:
        """Follow the loss the far end reports (0–1)."""
        self.distance = distance_for_loss(loss)

    def wrap(self, data: bytes, timestamp: int) -> bytes:
        """The RED payload for the frame ``data`` at ``timestamp`` (RTP clock)."""
        timestamp %= 1 << 32
        blocks: list[tuple[int, int, bytes]] = []
        if self._distance:
            for ts, old in list(self._recent)[-self._distance :]:
                offset = (timestamp - ts) % (1 << 32)
                # A frame too old (after a pause) or too big to repeat is left out.
                if 0 < offset <= _MAX_OFFSET and 0 < len(old) <= _MAX_LENGTH:
                    blocks.append((self._payload_type, offset, old))
        self._recent.append((timestamp, bytes(data)))
        return join(blocks, (self._payload_type, data))
