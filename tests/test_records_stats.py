"""监控统计 over a generated set of stored sessions, checked exactly, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, date

import attrs
import pytest

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.platform import PasswordHashing, PlatformConfig
from zhanye_sdk.records.stats import Bucket, Figures, StatsService, bucket_starts
from zhanye_sdk.records.stats_tables import stats_csv

from .platform_world import World, build_world
from .stats_world import (
    END,
    START,
    ZONE,
    Planned,
    expected,
    in_period,
    plan,
    store,
    violation_counts,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@attrs.frozen
class StatsWorld:
    world: World
    planned: list[Planned]
    service: StatsService


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def sw(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StatsWorld]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('stats')}/stats.db"
    else:
        url = request.getfixturevalue("postgres").new_database()
    config = PlatformConfig(
        passwords=PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1)
    )
    world = await build_world(url, config)
    planned = plan()
    await store(world, planned)
    try:
        yield StatsWorld(world, planned, StatsService(world.platform))
    finally:
        await world.platform.close()


def figures(f: Figures) -> dict[str, object]:
    return {k: getattr(f, k) for k in attrs.fields_dict(Figures)}


def company_a(planned: list[Planned]) -> list[Planned]:
    return [s for s in planned if s.company == "A" and in_period(s)]


async def test_company_admin_sees_each_day_and_each_organization(sw: StatsWorld) -> None:
    stats = await sw.service.stats(sw.world.p("ca_A"), START, END, "day", timezone=str(ZONE))
    mine = company_a(sw.planned)
    assert figures(stats.total) == expected(mine)
    assert [b.start for b in stats.buckets] == [date(2026, 3, d) for d in (1, 2, 3)]
    for b in stats.buckets:
        day = [s for s in mine if s.created.astimezone(ZONE).date() == b.start]
        assert figures(b.figures) == expected(day), b.start
    assert stats.group_kind == "org"
    assert {g.name: figures(g.figures) for g in stats.groups} == {
        f"机构{org}": expected([s for s in mine if s.org == org]) for org in ("A1", "A2")
    }
    top = violation_counts(mine)
    assert {v.rule_name: v.count for v in stats.violations} == dict(top)
    assert [v.count for v in stats.violations] == sorted(top.values(), reverse=True)
    # Derived figures follow from the sums.
    want = expected(mine)
    assert stats.total.duration_ms_average == want["duration_ms_total"] / want["timed_sessions"]
    assert stats.total.video_share == want["video_sessions"] / want["sessions"]
    scores = [x for s in mine for x in s.scores]
    assert stats.total.evaluation_average == pytest.approx(sum(scores) / len(scores))


async def test_drilling_into_an_organization_lists_its_salespeople(sw: StatsWorld) -> None:
    org = sw.world.ids["A1"]
    stats = await sw.service.stats(
        sw.world.p("ca_A"), START, END, Bucket.DAY, org_id=org, timezone=str(ZONE)
    )
    mine = [s for s in company_a(sw.planned) if s.org == "A1"]
    assert stats.group_kind == "host" and stats.org_id == org
    assert figures(stats.total) == expected(mine)
    assert {g.name: figures(g.figures) for g in stats.groups} == {
        h: expected([s for s in mine if s.host == h])
        for h in ("sp_A1", "sp2_A1", "oa_A1")
        if any(s.host == h for s in mine)
    }
    assert {g.id for g in stats.groups} <= {
        sw.world.p(h).account_id for h in ("sp_A1", "sp2_A1", "oa_A1")
    }


async def test_an_org_admin_gets_their_organization_by_salesperson(sw: StatsWorld) -> None:
    stats = await sw.service.stats(sw.world.p("oa_A2"), START, END, "day", timezone=str(ZONE))
    mine = [s for s in company_a(sw.planned) if s.org == "A2"]
    assert stats.org_id == sw.world.ids["A2"]
    assert figures(stats.total) == expected(mine)
    assert [g.name for g in stats.groups] == ["sp_A2"]


async def test_weeks_and_months_cut_at_local_calendar_limits(sw: StatsWorld) -> None:
    # 2026-03-01 is a Sunday: the first week is that one day, the next starts Monday.
    stats = await sw.service.stats(
        sw.world.p("ca_A"), date(2026, 2, 28), date(2026, 3, 6), "week", timezone=str(ZONE)
    )
    assert [b.start for b in stats.buckets] == [date(2026, 2, 28), date(2026, 3, 2)]
    mine = [s for s in sw.planned if s.company == "A"]
    first = [s for s in mine if in_period(s, date(2026, 2, 28), date(2026, 3, 2))]
    second = [s for s in mine if in_period(s, date(2026, 3, 2), date(2026, 3, 6))]
    assert figures(stats.buckets[0].figures) == expected(first)
    assert figures(stats.buckets[1].figures) == expected(second)
    months = await sw.service.stats(
        sw.world.p("ca_A"), date(2026, 2, 1), date(2026, 4, 1), "month", timezone=str(ZONE)
    )
    assert [b.start for b in months.buckets] == [date(2026, 2, 1), date(2026, 3, 1)]
    assert months.total.sessions == len(
        [s for s in mine if in_period(s, date(2026, 2, 1), date(2026, 4, 1))]
    )


async def test_the_zone_decides_which_day_a_session_falls_on(sw: StatsWorld) -> None:
    """The same sessions counted by UTC days: local early-morning sessions move a day back."""
    stats = await sw.service.stats(sw.world.p("ca_A"), START, END, "day", timezone="UTC")
    utc = [
        s
        for s in sw.planned
        if s.company == "A" and START <= s.created.astimezone(UTC).date() < END
    ]
    assert figures(stats.total) == expected(utc)
    assert utc != company_a(sw.planned)


def test_bucket_limits_are_checked() -> None:
    assert bucket_starts(date(2026, 12, 30), date(2027, 1, 2), Bucket.MONTH) == [
        date(2026, 12, 30),
        date(2027, 1, 1),
    ]
    with pytest.raises(InvalidInput):
        bucket_starts(date(2026, 3, 2), date(2026, 3, 2), Bucket.DAY)
    with pytest.raises(InvalidInput):
        bucket_starts(date(2020, 1, 1), date(2026, 1, 1), Bucket.DAY)
    assert len(bucket_starts(date(2020, 1, 1), date(2026, 1, 1), Bucket.MONTH)) == 72


async def test_bad_bucket_or_zone_is_a_clear_error(sw: StatsWorld) -> None:
    with pytest.raises(InvalidInput) as bad:
        await sw.service.stats(sw.world.p("ca_A"), START, END, "hour")
    assert bad.value.zh
    with pytest.raises(InvalidInput):
        await sw.service.stats(sw.world.p("ca_A"), START, END, "day", timezone="Mars/Base")


async def test_the_csv_of_each_chart_holds_its_table(sw: StatsWorld) -> None:
    stats = await sw.service.stats(sw.world.p("ca_A"), START, END, "day", timezone=str(ZONE))
    mine = company_a(sw.planned)
    rows = list(csv.reader(io.StringIO(stats_csv(stats, "buckets").decode("utf-8-sig"))))
    assert rows[0][:4] == ["日期", "会话数", "总时长（分钟）", "平均时长（分钟）"]
    for row, day in zip(rows[1:], (1, 2, 3), strict=True):
        want = expected(
            [s for s in mine if s.created.astimezone(ZONE).date() == date(2026, 3, day)]
        )
        assert row[0] == f"2026-03-0{day}"
        assert int(row[1]) == want["sessions"]
        assert float(row[2]) == round(want["duration_ms_total"] / 60_000, 2)
        assert [int(x) for x in row[8:13]] == list(want["evaluation_counts"])
    english = list(csv.reader(io.StringIO(stats_csv(stats, "groups", "en").decode("utf-8-sig"))))
    assert english[0][:2] == ["Organization", "Sessions"]
    assert sorted(r[0] for r in english[1:]) == ["机构A1", "机构A2"]
    top = list(csv.reader(io.StringIO(stats_csv(stats, "violations").decode("utf-8-sig"))))
    assert {r[0]: int(r[2]) for r in top[1:]} == dict(violation_counts(mine))
    with pytest.raises(InvalidInput):
        stats_csv(stats, "passwords")
