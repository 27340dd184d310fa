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

from collections.abc import Sequence

import attrs

from zhanye_sdk._backend import RedPacker
from zhanye_sdk.errors import ProtocolError
from zhanye_sdk.kernels import red as red_layout
from zhanye_sdk.kernels.red import MAX_DISTANCE, distance_for_loss

__all__ = ["MAX_DISTANCE", "RedBlock", "RedEncoder", "build", "distance_for_loss", "parse"]

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
    for block in redundant:
        if not 0 <= block.payload_type <= 0x7F:
            raise ValueError(f"payload type {block.payload_type} does not fit 7 bits")
        if not 0 < block.timestamp_offset <= _MAX_OFFSET:
            raise ValueError(f"timestamp offset {block.timestamp_offset} does not fit 14 bits")
        if len(block.data) > _MAX_LENGTH:
            raise ValueError(f"a redundant block of {len(block.data)} bytes exceeds 1023")
    if not 0 <= primary_type <= 0x7F:
        raise ValueError(f"payload type {primary_type} does not fit 7 bits")
    blocks = [(b.payload_type, b.timestamp_offset, b.data) for b in redundant]
    return red_layout.join(blocks, (primary_type, primary))


#: Wraps encoded frames in RED, repeating the last ``distance`` ones (``RedPacker``:
#: native, or its twin ``zhanye_sdk.kernels.red.RedPacker``): ``RedEncoder(payload_type,
#: distance=1)``, ``wrap(data, timestamp)``, ``set_loss(loss)``.
RedEncoder = RedPacker
