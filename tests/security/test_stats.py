"""Attacks on 监控统计 (``/api/stats``), over real HTTP against the web host.

Covered:
- an org admin asks for another organization of their company (``org=``): refused like
  a missing one (404), on the JSON and the CSV endpoint; without ``org`` they get their
  own organization's figures only;
- an org admin asks for an organization of another company: 404;
- a company admin asks for an organization of another company: 404; their company's
  figures hold nothing of the other company;
- a salesperson asks for the statistics (their own org, another org): 403;
- no login / a forged token: 401;
- a salesperson's name written as a spreadsheet formula (``=HYPERLINK(…)``) comes out of
  the CSV export as inert text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.store.schema import sessions

from ..platform_world import PASSWORD, World, build_world
from ..stats_world import Planned, in_period, plan, store
from ..webhost import serving

pytestmark = pytest.mark.anyio

PERIOD = {"from": "2026-03-01", "to": "2026-03-04", "timezone": "Asia/Shanghai"}
FORMULA = '=HYPERLINK("http://evil.example/","点我")'


@pytest.fixture
async def server(
    tmp_path: Any, fast_config: PlatformConfig
) -> AsyncIterator[tuple[str, World, list[Planned]]]:
    world = await build_world(f"sqlite:///{tmp_path}/stats.db", fast_config)
    planned = plan(count=80)
    await store(world, planned)
    async with world.platform.database.begin() as conn:
        await conn.execute(
            sa.update(sessions)
            .where(sessions.c.host_account_id == world.p("sp2_A1").account_id)
            .values(host_name=FORMULA)
        )
    async with serving(world.platform) as url:
        yield url, world, planned


async def login(http: aiohttp.ClientSession, base: str, who: str) -> dict[str, str]:
    response = await http.post(f"{base}/api/login", json={"login": who, "password": PASSWORD})
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def ask(
    http: aiohttp.ClientSession, base: str, auth: dict[str, str], path: str = "/api/stats", **q: str
) -> tuple[int, Any]:
    response = await http.get(f"{base}{path}", params={**PERIOD, **q}, headers=auth)
    if response.content_type == "application/json":
        return response.status, await response.json()
    return response.status, await response.text(encoding="utf-8-sig")


async def test_an_org_admin_cannot_see_another_organization(
    server: tuple[str, World, list[Planned]],
) -> None:
    base, world, planned = server
    async with aiohttp.ClientSession() as http:
        auth = await login(http, base, "oa-A1")
        for org in ("A2", "B1"):
            for path in ("/api/stats", "/api/stats/csv"):
                status, body = await ask(http, base, auth, path, org=world.ids[org])
                assert status == 404, (org, path, body)
                assert body["error"]["code"] == "not_found"
                assert "message_zh" in body["error"]
        status, body = await ask(http, base, auth)
        assert status == 200
        assert body["org_id"] == world.ids["A1"]
        assert body["total"]["sessions"] == len(
            [s for s in planned if s.org == "A1" and in_period(s)]
        )
        assert {g["id"] for g in body["groups"]} <= {
            world.p(h).account_id for h in ("sp_A1", "sp2_A1", "oa_A1")
        }


async def test_a_company_admin_cannot_see_another_company(
    server: tuple[str, World, list[Planned]],
) -> None:
    base, world, planned = server
    async with aiohttp.ClientSession() as http:
        auth = await login(http, base, "ca-B@bank-b")
        status, body = await ask(http, base, auth, org=world.ids["A1"])
        assert status == 404
        status, body = await ask(http, base, auth)
        assert status == 200
        assert [g["name"] for g in body["groups"]] == ["机构B1"]
        assert body["total"]["sessions"] == len(
            [s for s in planned if s.company == "B" and in_period(s)]
        )


async def test_a_salesperson_and_strangers_are_refused(
    server: tuple[str, World, list[Planned]],
) -> None:
    base, world, _ = server
    async with aiohttp.ClientSession() as http:
        auth = await login(http, base, "sp-A1")
        for q in ({}, {"org": world.ids["A1"]}, {"org": world.ids["A2"]}):
            for path in ("/api/stats", "/api/stats/csv"):
                status, body = await ask(http, base, auth, path, **q)
                assert status == 403, (q, path)
                assert body["error"]["code"] == "permission_denied"
        for headers in ({}, {"Authorization": "Bearer forged-token"}):
            status, _ = await ask(http, base, headers)
            assert status == 401


async def test_a_formula_as_a_name_stays_text_in_the_csv(
    server: tuple[str, World, list[Planned]],
) -> None:
    base, world, _ = server
    async with aiohttp.ClientSession() as http:
        auth = await login(http, base, "oa-A1")
        status, text = await ask(http, base, auth, "/api/stats/csv", table="groups")
        assert status == 200
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0][0] == "销售人员"
        names = [r[0] for r in rows[1:]]
        assert "'" + FORMULA in names
        assert not any(n.startswith("=") for n in names)
