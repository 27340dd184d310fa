"""Attacks on the manual's remaining screens, over real HTTP against the web host.

Covered:
1. A salesperson marks a colleague's session 已投保 (``PUT /api/records/{id}/insured``):
   404 like a missing session, and nothing changes; so for a salesperson of another
   company, an org admin of another organization and a company admin of another company.
2. No login / a forged token marks an outcome: 401.
3. An outcome that is not true, false or null (``"yes"``, ``1``) is refused (400).
4. An org admin filters another organization's records — by ``org_id``, by its
   salesperson, by a link shared only there, by its customer's name, by outcome — and
   gets none of them; the search panel's facets offer none of its links.
5. The workbench's meeting list (``/api/workbench/meetings``) holds only the caller's own
   sessions, even for a company admin.
6. Material edit (``PATCH /api/materials/{id}``): a salesperson renames an admin's
   material (403), anyone renames another company's (404 like a missing one), and a
   file is given a URL (400); nothing changes.
7. A customer's assessment submission that names a masked field, or sends a masked
   value, keeps no trace of it; an oversized submission (too many answers, an answer
   too long) is refused whole; the salesperson cannot submit on the customer's behalf.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from zhanye_sdk.cobrowse.service import CobrowseService
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.records.service import RecordService
from zhanye_sdk.signaling.bus import LocalBus
from zhanye_sdk.signaling.envelope import ClientMessage
from zhanye_sdk.store.schema import cobrowse_shares

from .. import material_files
from ..platform_world import PASSWORD, build_world, sign_in
from ..records_world import RecordsWorld, build_records
from ..webhost import serving

pytestmark = pytest.mark.anyio


@pytest.fixture
async def server(
    tmp_path: Any, fast_config: PlatformConfig, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[str, RecordsWorld]]:
    monkeypatch.chdir(tmp_path)
    world = await build_world(f"sqlite:///{tmp_path}/screens.db", fast_config)
    rw = await build_records(world)
    link = await world.platform.materials.add_link(world.p("oa_A2"), "A2产品", "https://x.cn/a2")
    async with world.platform.database.begin() as conn:
        await conn.execute(
            cobrowse_shares.insert().values(
                id="share-s4",
                session_id=rw.id("S4"),
                material_id=link.id,
                name=link.name,
                url=link.url,
                sharer_id="c",
                started_ms=0,
            )
        )
    async with serving(world.platform) as url:
        yield url, rw


async def login(http: aiohttp.ClientSession, base: str, who: str) -> dict[str, str]:
    response = await http.post(
        f"{base}/api/login", json={"login": sign_in(who), "password": PASSWORD}
    )
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def insured_of(rw: RecordsWorld, name: str) -> bool | None:
    service = RecordService(rw.world.platform, rw.rooms)
    return (await service.get(rw.world.super_admin, rw.id(name))).summary.insured


async def test_only_the_host_or_an_admin_over_it_marks_a_session_insured(
    server: tuple[str, RecordsWorld],
) -> None:
    base, rw = server
    s1 = rw.id("S1")  # sp-A1's, in organization A1 of company A
    async with aiohttp.ClientSession() as http:
        for attacker in ("sp2-A1", "sp-A2", "sp-B1", "oa-A2", "ca-B"):
            auth = await login(http, base, attacker)
            response = await http.put(
                f"{base}/api/records/{s1}/insured", json={"insured": True}, headers=auth
            )
            assert response.status == 404, attacker
            body = await response.json()
            assert body["error"]["code"] == "not_found"
        assert await insured_of(rw, "S1") is None

        for auth in ({}, {"Authorization": "Bearer forged-token"}):
            response = await http.put(
                f"{base}/api/records/{s1}/insured", json={"insured": True}, headers=auth
            )
            assert response.status == 401
        owner = await login(http, base, "sp-A1")
        for bad in ("yes", 1, [True]):
            response = await http.put(
                f"{base}/api/records/{s1}/insured", json={"insured": bad}, headers=owner
            )
            assert response.status == 400, bad
        assert await insured_of(rw, "S1") is None

        response = await http.put(
            f"{base}/api/records/{s1}/insured", json={"insured": True}, headers=owner
        )
        assert response.status == 200 and (await response.json())["insured"] is True
        admin = await login(http, base, "oa-A1")
        response = await http.put(
            f"{base}/api/records/{s1}/insured", json={"insured": False}, headers=admin
        )
        assert response.status == 200
    assert await insured_of(rw, "S1") is False


async def test_an_org_admin_cannot_filter_into_another_organization(
    server: tuple[str, RecordsWorld],
) -> None:
    base, rw = server
    world = rw.world
    async with aiohttp.ClientSession() as http:
        auth = await login(http, base, "oa-A1")
        facets = await (await http.get(f"{base}/api/records/facets", headers=auth)).json()
        assert facets["links"] == []
        link_id = (await world.platform.materials.list(world.p("oa_A2"))).items[0].id
        for params in (
            {"org_id": world.ids["A2"]},
            {"host_account_id": world.p("sp_A2").account_id},
            {"link_id": link_id},
            {"customer_name": "赵六"},
            {"org_id": world.ids["B1"]},
            {"insured": "unmarked", "org_id": world.ids["A2"]},
        ):
            response = await http.get(f"{base}/api/records", params=params, headers=auth)
            assert response.status == 200, params
            page = await response.json()
            assert page["total"] == 0 and page["items"] == [], params
        # The org admin of A2 does find them: the filters work, the scope holds.
        other = await login(http, base, "oa-A2")
        response = await http.get(f"{base}/api/records", params={"link_id": link_id}, headers=other)
        assert [r["id"] for r in (await response.json())["items"]] == [rw.id("S4")]


async def test_the_workbench_lists_only_the_callers_own_sessions(
    server: tuple[str, RecordsWorld],
) -> None:
    base, rw = server
    async with aiohttp.ClientSession() as http:
        for who, own in (("ca-A", set()), ("oa-A1", {"S6"}), ("sp-A2", {"S4"})):
            auth = await login(http, base, who)
            response = await http.get(f"{base}/api/workbench/meetings", headers=auth)
            ids = {m["id"] for m in (await response.json())["items"]}
            assert ids == {rw.id(name) for name in own}, who


async def test_materials_are_edited_only_by_who_may_delete_them(
    server: tuple[str, RecordsWorld],
) -> None:
    base, rw = server
    platform = rw.world.platform
    brochure = await platform.materials.upload_file(
        rw.world.p("ca_A"), "产品手册", material_files.pdf(pages=1)
    )
    async with aiohttp.ClientSession() as http:
        seller = await login(http, base, "sp-A1")
        url = f"{base}/api/materials/{brochure.id}"
        response = await http.patch(url, json={"name": "改名"}, headers=seller)
        assert response.status == 403
        stranger = await login(http, base, "ca-B")
        response = await http.patch(url, json={"name": "改名"}, headers=stranger)
        assert response.status == 404
        owner = await login(http, base, "ca-A")
        response = await http.patch(url, json={"url": "https://evil.example/"}, headers=owner)
        assert response.status == 400
    material = await platform.materials.get(rw.world.p("ca_A"), brochure.id)
    assert material.name == "产品手册" and material.url is None


async def test_assessment_submissions_keep_no_masked_answer_and_no_oversized_one(
    server: tuple[str, RecordsWorld],
) -> None:
    _, rw = server
    platform = rw.world.platform
    cobrowse = CobrowseService(platform, rw.rooms, LocalBus())
    host = rw.world.p("sp_A2")
    sid = rw.id("S4")
    risk = await platform.materials.add_link(
        host, "测评", "https://x.cn/risk.html", assessment=True
    )
    host_seat = await rw.rooms.seat_for_staff(host, sid)
    customer = await rw.rooms.seat_for_customer(sid, rw.seats["赵六"])

    async def send(seat: Any, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        answer = await cobrowse.handle(seat, ClientMessage(kind, data, "m"))
        return {"type": answer[0].type, **answer[0].data}

    share = (await send(host_seat, "cobrowse.share", {"material_id": risk.id}))["share"]
    snapshot = {"root": {"id": 1, "tag": "html", "children": []}, "masked": [5]}
    await send(customer, "cobrowse.snapshot", {"share": share, "snapshot": snapshot})
    secret = "6222021234567890123"
    forged = [
        {"name": "card", "label": "银行卡号", "value": secret, "node": 5},
        {"name": "card2", "label": "银行卡号", "value": secret, "masked": True},
        {"name": "pin", "label": "密码", "value": "••••"},
    ]
    ok = await send(customer, "cobrowse.submit", {"share": share, "answers": forged})
    assert ok["type"] == "ack" and ok["answers"] == 0
    for bad in (
        [{"name": "q", "label": "q", "value": "a"}] * 201,
        [{"name": "q", "label": "q", "value": "a" * 1001}],
    ):
        refused = await send(customer, "cobrowse.submit", {"share": share, "answers": bad})
        assert refused["type"] == "error" and refused["code"] == "bad_event"
    for malformed in ([{"name": "q", "label": "q", "value": 5}], "not a list", [[]]):
        with pytest.raises(InvalidInput):  # the area's reader: invalid_input, as everywhere
            await send(customer, "cobrowse.submit", {"share": share, "answers": malformed})
    wrong = await send(
        host_seat,
        "cobrowse.submit",
        {"share": share, "answers": [{"name": "q", "label": "q", "value": "host"}]},
    )
    assert wrong["code"] == "not_sharer"
    record = await RecordService(platform, rw.rooms).get(rw.world.p("oa_A2"), sid)
    assert [a.answers for a in record.assessments] == [[]]
    assert secret not in repr(record)
