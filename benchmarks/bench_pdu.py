"""SMS PDU codec throughput: encode and decode, PDUs per second.

Our codec (``zhanye_sdk.devices.pdu``) against the one in python-gsmmodem-new
(``gsmmodem.pdu``), the most used pure-Python codec on PyPI, on the same inputs in the
same run. Cases: a short GSM 7-bit SUBMIT; a long Chinese SUBMIT split into UCS2 parts;
decoding a short DELIVER, the parts of a long Chinese DELIVER, and a status report.

Run: ``.venv/bin/python benchmarks/bench_pdu.py`` (writes ``results/pdu.md`` and ``.png``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from harness import Table, bar_plot, time_call

from zhanye_sdk.devices import pdu

try:
    from gsmmodem import pdu as gsmmodem_pdu  # type: ignore[import-untyped]
except ImportError:  # the dev extra is not installed: report ours alone
    gsmmodem_pdu = None

NUMBER = "+8613800138000"
SMSC = "+8613800250500"
WHEN = dt.datetime(2026, 11, 23, 9, 30, 5, tzinfo=dt.timezone(dt.timedelta(hours=8)))
SHORT = "Your table for 4 is booked at 19:30. Reply 1 to confirm, 2 to cancel."
LONG_CN = "您好，欢迎光临本店！本周会员日全场八折，积分双倍，生日当月再送精美礼品一份。" * 8


def main() -> None:
    short_deliver = pdu.encode_deliver(NUMBER, SHORT, WHEN, smsc=SMSC)[0]
    long_deliver = pdu.encode_deliver(NUMBER, LONG_CN, WHEN, smsc=SMSC, reference=42)
    report = pdu.encode_status_report(7, NUMBER, 0, WHEN, WHEN + dt.timedelta(seconds=9))
    long_parts = len(pdu.encode_submit(NUMBER, LONG_CN))

    g = gsmmodem_pdu
    # (case, PDUs per call, ours, baseline or None)
    cases: list[tuple[str, int, Callable[[], object], Callable[[], object] | None]] = [
        (
            f"encode GSM7, {len(SHORT)} chars",
            1,
            lambda: pdu.encode_submit(NUMBER, SHORT),
            None
            if g is None
            else lambda: g.encodeSmsSubmitPdu(NUMBER, SHORT, requestStatusReport=False),
        ),
        (
            f"encode UCS2, {len(LONG_CN)} chars, {long_parts} parts",
            long_parts,
            lambda: pdu.encode_submit(NUMBER, LONG_CN, reference=42),
            None
            if g is None
            else lambda: g.encodeSmsSubmitPdu(
                NUMBER, LONG_CN, reference=42, requestStatusReport=False
            ),
        ),
        (
            "decode DELIVER GSM7",
            1,
            lambda: pdu.decode(short_deliver),
            None if g is None else lambda: g.decodeSmsPdu(short_deliver),
        ),
        (
            f"decode DELIVER UCS2, {len(long_deliver)} parts",
            len(long_deliver),
            lambda: [pdu.decode(h) for h in long_deliver],
            None if g is None else lambda: [g.decodeSmsPdu(h) for h in long_deliver],
        ),
        (
            "decode STATUS-REPORT",
            1,
            lambda: pdu.decode(report),
            None if g is None else lambda: g.decodeSmsPdu(report),
        ),
    ]

    table = Table(
        name="pdu",
        title="SMS PDU encode/decode throughput",
        columns=[
            "case",
            "zhanye-sdk (PDUs/s)",
            "python-gsmmodem-new (PDUs/s)",
            "ours / baseline",
        ],
    )
    groups: list[str] = []
    ours_rates: list[float] = []
    base_rates: list[float] = []
    labels = ["enc GSM7", "enc UCS2", "dec GSM7", "dec UCS2", "dec report"]
    for label, (name, pdus, ours, baseline) in zip(labels, cases, strict=True):
        ours_rate = pdus / time_call(ours)
        base_rate = pdus / time_call(baseline) if baseline is not None else float("nan")
        ratio = ours_rate / base_rate if baseline is not None else "n/a"
        table.add(name, ours_rate, base_rate if baseline is not None else "n/a", ratio)
        groups.append(label)
        ours_rates.append(ours_rate)
        base_rates.append(base_rate if baseline is not None else 0.0)

    if g is not None:
        baseline_parts = len(g.encodeSmsSubmitPdu(NUMBER, LONG_CN, requestStatusReport=False))
        table.notes.append(
            "Baseline: python-gsmmodem-new 0.13.0 (`gsmmodem.pdu`), pure Python, same inputs. "
            f"For the long Chinese text it makes {baseline_parts} parts to our {long_parts}; "
            "rates count PDUs made. It measures UCS2 text in characters, not UTF-16 units, "
            "and raises ValueError on a character outside the BMP (e.g. an emoji), which "
            "is why the inputs here have none."
        )
    else:
        table.notes.append("Baseline not installed (`pip install -e .[dev]`): ours only.")
    table.notes.append(
        "Decode builds the full attrs value (addresses, time stamp with zone, concatenation "
        "element, text); timing is the median of 7 batched samples (harness.time_call)."
    )
    table.write()
    series = {"zhanye-sdk": ours_rates}
    if g is not None:
        series["python-gsmmodem-new"] = base_rates
    bar_plot(
        "pdu",
        "SMS PDU codec throughput (higher is better)",
        groups,
        series,
        ylabel="PDUs per second",
    )


if __name__ == "__main__":
    main()
