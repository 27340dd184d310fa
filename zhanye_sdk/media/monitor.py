"""Network quality of one participant from two WebRTC stats snapshots, sans I/O.

``StatsSnapshot.from_report`` reads the cumulative counters of a ``getStats()``
report (aiortc's objects or a browser's JSON, same field names); ``assess`` turns two
snapshots ``interval`` apart into a ``NetworkReport``: round-trip time, jitter in
milliseconds, packet loss over the interval, bitrates each way, and a grade:

* ``poor``: RTT > 400 ms, or loss > 10 %, or jitter > 100 ms;
* ``fair``: RTT > 150 ms, or loss > 2 %, or jitter > 30 ms;
* ``good``: otherwise.

With Opus FEC and concealment on the receiving side (``zhanye_sdk.media.opus``), a
report also carries the *residual* loss: the share of audio frames that were neither
received nor rebuilt from FEC (concealed). The grade then uses the residual loss, since
that is what the listener hears; ``loss`` stays the loss on the wire (packets that came
back when asked for again, ``StatsSnapshot.repaired``, count as lost there).

``NetworkSummary`` folds the reports of a session per participant for its record;
``session_quality`` grades a whole session from that summary for the records list: the
worst grade that at least a tenth of all reports had (one poor moment in a long, good
session does not make it poor).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

__all__ = [
    "NetworkReport",
    "NetworkSummary",
    "StatsSnapshot",
    "assess",
    "grade",
    "session_quality",
]

_CLOCK_HZ = {"audio": 48_000, "video": 90_000}


@attrs.frozen
class StatsSnapshot:
    """Cumulative counters of one peer connection at ``at`` (seconds, any monotonic clock)."""

    at: float
    packets_received: int = 0
    packets_lost: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    jitter_ms: float = 0.0
    rtt_ms: float | None = None
    #: Packets that were lost and came back when asked for again (NACK): the stats count
    #: them received, the wire lost them.
    repaired: int = 0

    @classmethod
    def from_report(cls, at: float, stats: Iterable[Any], *, repaired: int = 0) -> StatsSnapshot:
        """Read a stats report's entries (objects with attributes, or dicts)."""
        received = lost = bytes_in = bytes_out = 0
        jitter_ms = 0.0
        rtts: list[float] = []
        for entry in stats:

            def get(key: str, entry: Any = entry) -> Any:
                return entry.get(key) if isinstance(entry, dict) else getattr(entry, key, None)

            kind = get("type")
            if kind == "inbound-rtp":
                received += int(get("packetsReceived") or 0)
                lost += max(0, int(get("packetsLost") or 0))
                jitter = float(get("jitter") or 0)
                # aiortc counts jitter in RTP clock units; browsers report seconds.
                if isinstance(entry, dict):
                    jitter_ms = max(jitter_ms, jitter * 1000)
                else:
                    jitter_ms = max(jitter_ms, jitter * 1000 / _CLOCK_HZ.get(get("kind"), 90_000))
            elif kind == "remote-outbound-rtp":
                bytes_in += int(get("bytesSent") or 0)
            elif kind == "outbound-rtp":
                bytes_out += int(get("bytesSent") or 0)
            elif kind == "remote-inbound-rtp" and get("roundTripTime") is not None:
                rtts.append(float(get("roundTripTime")) * 1000)
        rtt = max(rtts) if rtts else None
        return cls(at, received, lost, bytes_in, bytes_out, jitter_ms, rtt, repaired)


@attrs.frozen
class NetworkReport:
    """One participant's network over the last interval."""

    rtt_ms: float | None
    jitter_ms: float
    loss: float
    up_kbps: float
    down_kbps: float
    quality: str
    residual_loss: float | None = None

    def with_residual(self, residual_loss: float | None) -> NetworkReport:
        """This report with the loss left after recovery, graded by it."""
        if residual_loss is None:
            return self
        quality = grade(self.rtt_ms, self.jitter_ms, residual_loss)
        return attrs.evolve(self, residual_loss=residual_loss, quality=quality)

    def as_data(self) -> dict[str, Any]:
        """The report as message data (rounded)."""
        return {
            "rtt_ms": None if self.rtt_ms is None else round(self.rtt_ms, 1),
            "jitter_ms": round(self.jitter_ms, 1),
            "loss": round(self.loss, 4),
            "residual_loss": None if self.residual_loss is None else round(self.residual_loss, 4),
            "up_kbps": round(self.up_kbps, 1),
            "down_kbps": round(self.down_kbps, 1),
            "quality": self.quality,
        }


