"""Network quality from stats deltas: loss, bitrate, jitter units, grades, summary."""

from __future__ import annotations

from types import SimpleNamespace

import attrs

from zhanye_sdk.media.monitor import (
    NetworkReport,
    NetworkSummary,
    StatsSnapshot,
    assess,
    grade,
    session_quality,
)


def aiortc_like(received: int, lost: int, bytes_in: int, bytes_out: int, rtt: float) -> list:
    return [
        SimpleNamespace(
            type="inbound-rtp",
            kind="audio",
            packetsReceived=received,
            packetsLost=lost,
            jitter=480,  # RTP clock units: 480 / 48 kHz = 10 ms
        ),
        SimpleNamespace(type="remote-outbound-rtp", bytesSent=bytes_in),
        SimpleNamespace(type="outbound-rtp", bytesSent=bytes_out),
        SimpleNamespace(type="remote-inbound-rtp", roundTripTime=rtt, fractionLost=0),
    ]


def test_an_interval_is_assessed_from_counter_deltas() -> None:
    before = StatsSnapshot.from_report(10.0, aiortc_like(100, 0, 10_000, 20_000, 0.02))
    after = StatsSnapshot.from_report(12.0, aiortc_like(290, 10, 260_000, 520_000, 0.03))
    report = assess(before, after)
    assert report.loss == 10 / 200
    assert report.up_kbps == 250_000 * 8 / 1000 / 2
    assert report.down_kbps == 500_000 * 8 / 1000 / 2
    assert report.jitter_ms == 10.0 and report.rtt_ms == 30.0
    assert report.quality == "fair"  # 5 % loss


def test_packets_repaired_by_nack_count_as_lost_on_the_wire() -> None:
    # The stats count 8 repeats received; the wire lost them: 10 + 8 of 200.
    before = StatsSnapshot.from_report(10.0, aiortc_like(100, 0, 0, 0, 0.02), repaired=3)
    after = StatsSnapshot.from_report(12.0, aiortc_like(290, 10, 0, 0, 0.02), repaired=11)
    assert assess(before, after).loss == 18 / 200


def test_browser_stats_give_jitter_in_seconds() -> None:
    snap = StatsSnapshot.from_report(
        0.0, [{"type": "inbound-rtp", "kind": "video", "packetsReceived": 5, "jitter": 0.05}]
    )
    assert snap.jitter_ms == 50.0 and snap.rtt_ms is None


def test_grades() -> None:
    assert grade(20, 5, 0.0) == "good"
    assert grade(None, 5, 0.0) == "good"
    assert grade(200, 5, 0.0) == "fair"
    assert grade(20, 40, 0.0) == "fair"
    assert grade(500, 5, 0.0) == "poor"
    assert grade(20, 5, 0.2) == "poor"
    assert grade(20, 150, 0.0) == "poor"


def test_the_summary_counts_grades_and_survives_a_round_trip() -> None:
    before = StatsSnapshot(0.0, 0, 0, 0, 0, 5.0, 20.0)
    good = assess(before, StatsSnapshot(2.0, 100, 0, 1000, 1000, 5.0, 20.0))
    poor = assess(before, StatsSnapshot(2.0, 50, 50, 1000, 1000, 5.0, 40.0))
    summary = NetworkSummary()
    summary.add("p1", good)
    summary.add("p1", poor)
    data = summary.as_data()
    assert data["p1"]["good"] == 1 and data["p1"]["poor"] == 1
    assert data["p1"]["worst_quality"] == "poor" and data["p1"]["mean_rtt_ms"] == 30.0
    again = NetworkSummary.from_data(data)
    again.add("p1", good)
    assert again.as_data()["p1"]["reports"] == 3
    assert again.as_data()["p1"]["mean_rtt_ms"] == round((20 + 40 + 20) / 3, 1)


def test_the_summary_grades_by_the_residual_and_keeps_the_worst_residual() -> None:
    before = StatsSnapshot(0.0, 0, 0, 0, 0, 5.0, 20.0)
    lossy = assess(before, StatsSnapshot(2.0, 70, 30, 1000, 1000, 5.0, 20.0))  # 30 % on the wire
    summary = NetworkSummary()
    summary.add("p1", lossy.with_residual(0.01))
    summary.add("p1", lossy.with_residual(0.004))
    data = summary.as_data()["p1"]
    assert data["good"] == 2 and data["worst_quality"] == "good"  # what the listener heard
    assert data["worst_loss"] == 0.3 and data["worst_residual_loss"] == 0.01
    # Summaries stored before the residual existed still load.
    old = {k: v for k, v in summary.as_data()["p1"].items() if k != "worst_residual_loss"}
    again = NetworkSummary.from_data({"p1": old})
    again.add("p1", lossy)
    assert again.as_data()["p1"]["worst_residual_loss"] is None
    assert again.as_data()["p1"]["poor"] == 1


def test_a_session_is_graded_by_the_worst_grade_a_tenth_of_its_reports_had() -> None:
    summary = NetworkSummary()
    assert session_quality(summary.as_data()) is None
    good = NetworkReport(20.0, 2.0, 0.0, 500.0, 500.0, "good")
    poor = NetworkReport(600.0, 2.0, 0.0, 500.0, 500.0, "poor")
    for _ in range(10):
        summary.add("host", good)
    summary.add("customer", poor)  # one poor moment among eleven reports
    assert session_quality(summary.as_data()) == "good"
    summary.add("customer", attrs.evolve(poor, quality="fair"))
    assert session_quality(summary.as_data()) == "fair"  # 2 of 12 fair or worse
    summary.add("customer", poor)
    assert session_quality(summary.as_data()) == "poor"  # 2 of 13 poor
