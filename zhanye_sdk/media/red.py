"""RTP payload for redundant audio (RED, RFC 2198), sans I/O: packing and parsing.

A RED payload carries the current (primary) encoded frame and copies of earlier ones, so
a receiver rebuilds a lost packet from one of the next packets. Its layout: for each
redundant block a 4-byte header (F=1, the block's payload type in 7 bits, its timestamp
offset back from the packet's in 14 bits, its length in 10 bits), then a 1-byte header
for the primary (F=0, payload type), then the blocks' data in the same order, the primary
last (its length is what remains). Chromium negotiates ``red/48000/2`` for Opus
(``a=fmtp:<red> 111/111``) and sends one redundant frame. Opus at 32 kbit/s with three
copies stays near 130 kbit/s.

:class:`RedEncoder` keeps the last frames and sends ``distance`` of them with each new
one (:meth:`RedEncoder.set_loss` picks it from the measured loss); :func:`parse` reads
any payload and raises :class:`~zhanye_sdk.errors.ProtocolError` on a malformed one.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence

import attrs

from zhanye_sdk.errors import ProtocolError
from zhanye_sdk.kernels import red as red_layout

__all__ = ["MAX_DISTANCE", "RedBlock", "RedEncoder", "build", "distance_for_loss", "parse"]

#: The most earlier frames one packet carries.
MAX_DISTANCE = 3
_MAX_OFFSET = (1 << 14) - 1
_MAX_LENGTH = (1 << 10) - 1


@attrs.frozen
class RedBlock:
    """One encoded frame in a RED payload.

    Attributes:
        payload_type: the frame's codec (Opus's payload type).
        timestamp_offset: how far (RTP clock) before the packet's timestamp it belongs;
            0 for the primary.
        data: the encoded frame.
    """

    payload_type: int
    timestamp_offset: int
    data: bytes


def parse(payload: bytes) -> tuple[list[RedBlock], RedBlock]:
    """The redundant blocks (oldest first, as sent) and the primary of a RED payload.

    Raises:
        ProtocolError: the payload is truncated or its lengths do not add up.
    """
    try:
        blocks, (primary_type, primary) = red_layout.split(payload)
    except ValueError as exc:
        raise ProtocolError(str(exc)) from exc
    return [RedBlock(*block) for block in blocks], RedBlock(primary_type, 0, primary)


def build(primary_type: int, primary: bytes, redundant: Sequence[RedBlock] = ()) -> bytes:
    """A RED payload of ``primary`` with the ``redundant`` blocks (oldest first) before it.

    Raises:
        ValueError: a payload type, offset or length does not fit its field.
    """
    head = bytearray()
    body = bytearray()
    for block in redundant:
        if not 0 <= block.payload_type <= 0x7F:
            raise ValueError(f"payload type {block.payload_type} does not fit 7 bits")
        if not 0 < block.timestamp_offset <= _MAX_OFFSET:
            raise ValueError(f"timestamp offset {block.timestamp_offset} does not fit 14 bits")
        if len(block.data) > _MAX_LENGTH:
            raise ValueError(f"a redundant block of {len(block.data)} bytes exceeds 1023")
        word = (
            (1 << 31)
            | (block.payload_type << 24)
            | (block.timestamp_offset << 10)
            | len(block.data)
        )
        head += word.to_bytes(4, "big")
        body += block.data
    if not 0 <= primary_type <= 0x7F:
        raise ValueError(f"payload type {primary_type} does not fit 7 bits")
    head.append(primary_type)
    return bytes(head + body + primary)


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


class RedEncoder:
    """Wraps encoded frames in RED, repeating the last ``distance`` ones.

    Args:
        payload_type: the payload type of the frames inside (Opus's).
        distance: earlier frames repeated in each packet (0 to ``MAX_DISTANCE``).
    """

    def __init__(self, payload_type: int, distance: int = 1) -> None:
        self.payload_type = payload_type
        self.distance = min(MAX_DISTANCE, max(0, distance))
        self._recent: collections.deque[tuple[int, bytes]] = collections.deque(maxlen=MAX_DISTANCE)

    def set_loss(self, loss: float) -> None:
        """Follow the loss the far end reports (0–1)."""
        self.distance = distance_for_loss(loss)

    def wrap(self, data: bytes, timestamp: int) -> bytes:
        """The RED payload for the frame ``data`` at ``timestamp`` (RTP clock)."""
        redundant = []
        if self.distance:
            for ts, old in list(self._recent)[-self.distance :]:
                offset = (timestamp - ts) % (1 << 32)
                # A frame too old (after a pause) or too big to repeat is left out.
                if 0 < offset <= _MAX_OFFSET and 0 < len(old) <= _MAX_LENGTH:
                    redundant.append(RedBlock(self.payload_type, offset, old))
        self._recent.append((timestamp, data))
        return build(self.payload_type, data, redundant)
