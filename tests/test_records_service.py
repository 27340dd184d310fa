"""Session records over real sessions: details, every filter, visibility, export."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from zhanye_sdk.errors import ConflictError, InvalidInput
from zhanye_sdk.platform import PasswordHashing, PlatformConfig
from zhanye_sdk.platform.permissions import NotAccessible
from zhanye_sdk.records import (
    EvaluationFilter,
    ExportState,
    RecordConfig,
    RecordExports,
    RecordFilter,
    RecordService,
    RecordSummary,
)
from zhanye_sdk.records.export import COLUMNS, ExportFormat, RecordWriter
from zhanye_sdk.rooms.core import RoomState

from .platform_world import build_world
from .records_world import RecordsWorld, build_records

pytestmark = pytest.mark.anyio

ALL = ["S1", "S2", "S3", "S4", "S5", "S6"]
HEADERS_ZH = [zh for zh, _, _ in COLUMNS]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def rw(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RecordsWorld]:
    """The six sessions, built once per database for the module (the tests only read).

    Like the ``database_url`` fixture: a SQLite file, then a fresh database on the real
    PostgreSQL; module-scoped because building the sessions is most of the time spent.
    """
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('records')}/records.db"
    else:
        url = request.getfixturevalue("postgres").new_database()
    config = PlatformConfig(
        passwords=PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1)
    )
    world = await build_world(url, config)
    try:
        yield await build_records(world)
    finally:
        await world.platform.close()


def service(rw: RecordsWorld, **config: int) -> RecordService:
    return RecordService(rw.world.platform, rw.rooms, RecordConfig(**config))


async def names(rw: RecordsWorld, who: str, filters: RecordFilter | None = None) -> list[str]:
    page = await service(rw).list(rw.world.p(who), filters, limit=100)
    by_id = {s.id: name for name, s in rw.sessions.items()}
    found = [by_id[item.id] for item in page.items]
    assert page.total == len(found)
    return found


async def test_a_record_carries_what_happened_in_the_session(rw: RecordsWorld) -> None:
    records = service(rw)
    record = await records.get(rw.world.p("oa_A1"), rw.id("S2"))
    s = record.summary
    assert s.meeting_number == rw.number("S2") and len(s.meeting_number) == 8
    assert s.state is RoomState.ENDED and s.end_reason == "staff_ended"
    assert (s.host_name, s.host_login) == ("sp_A1", "sp-A1")
    assert (s.org_id, s.org_name) == (rw.world.ids["A1"], "机构A1")
    assert s.project == "重疾险" and s.terminal == "pc-web"
    assert s.started_at is not None and s.ended_at is not None
    assert s.ended_at - s.started_at == timedelta(seconds=180)
    assert s.duration_ms == 180_000
    # 孙七 opened the invite but never came in: not a participant, not a customer.
    assert (s.participant_count, s.customer_count) == (3, 2)
    assert (s.evaluation_count, s.average_score) == (1, 3.0)
    people = {(p.name, p.role): p.duration_ms for p in record.participants}
    # 李四 was away for a minute: durations add up across the rejoin.
    assert people == {
        ("sp_A1", "host"): 180_000,
        ("李四", "customer"): 120_000,
        ("王五", "customer"): 120_000,
    }
    assert all(
        p.recording_acknowledged_at is not None for p in record.participants if p.role == "customer"
    )
    ratings = {(e.name, e.score, e.comment) for e in record.evaluations}
    assert ratings == {("李四", 3, ""), ("王五", None, None)}
    # Placeholders of later issues are there, empty.
    assert record.shared_materials == [] and record.sop_steps == []
    assert record.recording_status is None and record.network is None
    assert (record.shared_file, record.shared_link) == (False, False)

    first = await records.get(rw.world.p("sp_A1"), rw.id("S1"))
    assert [(e.name, e.score, e.comment) for e in first.evaluations] == [("张三", 5, "讲解清楚")]
    assert first.summary.duration_ms == 90_000

    # A live session's durations run on to now; a waiting one has none.
    live = await records.get(rw.world.p("ca_A"), rw.id("S4"))
    assert live.summary.state is RoomState.LIVE and live.summary.ended_at is None
    assert live.summary.started_at is not None
    running = rw.world.clock.now() - live.summary.started_at
    assert live.summary.duration_ms == running.total_seconds() * 1000 >= 7200_000
    host = next(p for p in live.participants if p.role == "host")
    assert host.duration_ms == live.summary.duration_ms
    waiting = await records.get(rw.world.p("ca_B"), rw.id("S5"))
    assert waiting.summary.duration_ms is None and waiting.participants == []


async def test_each_filter_narrows_the_list(rw: RecordsWorld) -> None:
    t0 = rw.sessions["S1"].created_at
    hour = timedelta(hours=1)
    ids = rw.world.ids
    root = "root"
    assert await names(rw, root) == list(reversed(ALL))  # newest first
    window = RecordFilter(created_from=t0 + hour, created_before=t0 + 3 * hour)
    assert await names(rw, root, window) == ["S3", "S2"]
    assert await names(rw, "ca_A", RecordFilter(org_id=ids["A2"])) == ["S4"]
    assert await names(rw, "ca_A", RecordFilter(host_account_id=ids["sp_A1"])) == ["S2", "S1"]
    assert await names(rw, root, RecordFilter(project="养老险")) == ["S5", "S4", "S1"]
    assert await names(rw, root, RecordFilter(participants_min=2)) == ["S4", "S2", "S1"]
    assert await names(rw, root, RecordFilter(participants_max=1)) == ["S6", "S5", "S3"]
    exactly_two = RecordFilter(participants_min=2, participants_max=2)
    assert await names(rw, root, exactly_two) == ["S4", "S1"]
    assert await names(rw, root, RecordFilter(keyword=rw.number("S2")[2:6])) == ["S2"]
    assert await names(rw, root, RecordFilter(keyword="SP2-a")) == ["S3"]  # login, any case
    assert await names(rw, root, RecordFilter(keyword=" 重疾 ")) == ["S2"]
    assert await names(rw, root, RecordFilter(keyword="%")) == []  # no wildcards
    assert await names(rw, root, RecordFilter(evaluation=EvaluationFilter.RATED)) == ["S2", "S1"]
    unrated = RecordFilter(evaluation=EvaluationFilter.UNRATED)
    assert await names(rw, root, unrated) == ["S6", "S5", "S4", "S3"]
    assert await names(rw, root, RecordFilter(score=5)) == ["S1"]
    assert await names(rw, root, RecordFilter(score=3)) == ["S2"]
    assert await names(rw, root, RecordFilter(score=4)) == []
    assert await names(rw, root, RecordFilter(state=RoomState.LIVE)) == ["S4"]
    assert await names(rw, root, RecordFilter(state=RoomState.WAITING)) == ["S5"]
    ended = RecordFilter(state=RoomState.ENDED, project="养老险", participants_min=2)
    assert await names(rw, root, ended) == ["S1"]
    # Paging: the total counts every match, the page holds the slice.
    page = await service(rw).list(rw.world.p(root), None, offset=2, limit=3)
    assert page.total == 6 and [i.meeting_number for i in page.items] == [
        rw.number(n) for n in ("S4", "S3", "S2")
    ]


def test_filters_are_checked_listing_every_problem() -> None:
    naive = RecordFilter(created_from=datetime(2026, 1, 1))
    with pytest.raises(InvalidInput, match="created_from must be a time with a time zone"):
        naive.checked()
    bad = RecordFilter(participants_min=5, participants_max=2, score=9, keyword="x" * 65)
    with pytest.raises(InvalidInput) as caught:
        bad.checked()
    message = str(caught.value)
    for part in ("participants_min must not be larger", "score must be", "keyword must be"):
        assert part in message
    both = RecordFilter(evaluation=EvaluationFilter.UNRATED, score=4)
    with pytest.raises(InvalidInput, match="unrated"):
        both.checked()
    assert RecordFilter(keyword="  ", project=" 养老险 ").checked() == RecordFilter(
        project="养老险"
    )


async def test_each_role_sees_exactly_what_room_visibility_allows(rw: RecordsWorld) -> None:
    expected = {
        "sp_A1": ["S2", "S1"],
        "sp2_A1": ["S3"],
        "sp_A2": ["S4"],
        "sp_B1": ["S5"],
        "oa_A1": ["S6", "S3", "S2", "S1"],
        "oa_A2": ["S4"],
        "ca_A": ["S6", "S4", "S3", "S2", "S1"],
        "ca_B": ["S5"],
        "root": list(reversed(ALL)),
    }
    for who, visible in expected.items():
        actor = rw.world.p(who)
        assert await names(rw, who) == visible, who
        # The SQL scope and the room service's rule agree on every session.
        by_rule = [n for n in reversed(ALL) if rw.rooms.visible(actor, rw.sessions[n])]
        assert by_rule == visible, who


async def test_attackers_get_nothing_and_learn_nothing(rw: RecordsWorld) -> None:
    records = service(rw)
    ids = rw.world.ids
    attempts = [
        ("sp_A1", "S3"),  # a colleague's record
        ("sp2_A1", "S1"),
        ("oa_A1", "S4"),  # another organization's
        ("oa_A2", "S1"),
        ("ca_B", "S1"),  # another company's
        ("ca_A", "S5"),
    ]
    for who, target in attempts:
        with pytest.raises(NotAccessible) as caught:
            await records.get(rw.world.p(who), rw.id(target))
        assert str(caught.value) == f"session {rw.id(target)!r} not found"
    with pytest.raises(NotAccessible):
        await records.get(rw.world.p("sp_A1"), "0" * 32)
    # Filters cannot widen the scope either.
    assert await names(rw, "sp_A1", RecordFilter(host_account_id=ids["sp2_A1"])) == []
    assert await names(rw, "oa_A1", RecordFilter(org_id=ids["A2"])) == []
    assert await names(rw, "ca_A", RecordFilter(org_id=ids["B1"])) == []
    facets = await records.facets(rw.world.p("oa_A1"))
    assert [name for _, name in facets.orgs] == ["机构A1"]
    assert sorted(name for _, name in facets.hosts) == ["oa_A1", "sp2_A1", "sp_A1"]
    assert facets.projects == ["养老险", "重疾险"]
    # An export is scoped the same way.
    out = io.BytesIO()
    assert await records.export(rw.world.p("sp_A1"), None, out, "csv") == 2


async def test_export_csv_and_xlsx_with_chinese_headers_and_progress(rw: RecordsWorld) -> None:
    # Batches of two: the keyset paging must neither repeat nor skip a row.
    records = service(rw, export_batch=2)
    actor = rw.world.p("ca_A")
    wanted = [rw.number(n) for n in ("S6", "S4", "S3", "S2", "S1")]
    calls: list[tuple[int, int]] = []
    out = io.BytesIO()
    written = await records.export(
        actor, None, out, "csv", progress=lambda done, total: calls.append((done, total))
    )
    assert written == 5
    assert calls[0] == (0, 5) and calls[-1] == (5, 5)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls) and len(calls) == 4
    data = out.getvalue()
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Chinese right
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == HEADERS_ZH and rows[0][:8] == [
        "会话ID",
        "会话编号",
        "所属机构",
        "项目",
        "员工姓名",
        "账号",
        "会议状态",
        "创建时间",
    ]
    assert [r[1] for r in rows[1:]] == wanted
    s2 = dict(zip(rows[0], rows[wanted.index(rw.number("S2")) + 1], strict=True))
    assert s2["所属机构"] == "机构A1" and s2["项目"] == "重疾险"
    assert s2["会议状态"] == "已结束" and s2["会议结束方式"] == "员工结束"
    assert s2["会议时长"] == "00:03:00" and s2["参会人数"] == "3" and s2["客户数量"] == "2"
    assert s2["终端"] == "电脑" and s2["平均满意度"] == "3.0"
    # Times are local to the requested zone (UTC+8 by default).
    created = rw.sessions["S2"].created_at + timedelta(hours=8)
    assert s2["创建时间"] == created.strftime("%Y-%m-%d %H:%M:%S")

    filtered = RecordFilter(evaluation=EvaluationFilter.RATED)
    book_bytes = io.BytesIO()
    calls.clear()
    await records.export(
        actor, filtered, book_bytes, "xlsx", progress=lambda d, t: calls.append((d, t))
    )
    assert calls[-1] == (2, 2)
    book = openpyxl.load_workbook(io.BytesIO(book_bytes.getvalue()), read_only=True)
    sheet = book["会话记录"]
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert table[0] == HEADERS_ZH
    assert [r[1] for r in table[1:]] == [rw.number("S2"), rw.number("S1")]
    assert table[2][4] == "sp_A1" and table[2][11] == 2

    english = io.BytesIO()
    await records.export(actor, filtered, english, "csv", lang="en", timezone="UTC")
    header = english.getvalue().decode("utf-8-sig").splitlines()[0]
    assert header.startswith("Session ID,Meeting number,Organization")


async def test_export_refuses_bad_options_and_oversized_lists(rw: RecordsWorld) -> None:
    actor = rw.world.p("root")
    for kwargs, match in [
        ({"fmt": "pdf"}, "csv or xlsx"),
        ({"fmt": "csv", "timezone": "Mars/Olympus"}, "time zone"),
        ({"fmt": "csv", "lang": "fr"}, "language"),
    ]:
        out = io.BytesIO()
        with pytest.raises(InvalidInput, match=match):
            await service(rw).export(actor, None, out, **kwargs)  # type: ignore[arg-type]
        assert out.getvalue() == b""
    with pytest.raises(InvalidInput, match="narrow the filters"):
        await service(rw, export_max_rows=5).export(actor, None, io.BytesIO(), "csv")


def test_typed_text_never_becomes_a_spreadsheet_formula() -> None:
    moment = datetime(2026, 1, 5, 1, 30, tzinfo=UTC)
    row = RecordSummary(
        id="f" * 32,
        meeting_number="12345678",
        state=RoomState.WAITING,
        company_id="c",
        org_id="o",
        org_name="+机构",
        project='=HYPERLINK("http://x")',
        host_account_id="a",
        host_name="@张",
        host_login="-1",
        terminal="app",
        created_at=moment,
        started_at=None,
        ended_at=None,
        duration_ms=None,
        end_reason=None,
        participant_count=0,
        customer_count=0,
        evaluation_count=0,
        average_score=None,
    )
    for fmt in (ExportFormat.CSV, ExportFormat.XLSX):
        out = io.BytesIO()
        writer = RecordWriter(out, fmt, ZoneInfo("Asia/Shanghai"), "zh-CN")
        writer.write([row])
        writer.finish()
        if fmt is ExportFormat.CSV:
            cells = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))))[1]
        else:
            sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue()))["会话记录"]
            assert all(c.data_type != "f" for c in sheet[2])
            cells = [c.value for c in sheet[2]]
        assert cells[2:6] == ["'+机构", '\'=HYPERLINK("http://x")', "'@张", "'-1"], fmt
        assert cells[7] == "2026-01-05 09:30:00" and cells[6] == "未开始" and cells[13] == "APP"


async def test_export_jobs_are_limited_per_account_and_private(rw: RecordsWorld) -> None:
    # No runner: the jobs stay queued, which is what the limit counts.
    exports = RecordExports(service(rw), rw.world.clock)
    owner, other = rw.world.p("sp_A1"), rw.world.p("sp2_A1")
    jobs = [await exports.start(owner, None, "csv") for _ in range(3)]
    assert {j.state for j in jobs} == {ExportState.QUEUED} and jobs[0].total == 2
    with pytest.raises(ConflictError, match="3 exports under way"):
        await exports.start(owner, None, "xlsx")
    assert (await exports.start(other, None, "xlsx")).total == 1  # others are not held up
    assert await exports.status(owner, jobs[0].id) is jobs[0]
    with pytest.raises(NotAccessible):
        await exports.status(other, jobs[0].id)
    with pytest.raises(ConflictError, match="queued, not ready"):
        await exports.file(owner, jobs[0].id)
    with pytest.raises(InvalidInput, match="csv or xlsx"):
        await exports.start(owner, None, "docx")
