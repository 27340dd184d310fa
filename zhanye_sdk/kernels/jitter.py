"""The twin of the native ``AdaptiveJitterBuffer`` (``jitter.rs``): an adaptive audio
jitter buffer, sans I/O: its delay follows the measured jitter and
shrinks again, and loss never makes it grow.

aiortc's audio jitter buffer releases a frame only once four complete frames follow it;
a lost packet stops that run, so under loss it fills to its capacity (16 packets, 320 ms)
and stays full (aiortc#543): latency grows with loss, not with jitter. This buffer
instead releases every packet at its *playout time*, ``timestamp / rate + offset``:

* every packet that arrives gives a transit sample, ``arrival - timestamp / rate``; over
  the last ``window`` packets, the fastest one is the base and the ``quantile`` of the
  others above it (or of the last 50, when higher: jitter that starts) is the jitter to
  absorb. The wanted offset is base + that jitter
  (+ a small margin), kept between ``min_delay_ms`` and ``max_delay_ms`` above the base;
* a wanted offset above the current one takes effect at once (the next packets wait
  longer: the receiver stretches by concealment or a gap); one a frame or more below
  it shrinks the offset by one frame at most every ``shrink_every`` frames, skipping
  one frame (which the receiver must not conceal: it is released with
  ``discontinuity``);
* lost packets give no samples, so loss alone never moves the delay; a packet that
  arrives after a later one was released is late and dropped (its sample still counts,
  so the delay grows to catch such packets next time).

A packet is held at most ``max_delay_ms`` beyond the fastest transit, so the buffer is
bounded by construction. A timestamp or sequence jump (a new stream) resynchronises.
Time is passed in (seconds on any monotonic clock, finite); nothing here reads a clock.
Both implementations do the same arithmetic in the same order: they release the same
packets at the same times and report the same delay, bit for bit.
"""

from __future__ import annotations

import bisect
import collections
import itertools
import math

import attrs

__all__ = ["AdaptiveJitterBuffer", "Released"]

_SEQ_MOD = 1 << 16
_TS_MOD = 1 << 32
_RESYNC_S = 2.0
_RESYNC_SEQ = 3000
_RECENT = 50


@attrs.frozen
class Released:
    """A packet leaving the buffer for the decoder, in sequence order.

    Attributes:
        sequence: the extended (unwrapped) sequence number.
        timestamp: the packet's RTP timestamp (32-bit, as sent).
        payload: the encoded frame.
        discontinuity: the buffer skipped the frame(s) before this one on purpose (it shrank,
            or a new stream began): the decoder must not conceal the gap.
        redundant: it came from redundancy (RED), its own packet having been lost.
        tag: what the packet was pushed with (the receiver's payload type).
    """

    sequence: int
    timestamp: int
    payload: bytes
    discontinuity: bool = False
    redundant: bool = False
    tag: int = 0


@attrs.define
class _Held:
    timestamp: int  # extended
    payload: bytes
    redundant: bool
    tag: int


