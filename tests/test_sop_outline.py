"""The flow outline (流程大纲): written and read by the SDK, losslessly, and garbage refused
with the bad line named."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.sop.models import FlowNode, PageRange, flow_nodes_from
from zhanye_sdk.sop.outline import FlowOutline

# Text with the outline's own punctuation, escapes, control characters and CJK in it.
_TEXT = st.text(
    st.sampled_from(list("资产配置abc -[]|,，\\\t\n\r\x85\u2028#必选") + ["\u3000", "x"]),
    min_size=1,
    max_size=12,
).filter(lambda s: s.strip() != "")
_PAGES = st.lists(
    st.tuples(st.integers(1, 500), st.integers(0, 20)).map(lambda p: [p[0], p[0] + p[1]]),
    max_size=3,
)


def _raw_node(children: bool) -> st.SearchStrategy[dict[str, Any]]:
    fields: dict[str, Any] = {
        "title": _TEXT,
        "key_phrases": st.lists(_TEXT, max_size=4),
        "required": st.booleans(),
        "script_ids": st.lists(_TEXT, max_size=3),
        "pages": _PAGES,
    }
    if children:
        fields["children"] = st.lists(_raw_node(False), max_size=3)
    return st.fixed_dictionaries(fields, optional={"id": _TEXT})


def _unique_ids(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    for top in raw:
        for node in (top, *top.get("children", [])):
            if node.get("id") in seen:
                node.pop("id")
            elif "id" in node:
                seen.add(node["id"])
    return raw


NODE_TREES = st.lists(_raw_node(True), max_size=4).map(_unique_ids).map(flow_nodes_from)


@given(NODE_TREES)
@settings(max_examples=300)
def test_any_node_tree_survives_the_outline_exactly(nodes: tuple[FlowNode, ...]) -> None:
    text = FlowOutline.format(nodes)
    assert FlowOutline.parse(text) == nodes
    assert FlowOutline.format(FlowOutline.parse(text)) == text


def test_page_ranges_script_links_and_ids_are_written_and_read() -> None:
    nodes = flow_nodes_from(
        [
            {
                "id": "intro",
                "title": "资产配置介绍",
                "key_phrases": ["资产配置"],
                "required": True,
                "pages": "1-3",
                "script_ids": ["s1"],
                "children": [
                    {
                        "title": "宏观市场 | 介绍",
                        "key_phrases": ["宏观市场", "量化,策略"],
                        "pages": "2,4-5",
                        "script_ids": ["s2", "s3"],
                    }
                ],
            },
            {"title": "客户KYC", "key_phrases": ["风险测评"]},
        ]
    )
    text = FlowOutline.format(nodes)
    assert text == (
        "[intro] 资产配置介绍 | 资产配置 | 必选 | 1-3 | s1\n"
        "  [n2] 宏观市场 \\| 介绍 | 宏观市场,量化\\,策略 |  | 2,4-5 | s2,s3\n"
        "[n3] 客户KYC | 风险测评"
    )
    back = FlowOutline.parse(text)
    assert back[0].children[0].pages == (PageRange(2, 2), PageRange(4, 5))
    assert back[0].children[0].script_ids == ("s2", "s3")
    assert back == nodes


def test_a_hand_written_outline_without_ids_gets_fresh_ones() -> None:
    nodes = FlowOutline.parse(
        "资产配置介绍 | 资产配置 | 必选 | 1-3\n"
        "- 宏观市场介绍 | 宏观市场，量化策略\n"
        "[n1] 客户KYC | 风险测评 | 可选 | 4 | s9\n"
    )
    assert [n.id for n in nodes] == ["n2", "n1"]
    assert nodes[0].children[0].id == "n3"
    assert nodes[0].children[0].key_phrases == ("宏观市场", "量化策略")
    assert nodes[1].script_ids == ("s9",) and nodes[1].pages == (PageRange(4, 4),)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a | b | 也许", 1, "第三栏"),
        ("  孤儿节点", 1, "二级节点"),
        ("a\n | 关键词", 2, "缺少标题"),
        ("a | b | | 3-1", 1, "页码范围 3-1"),
        ("a | b | | | s | 多余", 1, "最多 5 栏"),
        ("a\n\nb \\u12", 3, "反斜杠"),
        ("[x] a\n[x] b", 2, "与第 1 行重复"),
    ],
)
def test_a_bad_line_is_named_in_chinese(text: str, line: int, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        FlowOutline.parse(text)
    assert f"第 {line} 行" in (caught.value.zh or "") and words in (caught.value.zh or "")


@given(st.text(max_size=300))
@settings(max_examples=500)
def test_garbage_is_read_or_refused_with_the_line_named(text: str) -> None:
    try:
        nodes = FlowOutline.parse(text)
    except InvalidInput as err:
        assert err.zh and re.search(r"第 \d+ 行", err.zh), err.zh
    else:
        assert FlowOutline.parse(FlowOutline.format(nodes)) == nodes


def test_a_node_added_without_an_id_never_takes_the_id_of_a_kept_node() -> None:
    # After the first node (n1) was deleted in the editor and a new one added at the end.
    nodes = flow_nodes_from(
        [{"id": "n2", "title": "甲"}, {"id": "n3", "title": "乙"}, {"title": "丙"}]
    )
    assert [n.id for n in nodes] == ["n2", "n3", "n4"]
