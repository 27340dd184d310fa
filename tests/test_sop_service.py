"""The SOP library through the SDK, with permissions, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import pytest

from zhanye_sdk.errors import ConflictError, InvalidInput, PermissionDenied
from zhanye_sdk.platform import NotAccessible, PlatformConfig
from zhanye_sdk.platform.config import MaterialSettings
from zhanye_sdk.sop import QaRule

from .platform_world import World, build_world

pytestmark = pytest.mark.anyio

NODES = [
    {
        "title": "资产配置介绍",
        "key_phrases": ["宏观市场", "量化策略"],
        "required": True,
        "pages": "1-3",
        "children": [
            {"title": "宏观市场介绍", "key_phrases": ["宏观市场"]},
            {"title": "配置理念说明", "key_phrases": ["资产配置"], "required": True},
        ],
    },
    {"title": "客户KYC", "key_phrases": ["风险测评"], "pages": [[4, 5]]},
]


@pytest.fixture
async def world(
    database_url: str, fast_config: PlatformConfig, tmp_path: Path
) -> AsyncIterator[World]:
    config = attrs.evolve(fast_config, materials=MaterialSettings(storage_root=tmp_path / "m"))
    w = await build_world(database_url, config)
    try:
        yield w
    finally:
        await w.platform.close()


async def test_script_library_categories_scripts_and_search(world: World) -> None:
    sop, admin = world.platform.sop, world.p("ca_A")
    wealth = await sop.create_category(admin, "财富管理行业话术")
    intro = await sop.create_category(admin, "产品介绍", wealth.id)
    sales = await sop.create_category(admin, "销售话术", wealth.id)
    with pytest.raises(InvalidInput, match="two levels"):
        await sop.create_category(admin, "第三层", intro.id)
    assert [(c.name, c.parent_id) for c in await sop.categories(world.p("sp_A1"))] == [
        ("财富管理行业话术", None),
        ("产品介绍", wealth.id),
        ("销售话术", wealth.id),
    ]
    assert await sop.categories(world.p("ca_B")) == []
    s1 = await sop.create_script(
        admin, intro.id, "资产配置介绍", "宏观市场,量化策略", "宏观市场介绍"
    )
    world.clock.advance(60)
    await sop.create_script(admin, sales.id, "客户KYC引导", ["服务"], "引导KYC")
    assert s1.keywords == ("宏观市场", "量化策略")
    found = await sop.scripts(world.p("sp_A2"), keyword="量化")
    assert [s.name for s in found] == ["资产配置介绍"]
    under_wealth = await sop.scripts(admin, category_id=wealth.id)
    assert [s.name for s in under_wealth] == ["客户KYC引导", "资产配置介绍"]
    updated = await sop.update_script(admin, s1.id, content="新的内容")
    assert updated.content == "新的内容" and updated.name == "资产配置介绍"
    with pytest.raises(ConflictError):
        await sop.delete_category(admin, intro.id)
    # Another company's admin and the org admins cannot manage, and see nothing of it.
    with pytest.raises(PermissionDenied):
        await sop.create_script(world.p("oa_A1"), intro.id, "x", "", "y")
    with pytest.raises(NotAccessible):
        await sop.update_script(world.p("ca_B"), s1.id, name="偷")
    await sop.delete_script(admin, s1.id)
    assert [s.name for s in await sop.scripts(admin)] == ["客户KYC引导"]


async def test_flows_nodes_copy_and_validation(world: World) -> None:
    sop, admin = world.platform.sop, world.p("ca_A")
    category = await sop.create_category(admin, "话术")
    script = await sop.create_script(admin, category.id, "配置理念", "资产配置", "配置理念说明")
    link = await world.platform.materials.add_link(admin, "资产配置介绍", "https://example.com/a")
    nodes = [dict(NODES[0], script_ids=[script.id]), NODES[1]]
    flow = await sop.create_flow(admin, "资产配置介绍", nodes, material_id=link.id, pages="1-5")
    assert [n.title for n in flow.nodes] == ["资产配置介绍", "客户KYC"]
    assert [c.title for c in flow.nodes[0].children] == ["宏观市场介绍", "配置理念说明"]
    assert flow.nodes[0].required and flow.nodes[0].children[1].required
    assert 2 in flow.nodes[0].pages[0] and 4 in flow.nodes[1].pages[0]
    stored = await sop.get_flow(admin, flow.id)
    assert stored.nodes == flow.nodes and stored.material_id == link.id
    copy = await sop.copy_flow(admin, flow.id)
    assert copy.name == "资产配置介绍-副本" and copy.nodes == flow.nodes and copy.id != flow.id
    renamed = await sop.update_flow(admin, copy.id, name="产品推荐", material_id="")
    assert renamed.material_id is None
    assert {f.name for f in await sop.flows(admin)} == {"资产配置介绍", "产品推荐"}
    assert [f.name for f in await sop.flows(admin, name="推荐")] == ["产品推荐"]
    with pytest.raises(InvalidInput) as info:
        await sop.create_flow(
            admin,
            "坏的",
            [{"title": "", "required": "yes", "children": [{"title": "x", "children": [{}]}]}],
        )
    message = str(info.value)
    assert "nodes[0].title" in message and "nodes[0].required" in message
    assert "second-level nodes cannot have children" in message
    with pytest.raises(NotAccessible):
        await sop.create_flow(admin, "x", [{"title": "a", "script_ids": ["nope"]}])
    other = await world.platform.materials.add_link(world.p("ca_B"), "B的", "https://example.com/b")
    with pytest.raises(NotAccessible):
        await sop.create_flow(admin, "x", [], material_id=other.id)


async def test_templates_decide_which_flows_an_org_may_use(world: World) -> None:
    sop, admin = world.platform.sop, world.p("ca_A")
    f1 = await sop.create_flow(admin, "资产配置介绍", NODES)
    f2 = await sop.create_flow(admin, "客户KYC", NODES[1:])
    f3 = await sop.create_flow(admin, "未使用", NODES[1:])
    t1 = await sop.save_template(admin, "财富模板", [f1.id, f2.id], [world.ids["A1"]])
    assert t1.flow_ids == (f1.id, f2.id)
    for name in ("sp_A1", "oa_A1"):
        assert [t.name for t in await sop.templates(world.p(name))] == ["财富模板"]
        assert {f.id for f in await sop.flows(world.p(name))} == {f1.id, f2.id}
    assert await sop.templates(world.p("sp_A2")) == []
    assert await sop.flows(world.p("sp_A2")) == []
    with pytest.raises(NotAccessible):
        await sop.get_flow(world.p("sp_A2"), f1.id)
    with pytest.raises(NotAccessible):
        await sop.get_flow(world.p("sp_A1"), f3.id)
    # A template without organizations is for every organization of the company.
    await sop.save_template(admin, "财富模板", [f2.id], [], template_id=t1.id)
    assert [f.id for f in await sop.flows(world.p("sp_A2"))] == [f2.id]
    assert await sop.flows(world.p("sp_B1")) == []
    with pytest.raises(NotAccessible):
        await sop.save_template(admin, "x", [f1.id], [world.ids["B1"]])
    with pytest.raises(InvalidInput):
        await sop.save_template(admin, "x", [f1.id, f1.id])
    with pytest.raises(PermissionDenied):
        await sop.save_template(world.p("oa_A1"), "x", [f1.id])
    await sop.delete_flow(admin, f2.id)
    [template] = await sop.templates(admin)
    assert template.flow_ids == ()
    await sop.delete_template(admin, t1.id)
    assert await sop.templates(admin) == []


async def test_qa_rules_round_trip(world: World) -> None:
    sop, admin = world.platform.sop, world.p("ca_A")
    forbidden = QaRule(
        "x",
        "承诺保本",
        "forbidden",
        severity="critical",
        deduction=30,
        expression="保本 and not 风险",
    )
    order = QaRule("y", "先测评后推荐", "order", order=("风险测评", "产品推荐"))
    a = await sop.save_rule(admin, forbidden)
    world.clock.advance(1)
    await sop.save_rule(admin, order, enabled=False)
    rules = await sop.rules(world.p("sp_A1"))
    assert [(r.rule.name, r.enabled) for r in rules] == [
        ("承诺保本", True),
        ("先测评后推荐", False),
    ]
    assert rules[0].rule == a.rule and rules[1].rule.order == ("风险测评", "产品推荐")
    assert [r.rule.name for r in await sop.rules(admin, enabled_only=True)] == ["承诺保本"]
    changed = attrs.evolve(a.rule, deduction=10)
    await sop.save_rule(admin, changed, create=False)
    assert {r.rule.name: r.rule.deduction for r in await sop.rules(admin)}["承诺保本"] == 10
    with pytest.raises(NotAccessible):
        await sop.delete_rule(world.p("ca_B"), a.rule.id)
    with pytest.raises(PermissionDenied):
        await sop.save_rule(world.p("sp_A1"), forbidden)
    await sop.delete_rule(admin, a.rule.id)
    assert [r.rule.name for r in await sop.rules(admin)] == ["先测评后推荐"]
    assert await sop.rules(world.p("ca_B")) == []
