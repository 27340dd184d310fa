"""The twin of the native ``AudioIntake`` (``intake.rs``): what the server does with each
audio packet a participant's link reads, before the packet is played out.

The packet is counted in its stream's RFC 3550 receive statistics (which aiortc's
receiver reports and ``getStats`` read), the packets a hole in the sequence numbers
reveals are asked for again (RTCP NACK, where the codec negotiated it; each packet once),
and the packet goes into the adaptive jitter buffer tagged with its payload type. No
clock is read: arrival times come in with the packets. Both implementations give the
same statistics, requests and buffer contents for the same packets.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from zhanye_sdk.kernels.jitter import AdaptiveJitterBuffer

__all__ = ["MAX_NACK", "AudioIntake", "StatisticsRow"]

#: The longest hole asked for again; a longer one is an outage, not loss.
MAX_NACK = 10
#: Base and highest sequence number, cycles, packets received, jitter (×16), last
#: arrival (RTP clock units of the wall clock) and last timestamp.
StatisticsRow = tuple[int | None, int | None, int, int, int, int | None, int | None]


def _uint16_gt(a: int, b: int) -> bool:
    return (a > b and a - b < 0x8000) or (a < b and b - a > 0x8000)


class _Stream:
    __slots__ = (
        "base_seq",
        "cycles",
        "jitter_q4",
        "last_arrival",
        "last_timestamp",
        "max_seq",
        "packets_received",
    )

    def __init__(self, row: StatisticsRow = (None, None, 0, 0, 0, None, None)) -> None:
        (
            self.base_seq,
            self.max_seq,
            self.cycles,
            self.packets_received,
            self.jitter_q4,
            self.last_arrival,
            self.last_timestamp,
        ) = row

    def add(self, sequence: int, timestamp: int, arrival: int) -> None:
        in_order = self.max_seq is None or _uint16_gt(sequence, self.max_seq)
        self.packets_received += 1
        if self.base_seq is None:
            self.base_seq = sequence
        if not in_order:
            return
        if self.max_seq is not None and sequence < self.max_seq:
            self.cycles += 1 << 16
        self.max_seq = sequence
        if (
            self.last_arrival is not None
            and self.last_timestamp is not None
            and timestamp != self.last_timestamp
            and self.packets_received > 1
        ):
            diff = abs((arrival - self.last_arrival) - (timestamp - self.last_timestamp))
            self.jitter_q4 += diff - ((self.jitter_q4 + 8) >> 4)
        self.last_arrival = arrival
        self.last_timestamp = timestamp

    def row(self) -> StatisticsRow:
        return (
            self.base_seq,
            self.max_seq,
            self.cycles,
            self.packets_received,
            self.jitter_q4,
            self.last_arrival,
            self.last_timestamp,
        )


class AudioIntake:
    """One receiver's intake of audio packets (see the module docstring).

    Args:
        clock_rate: the RTP clock of the statistics (48 000 for Opus).
        nack_payload_types: the payload types whose holes are asked for again.
    """

    def __init__(self, *, clock_rate: int = 48_000, nack_payload_types: Iterable[int] = ()) -> None:
        if clock_rate <= 0:
            raise ValueError(f"clock_rate must be positive, got {clock_rate}")
        types = list(nack_payload_types)
        for pt in types:
            if not 0 <= pt < 128:
                raise ValueError(f"payload types are 0–127, got {pt}")
        self._clock_rate = float(clock_rate)
        self._nack_types = frozenset(types)
        self._top: int | None = None
        self._nacked: set[int] = set()
        self._streams: dict[int, _Stream] = {}
        self._payload_types: dict[int, int] = {}
        #: Packets asked for again (NACK), and how many of them came back.
        self.nacks = 0
        self.retransmitted = 0

    def take(
        self,
        ssrc: int,
        payload_type: int,
        sequence: int,
        timestamp: int,
        payload: bytes,
        arrival: float,
        wall_offset: float,
        buffer: AdaptiveJitterBuffer,
    ) -> list[int]:
        """Take one packet into ``buffer``; the sequence numbers to ask for again.
        ``arrival``: seconds on the buffer's monotonic clock; ``wall_offset``: the wall
        clock minus that clock (for the statistics)."""
        if not 0 <= payload_type < 128:
            raise ValueError(f"payload types are 0–127, got {payload_type}")
        for value in (arrival, wall_offset):
            if not math.isfinite(value):
                raise ValueError(f"expected a finite time, got {value}")
        wall = int((arrival + wall_offset) * self._clock_rate)
        stream = self._streams.get(ssrc)
        if stream is None:
            stream = self._streams[ssrc] = _Stream()
        stream.add(sequence, timestamp, wall)
        self._payload_types[payload_type] = self._payload_types.get(payload_type, 0) + 1
        repeated = sequence in self._nacked
        if repeated:
            self._nacked.discard(sequence)
            self.retransmitted += 1
        lost = self._ask_again(payload_type, sequence)
        # A repeat is late by design: its transit says nothing of the network's jitter.
        buffer.push(sequence, timestamp, payload, arrival, redundant=repeated, tag=payload_type)
        return lost

    def _ask_again(self, payload_type: int, sequence: int) -> list[int]:
        if self._top is None:
            self._top = sequence
            return []
        top = self._top
        ahead = (sequence - top) & 0xFFFF
        if ahead >= 0x8000:
            return []  # older than the newest: a retransmission or a reordered packet
        lost: list[int] = []
        if 1 < ahead <= MAX_NACK + 1 and payload_type in self._nack_types:
            lost = [(top + k) & 0xFFFF for k in range(1, ahead)]
            self._nacked.update(lost)
            if len(self._nacked) > 4 * MAX_NACK:
                self._nacked = set(lost)
            self.nacks += len(lost)
        self._top = sequence
        return lost

    def seed(self, ssrc: int, row: StatisticsRow) -> None:
        """Start ``ssrc``'s statistics from a receiver's (aiortc's) state."""
        self._streams[ssrc] = _Stream(row)

    def statistics(self, ssrc: int) -> StatisticsRow | None:
        """``ssrc``'s receive statistics (None: no packet of it yet)."""
        stream = self._streams.get(ssrc)
        return None if stream is None else stream.row()

    def pending(self) -> list[int]:
        """The packets asked for again and not back yet, in increasing order."""
        return sorted(self._nacked)

    @property
    def top(self) -> int | None:
        """The newest sequence number seen."""
        return self._top

    @property
    def payload_types(self) -> dict[int, int]:
        """Packets taken, by payload type (those with any)."""
        return dict(sorted(self._payload_types.items()))