class AdaptiveJitterBuffer:
    """Packets in, packets out at their playout time (see the module docstring).

    Args:
        clock_rate: the RTP clock (48 000 for Opus).
        frame_ms: the usual packet duration (20 ms): the step by which the delay shrinks.
        min_delay_ms, max_delay_ms: the range of the playout delay above the fastest transit.
        window: how many recent packets the jitter is measured over (250: 5 s, so that a
            network or host that stalls every few seconds keeps its delay instead of
            shrinking and growing again, which would drop frames each time).
        quantile: the share of those packets that should arrive in time.
        margin_ms: added to the measured jitter.
        shrink_every: frames released between two one-frame shrinks (10: the delay falls
            by at most 100 ms a second, skipping one frame in ten meanwhile).
    """

    def __init__(
        self,
        *,
        clock_rate: int = 48_000,
        frame_ms: int = 20,
        min_delay_ms: float = 20.0,
        max_delay_ms: float = 300.0,
        window: int = 250,
        quantile: float = 0.95,
        margin_ms: float = 5.0,
        shrink_every: int = 10,
    ) -> None:
        if not 0 < min_delay_ms <= max_delay_ms or window < 2 or not 0.5 <= quantile <= 1:
            raise ValueError(
                "expected 0 < min_delay <= max_delay, window >= 2, quantile in [0.5, 1]"
            )
        finite = all(math.isfinite(v) for v in (frame_ms, max_delay_ms, margin_ms))
        if clock_rate <= 0 or not finite or frame_ms <= 0:
            raise ValueError("expected a clock rate above 0 and finite, positive frame and delays")
        self.clock_rate = clock_rate
        self.frame_s = frame_ms / 1000
        self.min_delay_s = min_delay_ms / 1000
        self.max_delay_s = max_delay_ms / 1000
        self.quantile = quantile
        self.margin_s = margin_ms / 1000
        self.shrink_every = shrink_every
        self._window: collections.deque[float] = collections.deque(maxlen=window)
        self._sorted: list[float] = []
        self._held: dict[int, _Held] = {}
        self._offset = 0.0
        self._next: int | None = None  # the extended sequence number to release next
        self._top_seq: int | None = None
        self._top_ts: int | None = None
        self._skip = False
        self._discontinuity = False
        self._since_shrink = 0
        #: Counters: packets taken, late (dropped), duplicates, skipped to shrink, resyncs.
        self.received = self.late = self.duplicates = self.skipped = self.resyncs = 0

    # ---- measuring ------------------------------------------------------------------------

    @property
    def delay_ms(self) -> float:
        """The current playout delay above the fastest transit, in milliseconds."""
        if not self._sorted:
            return 0.0
        return (self._offset - self._sorted[0]) * 1000

    @property
    def buffered(self) -> int:
        """Packets held."""
        return len(self._held)

    def _wanted(self) -> float:
        base = self._sorted[0]
        top = self._sorted[min(len(self._sorted) - 1, int(self.quantile * len(self._sorted)))]
        # Jitter that starts shows in the recent packets first: grow on them at once.
        recent = sorted(itertools.islice(reversed(self._window), _RECENT))
        top = max(top, recent[min(len(recent) - 1, int(self.quantile * len(recent)))])
        jitter = top - base + self.margin_s
        return base + min(self.max_delay_s, max(self.min_delay_s, jitter))

    def _sample(self, transit: float) -> None:
        if len(self._window) == self._window.maxlen:
            old = self._window.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]
        self._window.append(transit)
        bisect.insort(self._sorted, transit)

    def _adapt(self) -> None:
        wanted = self._wanted()
        base = self._sorted[0]
        # The fastest transit may rise (a longer route): never hold beyond max above it.
        if wanted > self._offset or self._offset - base > self.max_delay_s:
            self._offset = wanted
        elif wanted <= self._offset - self.frame_s and self._since_shrink >= self.shrink_every:
            self._offset -= self.frame_s
            self._skip = True
            self._since_shrink = 0

    # ---- unwrapping -----------------------------------------------------------------------

    def _extend(self, sequence: int, timestamp: int) -> tuple[int, int]:
        if self._top_seq is None or self._top_ts is None:
            return sequence % _SEQ_MOD, timestamp % _TS_MOD
        seq_delta = (sequence - self._top_seq) % _SEQ_MOD
        if seq_delta >= _SEQ_MOD // 2:
            seq_delta -= _SEQ_MOD
        ts_delta = (timestamp - self._top_ts) % _TS_MOD
        if ts_delta >= _TS_MOD // 2:
            ts_delta -= _TS_MOD
        return self._top_seq + seq_delta, self._top_ts + ts_delta

    def _resync(self, sequence: int, timestamp: int, transit: float) -> None:
        self.resyncs += int(self._top_seq is not None)
        self._window.clear()
        self._sorted.clear()
        self._held.clear()
        self._top_seq, self._top_ts = sequence, timestamp
        self._next = None
        self._skip = False
        self._discontinuity = True
        self._since_shrink = 0
        self._sample(transit)
        self._offset = transit + self.min_delay_s

    # ---- packets in -----------------------------------------------------------------------

    def push(
        self,
        sequence: int,
        timestamp: int,
        payload: bytes,
        now: float,
        *,
        redundant: bool = False,
        tag: int = 0,
    ) -> bool:
        """Take a packet that arrived at ``now``; False when it is late or a duplicate.

        ``redundant``: a copy of a packet rebuilt from redundancy (RED) that arrived inside
        a later one; it fills a hole but says nothing about the network's timing. ``tag``
        (0–255) leaves with the packet (``Released.tag``).
        """
        if not math.isfinite(now):
            raise ValueError(f"expected a finite time, got {now}")
        if not 0 <= tag <= 255:
            raise ValueError(f"tag must be 0–255, got {tag}")
        if redundant and self._top_seq is None:
            return False
        seq, ts = self._extend(sequence, timestamp)
        if not redundant:
            transit = now - ts / self.clock_rate
            if (
                self._top_seq is None
                or abs(seq - self._top_seq) > _RESYNC_SEQ
                or abs(transit - self._sorted[0]) > _RESYNC_S
            ):
                if self._top_seq is not None:
                    # The new stream numbers on above the old one (same 16 low bits).
                    seq = self._top_seq + _SEQ_MOD + (sequence - self._top_seq) % _SEQ_MOD
                    ts = timestamp % _TS_MOD
                    transit = now - ts / self.clock_rate
                self._resync(seq, ts, transit)
            else:
                self._sample(transit)
                self._adapt()
            if self._top_seq is None or seq > self._top_seq:
                self._top_seq, self._top_ts = seq, ts
            self.received += 1
        if (self._next is not None and seq < self._next) or seq in self._held:
            if not redundant:
                if seq in self._held:
                    self.duplicates += 1
                else:
                    self.late += 1
            return False
        self._held[seq] = _Held(ts, bytes(payload), redundant, tag)
        return True

    # ---- packets out ----------------------------------------------------------------------

    def due(self, sequence: int) -> float | None:
        """When a held packet (extended sequence number) is due."""
        held = self._held.get(sequence)
        return None if held is None else held.timestamp / self.clock_rate + self._offset

    def next_due(self) -> float | None:
        """When ``pop`` will next release something (None: nothing held)."""
        if not self._held:
            return None
        head = min(self._held)
        due = self._held[head].timestamp / self.clock_rate + self._offset
        if self._next is not None and head > self._next:
            due -= self.frame_s  # a hole: FEC or redundancy in the next packet rebuilds it
        return due

    def pop(self, now: float) -> list[Released]:
        """The packets due by ``now``, in sequence order."""
        if not math.isfinite(now):
            raise ValueError(f"expected a finite time, got {now}")
        out: list[Released] = []
        while self._held:
            if self._skip:
                self._skip = False
                self._shrink()
                continue
            when = self.next_due()
            if when is None or when > now:
                break
            head = min(self._held)
            held = self._held.pop(head)
            out.append(
                Released(
                    head,
                    held.timestamp % _TS_MOD,
                    held.payload,
                    self._discontinuity,
                    held.redundant,
                    held.tag,
                )
            )
            self._discontinuity = False
            self._next = head + 1
            self._since_shrink += 1
        return out

    def _shrink(self) -> None:
        """Skip the next frame (held or not): the delay is one frame shorter."""
        head = min(self._held)
        skipped = head if self._next is None else self._next
        if skipped >= head:
            del self._held[head]
            skipped = head
        self._next = skipped + 1
        self.skipped += 1
        self._discontinuity = True
