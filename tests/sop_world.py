"""An SOP library over a three-page brochure, for the live-assist tests (service, WebSocket,
browser): one flow per page range, a card per page, a forbidden-phrase rule, a template."""

from __future__ import annotations

import attrs

from zhanye_sdk.sop import QaRule
from zhanye_sdk.sop.models import SopTemplate

from . import material_files
from .platform_world import World

BROCHURE = "年金保险产品手册.pdf"
CARD_INTRO = "开场先介绍公司与产品名称，再说明保障期限。"
CARD_RISK = "本产品分红水平不确定，请客户仔细阅读风险揭示。"


@attrs.frozen
class SopLibrary:
    """What the tests refer to: the brochure's material id, the template and node ids."""

    material_id: str
    template: SopTemplate
    flow_id: str


async def build_sop_library(world: World) -> SopLibrary:
    """As company admin A: the brochure, scripts, a flow over it, a rule and a template."""
    platform, admin = world.platform, world.p("ca_A")
    sop = platform.sop
    brochure = await platform.materials.upload_file(admin, BROCHURE, material_files.pdf(3))
    category = await sop.create_category(admin, "保险话术")
    intro = await sop.create_script(admin, category.id, "产品介绍话术", "", CARD_INTRO)
    risk = await sop.create_script(admin, category.id, "风险揭示话术", "", CARD_RISK)
    flow = await sop.create_flow(
        admin,
        "年金保险讲解",
        [
            {
                "id": "intro",
                "title": "产品介绍",
                "key_phrases": ["保险产品"],
                "script_ids": [intro.id],
                "pages": "1",
            },
            {
                "id": "risk",
                "title": "风险揭示",
                "key_phrases": ["风险揭示"],
                "required": True,
                "script_ids": [risk.id],
                "pages": "2",
            },
            {"id": "cool", "title": "犹豫期说明", "key_phrases": ["犹豫期"], "required": True},
        ],
        material_id=brochure.id,
    )
    template = await sop.save_template(admin, "年金保险模板", [flow.id], [world.ids["A1"]])
    await sop.save_rule(
        admin,
        QaRule(
            "x", "承诺保本", "forbidden", severity="critical", deduction=30, expression="保本保息"
        ),
    )
    return SopLibrary(brochure.id, template, flow.id)
