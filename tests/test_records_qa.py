"""The QA report in the session record over real HTTP: typed, in the list and its export,
and refused to everyone outside the record's scope."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.clock import to_ms
from zhanye_sdk.platform import PlatformConfig, ServiceHours
from zhanye_sdk.records import QaReportRecord
from zhanye_sdk.records.models import SilenceRecord
from zhanye_sdk.records.service import qa_report_from_json
from zhanye_sdk.sop.qa import offset_from_start
from zhanye_sdk.store import open_database
from zhanye_sdk.store.database import MIGRATIONS
from zhanye_sdk.store.schema import sop_session_reports
from zhanye_sdk.wire import structure

from .platform_world import build_world
from .records_qa_world import QA_SCORE, build_qa_record
from .records_world import RecordsWorld, build_records
from .test_records_api import login, wait_done
from .webhost import DEPLOYMENT, build_app, free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
async def server(
    tmp_path: Any, fast_config: PlatformConfig
) -> AsyncIterator[tuple[str, RecordsWorld, str]]:
    world = await build_world(f"sqlite:///{tmp_path}/qa.db", fast_config)
    app = build_app(world.platform)
    rw = await build_records(world, app[DEPLOYMENT].rooms)
    session_id = await build_qa_record(world, app[DEPLOYMENT].rooms)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", rw, session_id
    finally:
        await runner.cleanup()
        await world.platform.close()


async def test_the_record_carries_the_qa_report_with_its_evidence(
    server: tuple[str, RecordsWorld, str],
) -> None:
    base, rw, sid = server
    async with aiohttp.ClientSession() as http:
        for who in ("sp-A1", "oa-A1", "ca-A"):
            answer = await http.get(
                f"{base}/api/records/{sid}", headers=await login(http, base, who)
            )
            assert answer.status == 200, who
            record = await answer.json()
        qa = record["qa_report"]
        assert (qa["score"], qa["passed"], qa["deductions"]) == (QA_SCORE, False, 100 - QA_SCORE)
        assert [
            (v["rule_name"], v["offset_ms"], v["speaker"], v["role"], v["text"], v["deduction"])
            for v in qa["violations"]
        ] == [
            ("冷场", 6000, "sales-1", "salesperson", "放心，保本保息", 5),
            ("承诺保本", 15000, "sales-1", "salesperson", "放心，保本保息", 30),
        ]
        # Said on the platform's clock; recorded as offsets from the session's start.
        started_ms = to_ms(datetime.fromisoformat(record["summary"]["started_at"]))
        assert [v["time_ms"] for v in qa["violations"]] == [started_ms + 6000, started_ms + 15000]
        assert qa["missing_mandatory"] == ["风险揭示", "犹豫期说明"]
        assert qa["silences"] == [{"start_ms": 6000, "end_ms": 15000}]
        assert set(qa["speech_rate_cpm"]) == {"salesperson", "customer"}
        assert qa["speech_rate_cpm"]["customer"] == round(9 / (2000 / 60_000), 1)
        # The JSON is the SDK's type, field for field.
        assert isinstance(structure(qa, QaReportRecord), QaReportRecord)

        # The list shows the score; sessions without the assistant have none.
        auth = await login(http, base, "oa-A1")
        items = (await (await http.get(f"{base}/api/records", headers=auth)).json())["items"]
        scores = {i["id"]: (i["qa_score"], i["qa_passed"]) for i in items}
        assert scores.pop(sid) == (QA_SCORE, False)
        assert set(scores.values()) == {(None, None)}
        # A record without the assistant has no report.
        plain = await (await http.get(f"{base}/api/records/{rw.id('S1')}", headers=auth)).json()
        assert plain["qa_report"] is None


async def test_others_cannot_read_the_qa_report(server: tuple[str, RecordsWorld, str]) -> None:
    base, _, sid = server
    async with aiohttp.ClientSession() as http:
        # Another organization's admin, a colleague, another company's admin.
        for who in ("oa-A2", "sp2-A1", "ca-B@bank-b", "sp-B1@bank-b"):
            auth = await login(http, base, who)
            answer = await http.get(f"{base}/api/records/{sid}", headers=auth)
            assert answer.status == 404, who
            assert "保本" not in await answer.text()
            listed = await (await http.get(f"{base}/api/records", headers=auth)).json()
            assert sid not in {i["id"] for i in listed["items"]}, who
            # Nor through an export of everything they may see.
            job = await (
                await http.post(f"{base}/api/records/export", json={"format": "csv"}, headers=auth)
            ).json()
            await wait_done(http, base, job["id"], auth)
            data = await (
                await http.get(f"{base}/api/records/export/{job['id']}/file", headers=auth)
            ).read()
            rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
            assert sid not in {r[0] for r in rows[1:]}, who


@pytest.mark.parametrize(
    ("lang", "headers", "verdict"),
    [("zh-CN", ("质检得分", "质检结果"), "不合格"), ("en", ("QA score", "QA result"), "Failed")],
)
async def test_the_export_has_the_qa_score_and_verdict(
    server: tuple[str, RecordsWorld, str], lang: str, headers: tuple[str, str], verdict: str
) -> None:
    base, rw, sid = server
    async with aiohttp.ClientSession() as http:
        auth = await login(http, base, "sp-A1")
        job = await (
            await http.post(
                f"{base}/api/records/export", json={"format": "csv", "lang": lang}, headers=auth
            )
        ).json()
        await wait_done(http, base, job["id"], auth)
        data = await (
            await http.get(f"{base}/api/records/export/{job['id']}/file", headers=auth)
        ).read()
        table = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
        id_column = "会话ID" if lang == "zh-CN" else "Session ID"
        by_id = {row[id_column]: row for row in table}
        score, result = headers
        assert (by_id[sid][score], by_id[sid][result]) == (str(QA_SCORE), verdict)
        assert (by_id[rw.id("S1")][score], by_id[rw.id("S1")][result]) == ("", "")


async def test_reports_written_before_the_migration_get_their_score_column(tmp_path: Any) -> None:
    older = tmp_path / "versions"
    shutil.copytree(MIGRATIONS / "versions", older)
    (older / "0006_sop_assist_inputs.py").unlink()
    url = f"sqlite:///{tmp_path}/old.db"
    db = await open_database(url, older)
    try:
        async with db.connect() as conn:
            await conn.execute(sa.text("PRAGMA foreign_keys=OFF"))
            for session_id, score, passed in (("s1", 45, "false"), ("s2", 100, "true")):
                report = f'{{"score": {score}, "passed": {passed}, "violations": []}}'
                await conn.execute(
                    sa.text(
                        "insert into sop_session_reports (session_id, steps, qa, written_ms) "
                        "values (:s, '[]', :qa, 0)"
                    ),
                    {"s": session_id, "qa": report},
                )
            await conn.commit()
    finally:
        await db.close()
    db = await open_database(url)
    try:
        async with db.connect() as conn:
            t = sop_session_reports
            rows = await conn.execute(
                sa.select(t.c.session_id, t.c.qa_score, t.c.qa_passed).order_by(t.c.session_id)
            )
            assert [tuple(r) for r in rows] == [("s1", 45, False), ("s2", 100, True)]
    finally:
        await db.close()


async def test_the_export_writes_times_in_the_organizations_zone(
    server: tuple[str, RecordsWorld, str],
) -> None:
    base, rw, _ = server
    world = rw.world
    await world.platform.organizations.edit(
        world.p("ca_A"), world.ids["A1"], hours=ServiceHours(timezone="America/New_York")
    )
    started = {"sp-A1": "2026-01-05 04:30:00", "ca-A": "2026-01-05 17:30:00"}
    async with aiohttp.ClientSession() as http:
        for who, expected in started.items():
            auth = await login(http, base, who)
            # The page names no zone: the SDK writes the actor's organization's.
            job = await (
                await http.post(f"{base}/api/records/export", json={"format": "csv"}, headers=auth)
            ).json()
            await wait_done(http, base, job["id"], auth)
            data = await (
                await http.get(f"{base}/api/records/export/{job['id']}/file", headers=auth)
            ).read()
            by_id = {r["会话ID"]: r for r in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))}
            assert by_id[rw.id("S1")]["会话开始时间"] == expected, who


def test_a_report_stored_with_clock_times_reads_as_offsets_from_the_start() -> None:
    started = 1_767_605_400_000
    stored = {
        "score": 65,
        "passed": False,
        "violations": [
            {"rule_name": "冷场", "time_ms": started + 6000, "speaker": "s", "deduction": 5},
            {"rule_name": "风险揭示", "time_ms": 0, "speaker": "", "deduction": 10},
        ],
        "silences": [[started + 6000, started + 15000]],
    }
    qa = qa_report_from_json(stored, started)
    assert [v.offset_ms for v in qa.violations] == [6000, 0]
    assert qa.silences == [SilenceRecord(6000, 15000)]


@given(st.integers(0, 10**13), st.integers(0, 10**13))
def test_offsets_from_the_start_are_never_negative_and_never_move_an_offset(
    time_ms: int, started_ms: int
) -> None:
    offset = offset_from_start(time_ms, started_ms)
    assert offset >= 0
    assert offset == (time_ms - started_ms if time_ms >= started_ms else time_ms)
    # Applying it again (an older report read twice) changes nothing once it is an offset.
    if offset < started_ms:
        assert offset_from_start(offset, started_ms) == offset