def grade(rtt_ms: float | None, jitter_ms: float, loss: float) -> str:
    """``good``, ``fair`` or ``poor`` by the thresholds in the module docstring."""
    rtt = rtt_ms or 0.0
    if rtt > 400 or loss > 0.10 or jitter_ms > 100:
        return "poor"
    if rtt > 150 or loss > 0.02 or jitter_ms > 30:
        return "fair"
    return "good"


def assess(before: StatsSnapshot, after: StatsSnapshot) -> NetworkReport:
    """The report for the interval between two snapshots of the same connection."""
    seconds = max(after.at - before.at, 1e-3)
    repaired = max(0, after.repaired - before.repaired)
    received = max(0, after.packets_received - before.packets_received - repaired)
    lost = max(0, after.packets_lost - before.packets_lost) + repaired
    loss = lost / (received + lost) if received + lost else 0.0
    up = max(0, after.bytes_in - before.bytes_in) * 8 / 1000 / seconds
    down = max(0, after.bytes_out - before.bytes_out) * 8 / 1000 / seconds
    return NetworkReport(
        after.rtt_ms, after.jitter_ms, loss, up, down, grade(after.rtt_ms, after.jitter_ms, loss)
    )


@attrs.define
class NetworkSummary:
    """Per participant: reports counted by grade (graded by the residual loss where it is
    known), mean RTT, worst loss on the wire, worst residual loss, worst jitter."""

    participants: dict[str, dict[str, Any]] = attrs.field(factory=dict)

    def add(self, participant: str, report: NetworkReport) -> None:
        """Fold one report in."""
        entry = self.participants.setdefault(
            participant,
            {
                "reports": 0,
                "good": 0,
                "fair": 0,
                "poor": 0,
                "rtt_ms_sum": 0.0,
                "rtt_reports": 0,
                "worst_loss": 0.0,
                "worst_residual_loss": None,
                "worst_jitter_ms": 0.0,
            },
        )
        entry["reports"] += 1
        entry[report.quality] += 1
        if report.rtt_ms is not None:
            entry["rtt_ms_sum"] += report.rtt_ms
            entry["rtt_reports"] += 1
        entry["worst_loss"] = max(entry["worst_loss"], report.loss)
        if report.residual_loss is not None:
            worst = entry.get("worst_residual_loss")
            entry["worst_residual_loss"] = max(worst or 0.0, report.residual_loss)
        entry["worst_jitter_ms"] = max(entry["worst_jitter_ms"], report.jitter_ms)

    def as_data(self) -> dict[str, Any]:
        """The summary for the session record."""
        out = {}
        for participant, e in self.participants.items():
            rtt = e["rtt_ms_sum"] / e["rtt_reports"] if e["rtt_reports"] else None
            worst = "poor" if e["poor"] else "fair" if e["fair"] else "good"
            out[participant] = {
                "reports": e["reports"],
                "good": e["good"],
                "fair": e["fair"],
                "poor": e["poor"],
                "mean_rtt_ms": None if rtt is None else round(rtt, 1),
                "worst_loss": round(e["worst_loss"], 4),
                "worst_residual_loss": (
                    None
                    if e.get("worst_residual_loss") is None
                    else round(e["worst_residual_loss"], 4)
                ),
                "worst_jitter_ms": round(e["worst_jitter_ms"], 1),
                "worst_quality": worst,
            }
        return out

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> NetworkSummary:
        """Resume from ``as_data`` output (after a restart)."""
        summary = cls()
        for participant, e in data.items():
            rtt = e.get("mean_rtt_ms")
            summary.participants[participant] = {
                "reports": e["reports"],
                "good": e["good"],
                "fair": e["fair"],
                "poor": e["poor"],
                "rtt_ms_sum": (rtt or 0.0) * e["reports"],
                "rtt_reports": e["reports"] if rtt is not None else 0,
                "worst_loss": e["worst_loss"],
                "worst_residual_loss": e.get("worst_residual_loss"),
                "worst_jitter_ms": e["worst_jitter_ms"],
            }
        return summary


def session_quality(summary: dict[str, Any] | None) -> str | None:
    """``good``, ``fair`` or ``poor`` for a session from ``NetworkSummary.as_data`` output.

    None when nothing was measured. The worst grade held by at least 10 % of the reports.
    """
    entries = list((summary or {}).values())
    total = sum(int(e.get("reports", 0)) for e in entries)
    if not total:
        return None
    poor = sum(int(e.get("poor", 0)) for e in entries)
    fair = sum(int(e.get("fair", 0)) for e in entries)
    if poor * 10 >= total:
        return "poor"
    if (poor + fair) * 10 >= total:
        return "fair"
    return "good"
