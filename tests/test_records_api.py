"""The records API over real HTTP: the list's query filters, details, export jobs."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import aiohttp
import anyio
import openpyxl
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from zhanye_sdk.api.records import FILTER_NAMES, filters_from_params
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.platform import PlatformConfig

from .platform_world import PASSWORD, build_world
from .records_world import RecordsWorld, build_records
from .webhost import DEPLOYMENT, build_app, free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
async def server(
    tmp_path: Any, fast_config: PlatformConfig
) -> AsyncIterator[tuple[str, RecordsWorld]]:
    world = await build_world(f"sqlite:///{tmp_path}/records.db", fast_config)
    app = build_app(world.platform)
    rw = await build_records(world, app[DEPLOYMENT].rooms)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", rw
    finally:
        await runner.cleanup()
        await world.platform.close()


async def login(http: aiohttp.ClientSession, base: str, who: str) -> dict[str, str]:
    response = await http.post(f"{base}/api/login", json={"login": who, "password": PASSWORD})
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def test_list_and_details_answer_within_the_callers_scope(
    server: tuple[str, RecordsWorld],
) -> None:
    base, rw = server
    async with aiohttp.ClientSession() as http:
        assert (await http.get(f"{base}/api/records")).status == 401
        auth = await login(http, base, "oa-A1")
        page = await (await http.get(f"{base}/api/records?state=ended", headers=auth)).json()
        assert page["total"] == 4
        numbers = [item["meeting_number"] for item in page["items"]]
        assert numbers == [rw.number(n) for n in ("S6", "S3", "S2", "S1")]
        rated5 = await (await http.get(f"{base}/api/records?evaluation=5", headers=auth)).json()
        assert [i["meeting_number"] for i in rated5["items"]] == [rw.number("S1")]
        day = rw.sessions["S2"].created_at.isoformat()
        window = await http.get(
            f"{base}/api/records", params={"created_from": day, "limit": "1"}, headers=auth
        )
        body = await window.json()
        assert body["total"] == 3 and len(body["items"]) == 1

        details = await (await http.get(f"{base}/api/records/{rw.id('S1')}", headers=auth)).json()
        assert details["summary"]["host_login"] == "sp-A1"
        assert details["evaluations"] == [
            {
                "participant_id": rw.customers["张三"],
                "name": "张三",
                "score": 5,
                "comment": "讲解清楚",
            }
        ]
        # Another organization's record is "not found", like a missing one.
        other = await http.get(f"{base}/api/records/{rw.id('S4')}", headers=auth)
        assert other.status == 404
        assert (await other.json())["error"]["code"] == "not_found"

        bad = await http.get(
            f"{base}/api/records?participants_min=abc&evaluation=7&colour=red", headers=auth
        )
        assert bad.status == 400
        message = (await bad.json())["error"]["message"]
        for part in ("participants_min", "evaluation", "unknown filters colour"):
            assert part in message
        naive = await http.get(f"{base}/api/records?created_from=2026-01-01T00:00", headers=auth)
        assert "offset" in (await naive.json())["error"]["message"]


async def wait_done(http: aiohttp.ClientSession, base: str, job: str, auth: Any) -> Any:
    for _ in range(200):
        status = await (await http.get(f"{base}/api/records/export/{job}", headers=auth)).json()
        if status["state"] in ("done", "failed"):
            return status
        await anyio.sleep(0.02)
    raise AssertionError(f"export {job} did not finish: {status}")


async def test_export_job_lifecycle_and_ownership(server: tuple[str, RecordsWorld]) -> None:
    base, rw = server
    async with aiohttp.ClientSession() as http:
        auth = await login(http, base, "ca-A")
        started = await http.post(
            f"{base}/api/records/export",
            json={"format": "xlsx", "filters": {"evaluation": "rated"}},
            headers=auth,
        )
        assert started.status == 202
        job = await started.json()
        assert job["state"] in ("queued", "running", "done") and job["total"] == 2
        status = await wait_done(http, base, job["id"], auth)
        assert (status["state"], status["done"], status["total"]) == ("done", 2, 2)

        download = await http.get(f"{base}/api/records/export/{job['id']}/file", headers=auth)
        assert download.status == 200
        assert download.headers["Content-Type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        disposition = download.headers["Content-Disposition"]
        assert disposition.startswith('attachment; filename="records-')
        encoded = disposition.split("filename*=UTF-8''", 1)[1]
        assert unquote(encoded).startswith("会话记录-") and encoded.endswith(".xlsx")
        sheet = openpyxl.load_workbook(io.BytesIO(await download.read()))["会话记录"]
        assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
            rw.number("S2"),
            rw.number("S1"),
        ]

        # Nobody else may see or fetch the job: not a colleague, not another company.
        for who in ("sp-A1", "ca-B@bank-b"):
            other = await login(http, base, who)
            for suffix in ("", "/file"):
                answer = await http.get(
                    f"{base}/api/records/export/{job['id']}{suffix}", headers=other
                )
                assert answer.status == 404, (who, suffix)

        # A salesperson's export holds their records only, as CSV with a BOM.
        sales = await login(http, base, "sp-A1")
        mine = await (
            await http.post(f"{base}/api/records/export", json={"format": "csv"}, headers=sales)
        ).json()
        assert (await wait_done(http, base, mine["id"], sales))["done"] == 2
        data = await (
            await http.get(f"{base}/api/records/export/{mine['id']}/file", headers=sales)
        ).read()
        assert data.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert rows[0][:2] == ["会话ID", "会话编号"] and len(rows) == 3

        refused = await http.post(
            f"{base}/api/records/export",
            json={"format": "pdf", "filters": {"state": "over"}},
            headers=auth,
        )
        assert refused.status == 400
        assert "state must be waiting, live or ended" in (await refused.json())["error"]["message"]
        wrong_format = await http.post(
            f"{base}/api/records/export", json={"format": "pdf"}, headers=auth
        )
        assert "csv or xlsx" in (await wrong_format.json())["error"]["message"]
        missing = await http.get(f"{base}/api/records/export/{'0' * 32}", headers=auth)
        assert missing.status == 404

        # Finished files are kept for an hour, then gone.
        rw.world.clock.advance(3601)
        gone = await http.get(f"{base}/api/records/export/{job['id']}", headers=auth)
        assert gone.status == 404


@settings(max_examples=300)
@given(
    st.dictionaries(
        st.sampled_from(sorted(FILTER_NAMES | {"colour"})),
        st.one_of(st.text(max_size=40), st.integers(), st.none(), st.booleans()),
    )
)
def test_any_query_gives_a_filter_or_a_clear_refusal(params: dict[str, Any]) -> None:
    try:
        filters = filters_from_params(params)
    except InvalidInput as exc:
        assert str(exc).startswith("invalid record filter: ")
    else:
        assert filters == filters.checked()
