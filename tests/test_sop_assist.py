"""Live assist: the flow follows the shared page, cards, node checklist, QA, the record."""

from __future__ import annotations

import datetime as dt

import attrs

from zhanye_sdk.sop import QaRule, TranscriptSegment
from zhanye_sdk.sop.assist import CardShown, FlowActivated, NodeExecuted, SopAssistant
from zhanye_sdk.sop.models import Flow, Script, flow_nodes_from, pages_from
from zhanye_sdk.sop.qa import QaAlert

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SCRIPTS = [
    Script("s-macro", "c", "宏观市场介绍", ("宏观市场",), "今年利率下行……", NOW),
    Script("s-idea", "c", "配置理念说明", (), "不要把鸡蛋放在一个篮子里", NOW),
    Script("s-kyc", "c", "客户KYC引导", ("风险测评",), "请您做一下风险测评", NOW),
    Script("s-risk", "c", "风险揭示话术", (), "分红水平不确定……", NOW),
]
WEALTH = Flow(
    "f-wealth",
    "资产配置介绍",
    "m-wealth",
    pages_from("1-6"),
    flow_nodes_from(
        [
            {
                "id": "asset",
                "title": "资产配置介绍",
                "pages": "1-3",
                "children": [
                    {
                        "id": "macro",
                        "title": "宏观市场介绍",
                        "key_phrases": ["宏观市场"],
                        "script_ids": ["s-macro"],
                        "pages": "1",
                    },
                    {
                        "id": "idea",
                        "title": "配置理念说明",
                        "key_phrases": ["资产配置"],
                        "script_ids": ["s-idea"],
                        "required": True,
                        "pages": "2-3",
                    },
                ],
            },
            {
                "id": "kyc",
                "title": "客户KYC",
                "key_phrases": ["风险测评"],
                "script_ids": ["s-kyc"],
                "required": True,
                "pages": "4-6",
            },
        ]
    ),
    NOW,
)
INSURANCE = Flow(
    "f-ins",
    "年金保险",
    "m-ins",
    (),
    flow_nodes_from(
        [
            {
                "id": "risk",
                "title": "风险揭示",
                "key_phrases": ["风险揭示"],
                "script_ids": ["s-risk"],
                "required": True,
            }
        ]
    ),
    NOW,
)


def said(uid: str, text: str, t: int, speaker: str = "salesperson", final: bool = True):
    return TranscriptSegment(uid, text, t, t + 200 * len(text), speaker, final)


def test_flow_follows_the_shared_material_and_page() -> None:
    assistant = SopAssistant([WEALTH, INSURANCE], SCRIPTS)
    assistant.show("m-wealth", 1)
    events = assistant.events()
    assert events[0] == FlowActivated("f-wealth", "m-wealth", 1)
    assert isinstance(events[1], CardShown) and events[1].script_id == "s-macro"
    assistant.show("m-wealth", 2)
    assert [e.script_id for e in assistant.events() if isinstance(e, CardShown)] == ["s-idea"]
    assistant.show("m-ins", 1)
    assert assistant.events()[0] == FlowActivated("f-ins", "m-ins", 1)
    assistant.show("m-other", 1)
    assert assistant.events() == [FlowActivated(None, "m-other", 1)]
    # Pages outside the flow's ranges select no flow either.
    assistant.show("m-wealth", 9)
    assert assistant.events() == []
    assert assistant.active_flow is None


