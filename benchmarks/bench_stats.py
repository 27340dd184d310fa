"""监控统计 on 100,000 stored sessions: the SDK's SQL aggregates vs loading rows into Python.

Data: ``tests/stats_world.plan`` with 100,000 sessions over six local days (five
salespeople in three organizations of two companies; customers, ratings, recordings,
QA reports with violations), on SQLite and on a throwaway PostgreSQL.

Cases, as the company admin of company A over three days, per day:

- ``StatsService.stats``: grouped SQL aggregates (by day bucket × organization): one
  pass over sessions with their media and QA rows, one over their participants, and
  the top violations unnested from the reports' JSON in SQL (``json_each`` /
  ``jsonb_array_elements``);
- the same drilled into one organization (by salesperson);
- baseline: load the period's sessions, their participants and their QA reports (the
  columns the figures need) and add them up in Python — what a page would do on top of
  the records list.

The baseline's totals are checked equal to the SDK's before timing.
Target: the company view under 1 s on SQLite for 100,000 sessions.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
import sqlalchemy as sa  # noqa: E402
from harness import Table, bar_plot, time_call  # noqa: E402

from tests.platform_world import World, build_world  # noqa: E402
from tests.postgres import ThrowawayPostgres  # noqa: E402
from tests.stats_world import plan, store  # noqa: E402
from zhanye_sdk.platform import PasswordHashing, PlatformConfig  # noqa: E402
from zhanye_sdk.records.stats import Figures, StatsService  # noqa: E402
from zhanye_sdk.store.schema import (  # noqa: E402
    session_media,
    session_participants,
    sessions,
    sop_session_reports,
)

COUNT = 100_000
START, END = date(2026, 3, 1), date(2026, 3, 4)
ZONE = "Asia/Shanghai"


async def baseline(world: World) -> Figures:
    """Load the rows, aggregate in Python (totals and top violations)."""
    from zoneinfo import ZoneInfo

    from zhanye_sdk.records.stats import _ms

    zone = ZoneInfo(ZONE)
    lo, hi = _ms(START, zone), _ms(END, zone)
    company = world.ids["A"]
    scope = (
        sessions.c.company_id == company,
        sessions.c.created_ms >= lo,
        sessions.c.created_ms < hi,
    )
    p, r = session_participants, sop_session_reports
    async with world.platform.database.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(
                    sessions.c.id,
                    sessions.c.started_ms,
                    sessions.c.ended_ms,
                    session_media.c.recording_status,
                )
                .select_from(
                    sessions.outerjoin(session_media, session_media.c.session_id == sessions.c.id)
                )
                .where(*scope)
            )
        ).all()
        people = (
            await conn.execute(
                sa.select(p.c.role, p.c.first_joined_ms, p.c.score)
                .select_from(sessions.join(p, p.c.session_id == sessions.c.id))
                .where(*scope)
            )
        ).all()
        reports = (
            await conn.execute(
                sa.select(r.c.qa_score, r.c.qa)
                .select_from(sessions.join(r, r.c.session_id == sessions.c.id))
                .where(*scope)
            )
        ).all()
    timed = [s.ended_ms - s.started_ms for s in rows if s.started_ms and s.ended_ms]
    scores = [x.score for x in people if x.score is not None]
    violations: Counter[str] = Counter()
    for report in reports:
        for v in json.loads(report.qa).get("violations", []):
            violations[v["rule_name"]] += 1
    one, two, three, four, five = (scores.count(k) for k in range(1, 6))
    return Figures(
        sessions=len(rows),
        timed_sessions=len(timed),
        duration_ms_total=sum(timed),
        customers=sum(1 for x in people if x.role == "customer" and x.first_joined_ms),
        video_sessions=sum(1 for s in rows if s.recording_status == "ready"),
        evaluations=len(scores),
        evaluation_counts=(one, two, three, four, five),
        qa_reports=len(reports),
        qa_score_total=sum(x.qa_score for x in reports),
    )


def run(table: Table, label: str, url: str, series: dict[str, list[float]]) -> None:
    loop = asyncio.new_event_loop()
    config = PlatformConfig(
        passwords=PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1)
    )
    world = loop.run_until_complete(build_world(url, config))
    try:
        loop.run_until_complete(store(world, plan(count=COUNT)))
        service = StatsService(world.platform)
        ca = world.p("ca_A")
        org = world.ids["A1"]

        def company() -> Any:
            return loop.run_until_complete(service.stats(ca, START, END, "day", timezone=ZONE))

        def drill() -> Any:
            return loop.run_until_complete(
                service.stats(ca, START, END, "day", org_id=org, timezone=ZONE)
            )

        def base() -> Figures:
            return loop.run_until_complete(baseline(world))

        assert base() == company().total, "the baseline and the SDK disagree"
        in_period = company().total.sessions
        cases = {
            "StatsService, company by org": company,
            "StatsService, org by salesperson": drill,
            "baseline: load rows + Python": base,
        }
        times = {name: time_call(fn, min_time=0.5, repeat=3) for name, fn in cases.items()}
        for name, t in times.items():
            table.add(label, name, in_period, t * 1e3, t / times["baseline: load rows + Python"])
            series.setdefault(name, []).append(t * 1e3)
    finally:
        loop.run_until_complete(world.platform.close())
        loop.close()


def main(tmp: Path) -> None:
    table = Table(
        "stats",
        f"监控统计 over {COUNT:,} sessions",
        ["database", "query", "sessions in period", "ms / query", "time vs baseline"],
    )
    series: dict[str, list[float]] = {}
    run(table, "SQLite", f"sqlite:///{tmp}/bench_stats.db", series)
    server = ThrowawayPostgres()
    server.start()
    try:
        run(table, "PostgreSQL", server.new_database(), series)
    finally:
        server.stop()
    company_sqlite = table.rows[0][3]
    table.notes += [
        f"{COUNT:,} sessions over six local days; the query covers three of them for company A.",
        "Baseline loads sessions, participants and QA reports and sums in Python (totals only,"
        " no per-day or per-organization split: it does less than the SDK).",
        f"Target company view < 1 s on SQLite: "
        f"{'met' if float(company_sqlite) < 1000 else 'NOT met'} ({float(company_sqlite):.0f} ms).",
    ]
    table.write()
    bar_plot(
        "stats",
        "Monitoring statistics: ms per query (lower is better)",
        ["SQLite", "PostgreSQL"],
        series,
        ylabel="ms",
    )


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        main(Path(tmp))
