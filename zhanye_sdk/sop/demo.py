"""The demo's SOP library and scripted conversation, over the demo's product brochure.

``seed_demo_sop`` gives the demo company a script library (财富管理行业话术 › 产品介绍 /
销售话术), a four-node flow over the brochure's pages, an SOP template and QA rules; it
is idempotent. ``DEMO_TRANSCRIPT`` is a salesperson presenting that brochure to a
customer (with one forbidden promise); a host that passes ``demo_live_config`` to its
live assist plays it whenever the brochure is shared, so a person trying the demo sees
the cards change, the checklist tick and an alert, without a speech recogniser.
"""

from __future__ import annotations

from zhanye_sdk.facade import Platform
from zhanye_sdk.platform.roles import Principal
from zhanye_sdk.sop.live import SopLiveConfig
from zhanye_sdk.sop.qa import QaRule
from zhanye_sdk.sop.transcript import ScriptedTranscript

__all__ = ["DEMO_TEMPLATE", "DEMO_TRANSCRIPT", "demo_live_config", "seed_demo_sop"]

DEMO_TEMPLATE = "安心保终身寿险SOP"

#: (speaker, text, start_ms, end_ms): times from the moment the brochure is shared.
DEMO_TRANSCRIPT = ScriptedTranscript(
    [
        ("salesperson", "王女士您好，今天给您介绍一款安心保终身寿险。", 2_000, 6_000),
        ("customer", "好的，您说。", 7_000, 8_500),
        ("salesperson", "这款产品的保额逐年递增百分之三点五。", 10_000, 14_000),
        ("salesperson", "需要用钱的时候可以减保取现，也可以办理保单贷款。", 15_500, 20_000),
        ("customer", "那收益有保证吗？", 21_500, 23_000),
        ("salesperson", "您放心，这个产品稳赚不赔。", 24_500, 27_500),
        ("salesperson", "保障责任方面，身故保险金按已交保费的百分之一百六十给付。", 29_000, 34_500),
        ("salesperson", "最后提醒您，犹豫期十五天，请仔细阅读责任免除条款。", 36_000, 41_000),
        ("customer", "明白了，谢谢。", 42_500, 44_000),
    ],
    partial_chars=4,
)


def demo_live_config(material_name: str) -> SopLiveConfig:
    """Live-assist settings that play ``DEMO_TRANSCRIPT`` when ``material_name`` is shared."""
    return SopLiveConfig(scripted={material_name: DEMO_TRANSCRIPT})


async def seed_demo_sop(platform: Platform, admin: Principal, material_id: str) -> bool:
    """Give the admin's company the demo SOP library over the brochure ``material_id``.

    Returns whether anything was created (False when the demo template exists already).

    Raises:
        PermissionDenied: ``admin`` is not a company admin.
        NotAccessible: the material is not the company's.
    """
    sop = platform.sop
    if any(t.name == DEMO_TEMPLATE for t in await sop.templates(admin)):
        return False
    top = await sop.create_category(admin, "财富管理行业话术")
    intro = await sop.create_category(admin, "产品介绍", top.id)
    sales = await sop.create_category(admin, "销售话术", top.id)
    overview = await sop.create_script(
        admin,
        intro.id,
        "产品概览",
        "安心保,终身寿险",
        "安心保是一款终身寿险：终身保障，身故给付保险金；可选趸交、5 年或 10 年交，"
        "0–65 周岁可以投保。",
    )
    highlights = await sop.create_script(
        admin,
        intro.id,
        "产品亮点",
        "保额递增,减保取现,保单贷款",
        "三个亮点：保额每年递增 3.5%；可以减保取现，灵活应对教育和养老；"
        "保单贷款最高可贷现金价值的 80%。",
    )
    duty = await sop.create_script(
        admin,
        intro.id,
        "保障责任说明",
        "身故保险金,全残",
        "身故或全残时，给付已交保费的 160% 与现金价值两者中较大的一个。",
    )
    notice = await sop.create_script(
        admin,
        sales.id,
        "投保须知与风险提示",
        "犹豫期,责任免除",
        "请客户仔细阅读保险条款和责任免除；犹豫期 15 天，期内退保没有损失。"
        "不得承诺收益，不得说保本保息、稳赚不赔。",
    )
    flow = await sop.create_flow(
        admin,
        "安心保终身寿险讲解",
        [
            {
                "id": "overview",
                "title": "产品介绍",
                "key_phrases": ["安心保", "终身寿险"],
                "required": True,
                "script_ids": [overview.id],
                "pages": "1",
            },
            {
                "id": "highlights",
                "title": "产品亮点",
                "script_ids": [highlights.id],
                "pages": "2",
                "children": [
                    {"id": "growth", "title": "保额递增", "key_phrases": ["保额逐年递增"]},
                    {"id": "withdraw", "title": "减保取现", "key_phrases": ["减保取现"]},
                    {"id": "loan", "title": "保单贷款", "key_phrases": ["保单贷款"]},
                ],
            },
            {
                "id": "duty",
                "title": "保障责任",
                "key_phrases": ["身故保险金", "全残保险金"],
                "required": True,
                "script_ids": [duty.id],
                "pages": "3",
            },
            {
                "id": "notice",
                "title": "投保须知",
                "key_phrases": ["犹豫期", "责任免除"],
                "required": True,
                "script_ids": [notice.id],
                "pages": "4",
            },
        ],
        material_id=material_id,
        pages="1-4",
    )
    await sop.save_template(admin, DEMO_TEMPLATE, [flow.id])
    for rule in (
        QaRule(
            "new",
            "承诺收益",
            "forbidden",
            severity="critical",
            deduction=20,
            expression="稳赚不赔 or 保本保息 or 零风险",
        ),
        QaRule(
            "new",
            "犹豫期告知",
            "mandatory",
            severity="major",
            deduction=10,
            expression="犹豫期",
        ),
    ):
        await sop.save_rule(admin, rule)
    return True