def test_cards_and_checklist_tick_as_the_transcript_comes_in() -> None:
    rules = [QaRule("f", "承诺保本", "forbidden", severity="critical", expression="保本保息")]
    assistant = SopAssistant([WEALTH, INSURANCE], SCRIPTS, rules)
    assistant.show("m-wealth", 1)
    assistant.events()
    # A homophone-damaged partial suggests the card early; the final ticks the node.
    assistant.receive(said("u1", "我们先看一下红观市", 0, final=False))
    assistant.receive(said("u1", "我们先看一下红观市场的情况", 0, final=False))
    early = assistant.events()
    assert early == []  # the card for this node is on screen already
    assistant.show("m-wealth", 4)
    assistant.events()
    assistant.receive(said("u1", "我们先看一下红观市场的情况", 0))
    events = assistant.events()
    ticked = [e for e in events if isinstance(e, NodeExecuted)]
    assert [(e.node_id, e.parent_id, e.channel) for e in ticked] == [
        ("macro", "asset", "pinyin"),
        ("asset", None, "pinyin"),
    ]
    assert [e.script_id for e in events if isinstance(e, CardShown)] == ["s-macro"]
    # The customer saying a key phrase does not tick anything.
    assistant.receive(said("u2", "风险测评要多久", 3000, speaker="customer"))
    assert not [e for e in assistant.events() if isinstance(e, NodeExecuted)]
    assistant.receive(said("u3", "先做一个风险测评，这个产品保本保息", 5000))
    events = assistant.events()
    assert [e.node_id for e in events if isinstance(e, NodeExecuted)] == ["kyc"]
    assert [e.rule_id for e in events if isinstance(e, QaAlert)] == ["f"]
    # Said again: no second tick.
    assistant.receive(said("u4", "风险测评做完了", 9000))
    assert not [e for e in assistant.events() if isinstance(e, NodeExecuted)]
    summary = assistant.summary()
    table = [(r.level1, r.level2, r.executed, r.scripts) for r in summary.execution]
    assert table == [
        ("资产配置介绍", "", True, ()),
        ("资产配置介绍", "宏观市场介绍", True, ("宏观市场介绍",)),
        ("资产配置介绍", "配置理念说明", False, ("配置理念说明",)),
        ("客户KYC", "", True, ("客户KYC引导",)),
    ]
    assert summary.missed_required == ("资产配置介绍 / 配置理念说明",)
    assert summary.qa.passed is False
    assert summary.qa.score == 100 - 5 - 10


def test_keyword_cards_are_boosted_by_the_page_on_screen() -> None:
    assistant = SopAssistant([WEALTH], SCRIPTS)
    assistant.show("m-wealth", 4)
    assert [e.script_id for e in assistant.events() if isinstance(e, CardShown)] == ["s-kyc"]
    assistant.receive(said("u1", "宏观市场怎么样", 0, speaker="customer"))
    [card] = [e for e in assistant.events() if isinstance(e, CardShown)]
    assert (card.script_id, card.score) == ("s-macro", 1.0)
    # Both keywords heard: the KYC card belongs to the node of page 4 and wins.
    assistant.receive(said("u2", "宏观市场和风险测评都讲讲", 2000, speaker="customer"))
    [card] = [e for e in assistant.events() if isinstance(e, CardShown)]
    assert (card.script_id, card.score) == ("s-kyc", 1.5)
    # On page 1 the same words favour the macro card.
    assistant.show("m-wealth", 1)
    assert [e.script_id for e in assistant.events() if isinstance(e, CardShown)] == ["s-macro"]
    assistant.receive(said("u3", "宏观市场和风险测评都讲讲", 4000, speaker="customer"))
    assert assistant.events() == []


def test_a_general_flow_is_followed_when_nothing_of_its_own_is_shared() -> None:
    general = attrs.evolve(INSURANCE, id="f-general", material_id=None)
    assistant = SopAssistant([WEALTH, general], SCRIPTS)
    assert assistant.active_flow is general
    assistant.receive(said("u1", "下面做风险揭示", 0))
    assert [e.node_id for e in assistant.events() if isinstance(e, NodeExecuted)] == ["risk"]
    assistant.show("m-wealth", 1)
    assert assistant.events()[0] == FlowActivated("f-wealth", "m-wealth", 1)
    assistant.show(None)
    assert assistant.events() == [FlowActivated("f-general", None, None)]
    flows = {row.flow for row in assistant.summary().execution}
    assert flows == {"资产配置介绍", "年金保险"}
