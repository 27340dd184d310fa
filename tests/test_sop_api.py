"""``/api/sop/*``: the script library, flows, templates and QA rules over the API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from zhanye_sdk.api.http import ApiRequest
from zhanye_sdk.api.sop import SopApi
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.platform.config import MaterialSettings

from .platform_world import PASSWORD, World, build_world

pytestmark = pytest.mark.anyio


@pytest.fixture
async def world(fast_config: PlatformConfig, tmp_path: Path) -> AsyncIterator[World]:
    config = attrs.evolve(fast_config, materials=MaterialSettings(storage_root=tmp_path / "m"))
    w = await build_world(f"sqlite:///{tmp_path}/api.db", config)
    try:
        yield w
    finally:
        await w.platform.close()


async def call(
    api: SopApi, world: World, login: str, method: str, path: str, body: Any = None, **query: str
) -> tuple[int, Any]:
    token = (await world.platform.auth.login(login, PASSWORD)).token
    request = ApiRequest(
        method=method,
        path=path,
        query=query,
        headers={"Authorization": f"Bearer {token}"},
        body=json.dumps(body).encode() if body is not None else b"",
    )
    answer = await api.handle(request)
    assert answer is not None
    return answer.status, answer.json()


async def test_company_admin_builds_a_library_and_a_salesperson_reads_it(world: World) -> None:
    api = SopApi(world.platform)
    assert await api.handle(ApiRequest(method="GET", path="/api/materials")) is None
    status, category = await call(
        api, world, "ca-A", "POST", "/api/sop/categories", {"name": "产品介绍"}
    )
    assert status == 201
    status, script = await call(
        api,
        world,
        "ca-A",
        "POST",
        "/api/sop/scripts",
        {
            "category_id": category["id"],
            "name": "资产配置介绍",
            "keywords": "宏观市场,量化策略",
            "content": "宏观市场介绍",
        },
    )
    assert status == 201 and script["keywords"] == ["宏观市场", "量化策略"]
    nodes = [{"title": "资产配置介绍", "key_phrases": ["宏观市场"], "script_ids": [script["id"]]}]
    status, flow = await call(
        api, world, "ca-A", "POST", "/api/sop/flows", {"name": "资产配置", "nodes": nodes}
    )
    assert status == 201 and flow["nodes"][0]["script_ids"] == [script["id"]]
    status, copy = await call(api, world, "ca-A", "POST", f"/api/sop/flows/{flow['id']}/copy", {})
    assert status == 201 and copy["name"] == "资产配置-副本"
    status, _ = await call(
        api,
        world,
        "ca-A",
        "POST",
        "/api/sop/templates",
        {"name": "财富", "flow_ids": [flow["id"]], "org_ids": [world.ids["A1"]]},
    )
    assert status == 201
    status, rule = await call(
        api,
        world,
        "ca-A",
        "POST",
        "/api/sop/rules",
        {
            "name": "承诺保本",
            "kind": "forbidden",
            "expression": "保本 and 保息",
            "severity": "critical",
            "deduction": 20,
        },
    )
    assert status == 201 and rule["enabled"] is True
    status, listed = await call(api, world, "sp-A1", "GET", "/api/sop/flows")
    assert [f["name"] for f in listed["items"]] == ["资产配置"]
    status, listed = await call(api, world, "sp-A2", "GET", "/api/sop/flows")
    assert listed["items"] == []
    status, found = await call(api, world, "sp-A1", "GET", "/api/sop/scripts", keyword="量化")
    assert [s["name"] for s in found["items"]] == ["资产配置介绍"]
    # A salesperson reads but does not manage; bad input says what is wrong.
    status, error = await call(api, world, "sp-A1", "POST", "/api/sop/categories", {"name": "x"})
    assert status == 403
    status, error = await call(
        api,
        world,
        "ca-A",
        "POST",
        "/api/sop/rules",
        {"name": "坏", "kind": "forbidden", "expression": "a and"},
    )
    assert status == 400 and "expression" in json.dumps(error, ensure_ascii=False)
    status, _ = await call(api, world, "ca-B@bank-b", "GET", f"/api/sop/flows/{flow['id']}")
    assert status == 404


async def test_a_flow_edited_through_its_outline_keeps_page_ranges_and_script_links(
    world: World,
) -> None:
    api = SopApi(world.platform)
    _, category = await call(api, world, "ca-A", "POST", "/api/sop/categories", {"name": "介绍"})
    _, script = await call(
        api,
        world,
        "ca-A",
        "POST",
        "/api/sop/scripts",
        {"category_id": category["id"], "name": "宏观", "keywords": "宏观", "content": "宏观"},
    )
    nodes = [
        {
            "title": "资产配置介绍",
            "key_phrases": ["资产配置"],
            "required": True,
            "pages": "1-3",
            "children": [{"title": "宏观市场", "pages": "2", "script_ids": [script["id"]]}],
        }
    ]
    _, flow = await call(
        api, world, "ca-A", "POST", "/api/sop/flows", {"name": "资产配置", "nodes": nodes}
    )
    assert flow["outline"] == (
        f"[n1] 资产配置介绍 | 资产配置 | 必选 | 1-3\n  [n2] 宏观市场 |  |  | 2 | {script['id']}"
    )
    status, renamed = await call(
        api,
        world,
        "ca-A",
        "PUT",
        f"/api/sop/flows/{flow['id']}",
        {"name": "产品推荐", "outline": flow["outline"].replace("资产配置介绍", "配置介绍")},
    )
    assert status == 200
    _, stored = await call(api, world, "ca-A", "GET", f"/api/sop/flows/{flow['id']}")
    assert stored["name"] == "产品推荐" and stored["nodes"][0]["title"] == "配置介绍"
    assert stored["nodes"][0]["pages"] == [[1, 3]]
    assert stored["nodes"][0]["children"][0]["pages"] == [[2, 2]]
    assert stored["nodes"][0]["children"][0]["script_ids"] == [script["id"]]
    status, error = await call(
        api,
        world,
        "ca-A",
        "PUT",
        f"/api/sop/flows/{flow['id']}",
        {"outline": "资产配置介绍\n  宏观市场 | | 也许"},
    )
    assert status == 400 and "第 2 行" in json.dumps(error, ensure_ascii=False)
