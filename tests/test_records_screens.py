"""The manual's remaining screens in the SDK: the records panel's filters (会话链接,
是否投保, 客户姓名, 视频使用), the insurance outcome and who may mark it, the workbench's
meeting list, assessments (测评) kept with the record and its export, and who created
accounts and organizations (创建人)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from zhanye_sdk.cobrowse.service import CobrowseService
from zhanye_sdk.errors import ConflictError, PermissionDenied
from zhanye_sdk.platform import PasswordHashing, PlatformConfig, Role
from zhanye_sdk.platform.permissions import NotAccessible
from zhanye_sdk.records.models import InsuredFilter, RecordFilter, VideoFilter
from zhanye_sdk.records.service import RecordService
from zhanye_sdk.rooms.core import RoomState
from zhanye_sdk.signaling.bus import LocalBus
from zhanye_sdk.signaling.envelope import ClientMessage
from zhanye_sdk.store.schema import cobrowse_shares, session_media

from .platform_world import build_world
from .records_world import RecordsWorld, build_records

pytestmark = pytest.mark.anyio


@pytest.fixture
async def rw(database_url: str) -> AsyncIterator[RecordsWorld]:
    config = PlatformConfig(
        passwords=PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1)
    )
    world = await build_world(database_url, config)
    try:
        yield await build_records(world)
    finally:
        await world.platform.close()


def records(rw: RecordsWorld) -> RecordService:
    return RecordService(rw.world.platform, rw.rooms)


async def names(rw: RecordsWorld, who: str, filters: RecordFilter) -> list[str]:
    page = await records(rw).list(rw.world.p(who), filters, limit=100)
    by_id = {s.id: name for name, s in rw.sessions.items()}
    return sorted(by_id[item.id] for item in page.items)


async def test_filters_by_link_insured_customer_and_video(rw: RecordsWorld) -> None:
    platform = rw.world.platform
    link = await platform.materials.add_link(rw.world.p("ca_A"), "百万安心疗", "https://x.cn/p")
    async with platform.database.begin() as conn:
        await conn.execute(
            cobrowse_shares.insert().values(
                id="share1",
                session_id=rw.id("S2"),
                material_id=link.id,
                name=link.name,
                url=link.url,
                sharer_id="c",
                started_ms=0,
            )
        )
        await conn.execute(
            session_media.insert().values(session_id=rw.id("S1"), recording_status="ready")
        )
        await conn.execute(
            session_media.insert().values(session_id=rw.id("S3"), recording_status="failed")
        )
    service = records(rw)
    await service.mark_insured(rw.world.p("sp_A1"), rw.id("S1"), True)
    await service.mark_insured(rw.world.p("sp_A1"), rw.id("S2"), False)

    assert await names(rw, "ca_A", RecordFilter(link_id=link.id)) == ["S2"]
    assert await names(rw, "ca_A", RecordFilter(insured=InsuredFilter.YES)) == ["S1"]
    assert await names(rw, "ca_A", RecordFilter(insured=InsuredFilter.NO)) == ["S2"]
    assert await names(rw, "oa_A1", RecordFilter(insured=InsuredFilter.UNMARKED)) == ["S3", "S6"]
    # 客户姓名: any customer who joined (孙七 opened the invite but never came in).
    assert await names(rw, "ca_A", RecordFilter(customer_name="李")) == ["S2"]
    assert await names(rw, "ca_A", RecordFilter(customer_name="孙七")) == []
    assert await names(rw, "ca_A", RecordFilter(customer_name="%")) == []
    assert await names(rw, "ca_A", RecordFilter(video=VideoFilter.USED)) == ["S1"]
    assert "S1" not in await names(rw, "ca_A", RecordFilter(video=VideoFilter.UNUSED))
    assert "S3" in await names(rw, "ca_A", RecordFilter(video=VideoFilter.UNUSED))

    page = await service.list(rw.world.p("ca_A"), RecordFilter(insured=InsuredFilter.YES))
    assert page.items[0].insured is True and page.items[0].video_used is True
    facets = await service.facets(rw.world.p("oa_A1"))
    assert facets.links == [(link.id, "百万安心疗")]
    # Another organization's admin is offered no link shared only in A1.
    assert (await service.facets(rw.world.p("oa_A2"))).links == []
    record = await service.get(rw.world.p("oa_A1"), rw.id("S1"))
    assert record.insured_by == "sp-A1" and record.insured_at is not None


async def test_only_the_host_or_an_admin_over_the_session_marks_its_outcome(
    rw: RecordsWorld,
) -> None:
    service = records(rw)
    s1 = rw.id("S1")
    for outsider in ("sp2_A1", "sp_A2", "oa_A2", "ca_B", "sp_B1"):
        with pytest.raises(NotAccessible):
            await service.mark_insured(rw.world.p(outsider), s1, True)
    assert (await service.get(rw.world.p("ca_A"), s1)).summary.insured is None
    marked = await service.mark_insured(rw.world.p("oa_A1"), s1, False)
    assert marked.insured is False
    cleared = await service.mark_insured(rw.world.p("ca_A"), s1, None)
    assert cleared.insured is None
    assert (await service.get(rw.world.p("ca_A"), s1)).insured_by is None
    with pytest.raises(Exception, match="insured must be"):
        await service.mark_insured(rw.world.p("sp_A1"), s1, "yes")  # type: ignore[arg-type]


async def test_the_workbench_lists_unfinished_and_todays_own_sessions(rw: RecordsWorld) -> None:
    service = records(rw)
    now = rw.world.clock.now()
    # Everything in the world happened within the last six hours.
    today = await service.meetings(rw.world.p("sp_A1"), now - timedelta(hours=12))
    assert [r.id for r in today] == [rw.id("S2"), rw.id("S1")]
    assert today[0].customer_count == 2 and today[0].duration_ms == 180_000
    # A later "day": the ended sessions drop out; an unfinished one stays, whenever made.
    assert await service.meetings(rw.world.p("sp_A1"), now) == []
    live = await service.meetings(rw.world.p("sp_A2"), now)
    assert [(r.id, r.state) for r in live] == [(rw.id("S4"), RoomState.LIVE)]
    # Only one's own: the org admin's list holds S6, none of their salespeople's.
    mine = await service.meetings(rw.world.p("oa_A1"), now - timedelta(hours=12))
    assert [r.id for r in mine] == [rw.id("S6")]


async def test_a_session_keeps_its_title(rw: RecordsWorld) -> None:
    summary = await rw.rooms.start(rw.world.p("sp2_A1"), project="养老险", title=" 张先生复访 ")
    assert summary.title == "张先生复访"
    record = await records(rw).get(rw.world.p("oa_A1"), summary.id)
    assert record.summary.title == "张先生复访"
    found = await records(rw).list(rw.world.p("oa_A1"), RecordFilter(keyword="复访"))
    assert [r.id for r in found.items] == [summary.id]


async def test_submitted_assessment_answers_are_kept_without_masked_fields(
    rw: RecordsWorld,
) -> None:
    platform = rw.world.platform
    cobrowse = CobrowseService(platform, rw.rooms, LocalBus())
    host = rw.world.p("sp_A2")
    sid = rw.id("S4")
    assessment = await platform.materials.add_link(
        host, "风险承受能力测评", "https://x.cn/risk.html", assessment=True
    )
    product = await platform.materials.add_link(host, "百万安心疗", "https://x.cn/p.html")
    host_seat = await rw.rooms.seat_for_staff(host, sid)
    customer = await rw.rooms.seat_for_customer(sid, rw.seats["赵六"])

    async def send(seat: object, kind: str, data: dict[str, object]) -> dict[str, object]:
        answer = await cobrowse.handle(seat, ClientMessage(kind, data, "m"))  # type: ignore[arg-type]
        return {"type": answer[0].type, **answer[0].data}

    # A product page is not an assessment: its "answers" are refused and not kept.
    shared = await send(host_seat, "cobrowse.share", {"material_id": product.id})
    refused = await send(customer, "cobrowse.submit", {"share": shared["share"], "answers": []})
    assert refused["code"] == "not_assessment"

    shared = await send(host_seat, "cobrowse.share", {"material_id": assessment.id})
    snapshot = {"root": {"id": 1, "tag": "html", "children": []}, "masked": [7]}
    await send(customer, "cobrowse.snapshot", {"share": shared["share"], "snapshot": snapshot})
    answers = [
        {"name": "age", "label": "1. 您的年龄", "value": "30–45 岁", "node": 3},
        {"name": "id_number", "label": "身份证号", "value": "110101199001011234", "node": 7},
        {"name": "phone", "label": "手机号", "value": "•••••", "node": 9},
        {"name": "goal", "label": "5. 您的投资目标", "value": "稳定收益、资产增值"},
    ]
    # The host cannot submit on the customer's behalf.
    wrong = await send(host_seat, "cobrowse.submit", {"share": shared["share"], "answers": answers})
    assert wrong["code"] == "not_sharer"
    ok = await send(customer, "cobrowse.submit", {"share": shared["share"], "answers": answers})
    assert ok["type"] == "ack" and ok["answers"] == 2

    record = await records(rw).get(rw.world.p("oa_A2"), sid)
    (kept,) = record.assessments
    assert kept.name == "风险承受能力测评" and kept.participant_name == "赵六"
    assert [(a.label, a.value) for a in kept.answers] == [
        ("1. 您的年龄", "30–45 岁"),
        ("5. 您的投资目标", "稳定收益、资产增值"),
    ]
    kinds = {m.name: m.kind for m in record.shared_materials}
    assert kinds == {"百万安心疗": "link", "风险承受能力测评": "assessment"}

    # Submitting again replaces the answers of that share.
    again = [{"name": "age", "label": "1. 您的年龄", "value": "46–60 岁", "node": 3}]
    await send(customer, "cobrowse.submit", {"share": shared["share"], "answers": again})
    record = await records(rw).get(rw.world.p("oa_A2"), sid)
    assert [a.value for a in record.assessments[0].answers] == ["46–60 岁"]

    out = io.BytesIO()
    await records(rw).export(rw.world.p("oa_A2"), None, out, "csv")
    rows = list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    (row,) = [r for r in rows if r["会话编号"] == rw.number("S4")]
    assert row["测评结果"] == "风险承受能力测评（赵六）：1. 您的年龄=46–60 岁"
    assert "110101199001011234" not in out.getvalue().decode("utf-8-sig")


async def test_creators_of_accounts_and_organizations_are_kept(rw: RecordsWorld) -> None:
    platform = rw.world.platform
    admin = rw.world.p("ca_A")
    org = await platform.organizations.create(admin, "招商展业测试机构")
    listed = {o.name: o for o in await platform.organizations.list(admin)}
    assert listed["招商展业测试机构"].created_by == "ca-A"
    assert listed["招商展业测试机构"].company_name == "公司A"
    assert listed["机构A1"].created_by == "root"
    account = await platform.accounts.create(
        rw.world.p("oa_A1"),
        login="szk150274",
        name="杨伟",
        password="Kv8-secret-pass",
        role=Role.SALESPERSON,
        org_id=rw.world.ids["A1"],
    )
    assert account.created_by == "oa-A1"
    page = await platform.accounts.list(admin)
    by_login = {a.login: a for a in page.items}
    assert by_login["szk150274"].created_by == "oa-A1"
    assert org.id


async def test_duplicate_script_category_names_are_refused(rw: RecordsWorld) -> None:
    sop = rw.world.platform.sop
    admin = rw.world.p("ca_A")
    top = await sop.create_category(admin, "财富管理行业话术")
    with pytest.raises(ConflictError) as refused:
        await sop.create_category(admin, " 财富管理行业话术 ")
    assert refused.value.zh == "已有名为“财富管理行业话术”的话术分类，请换一个名称"
    await sop.create_category(admin, "产品介绍", top.id)
    with pytest.raises(ConflictError):
        await sop.create_category(admin, "产品介绍", top.id)
    # The same name under another parent, or in another company, is another category.
    other = await sop.create_category(admin, "保险")
    await sop.create_category(admin, "产品介绍", other.id)
    await sop.create_category(rw.world.p("ca_B"), "财富管理行业话术")
    with pytest.raises(PermissionDenied):
        await sop.create_category(rw.world.p("sp_A1"), "话术")
