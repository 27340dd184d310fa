"""The SOP library's values: script categories and scripts, flows, templates, stored QA rules.

Plain frozen attrs classes; ``flow_nodes_from`` and ``nodes_to_json`` convert a flow's
node tree at the edges (JSON from the API and the database) and list every bad field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

import attrs

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.sop.qa import QaRule

__all__ = [
    "Flow",
    "FlowNode",
    "PageRange",
    "Script",
    "ScriptCategory",
    "SopTemplate",
    "StoredQaRule",
    "flow_nodes_from",
    "nodes_to_json",
    "pages_from",
]

MAX_PHRASES = 50
MAX_NODES = 100


@attrs.frozen(slots=True)
class ScriptCategory:
    """A folder of the script library (话术分类); ``parent_id`` None at the top."""

    id: str
    name: str
    parent_id: str | None
    position: int


@attrs.frozen(slots=True)
class Script:
    """A script (话术): name, semantic keywords, content, last update."""

    id: str
    category_id: str
    name: str
    keywords: tuple[str, ...]
    content: str
    updated_at: dt.datetime


@attrs.frozen(slots=True)
class PageRange:
    """Pages ``first..last`` (1-based, inclusive) of a flow's material."""

    first: int
    last: int

    def __contains__(self, page: object) -> bool:
        return isinstance(page, int) and self.first <= page <= self.last


@attrs.frozen(slots=True)
class FlowNode:
    """A flow node: first level (``children`` are second-level nodes) or second level.

    ``key_phrases`` mark the node executed when said; ``script_ids`` are the cards shown
    with it; ``pages`` narrow it to pages of the flow's material (empty: any page).
    """

    id: str
    title: str
    key_phrases: tuple[str, ...] = ()
    required: bool = False
    script_ids: tuple[str, ...] = ()
    pages: tuple[PageRange, ...] = ()
    children: tuple[FlowNode, ...] = ()

    def walk(self) -> list[tuple[FlowNode | None, FlowNode]]:
        """``(parent, node)`` for this node and its children, in order."""
        return [(None, self)] + [(self, c) for c in self.children]


@attrs.frozen(slots=True)
class Flow:
    """A flow (流程): nodes in order, optionally tied to a material and its pages."""

    id: str
    name: str
    material_id: str | None
    pages: tuple[PageRange, ...]
    nodes: tuple[FlowNode, ...]
    updated_at: dt.datetime


@attrs.frozen(slots=True)
class SopTemplate:
    """A template (SOP 模板): flows in order, and the organizations allowed (empty: all)."""

    id: str
    name: str
    flow_ids: tuple[str, ...]
    org_ids: tuple[str, ...]
    updated_at: dt.datetime


@attrs.frozen(slots=True)
class StoredQaRule:
    """A QA rule of a company's library, with whether it is applied."""

    rule: QaRule
    enabled: bool
    updated_at: dt.datetime


def pages_from(value: Any, where: str = "pages") -> tuple[PageRange, ...]:
    """Page ranges from ``"1-3,5"`` or ``[[1, 3], [5, 5]]``.

    Raises:
        InvalidInput: malformed, or a range with ``first < 1`` or ``last < first``.
    """
    if value is None or value == "":
        return ()
    pairs: list[tuple[Any, Any]] = []
    if isinstance(value, str):
        for part in value.replace("，", ",").split(","):
            part = part.strip()
            if not part:
                continue
            first, _, last = part.partition("-")
            if not first.strip().isdigit() or (last and not last.strip().isdigit()):
                raise InvalidInput(
                    f"{where}: {part!r} is not a page or a range like 1-3",
                    zh=f"页码“{part}”无效，请填写页码或如 1-3 的范围",
                )
            pairs.append((int(first), int(last) if last else int(first)))
    elif isinstance(value, list | tuple):
        for item in value:
            if (
                not isinstance(item, list | tuple)
                or len(item) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in item)
            ):
                raise InvalidInput(
                    f"{where}: each range must be [first, last], got {item!r}",
                    zh="页码范围须为 [起始页, 结束页]",
                )
            pairs.append((item[0], item[1]))
    else:
        raise InvalidInput(
            f"{where}: must be text like '1-3,5' or a list of [first, last]",
            zh="页码须填写为如 1-3,5 的形式",
        )
    out = []
    for first, last in pairs:
        if first < 1 or last < first:
            raise InvalidInput(
                f"{where}: range {first}-{last} must have 1 <= first <= last",
                zh=f"页码范围 {first}-{last} 无效：起始页须不小于 1，且不大于结束页",
            )
        out.append(PageRange(first, last))
    return tuple(out)


def _strings(value: Any, where: str, problems: list[str], limit: int) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):  # as typed in one box: "宏观市场，量化策略"
        value = re.split(r"[,，、]", value)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        problems.append(f"{where} must be a list of text")
        return ()
    cleaned = tuple(dict.fromkeys(v.strip() for v in value if v.strip()))
    if len(cleaned) > limit:
        problems.append(f"{where} has {len(cleaned)} entries, at most {limit}")
    if any(len(v) > 64 for v in cleaned):
        problems.append(f"{where}: each entry must be at most 64 characters")
    return cleaned


def _fresh_id(ids: set[str], reserved: set[str]) -> str:
    """``n<k>`` for a node given without an id, clear of every id the flow names."""
    k = len(ids) + 1
    while f"n{k}" in ids or f"n{k}" in reserved:
        k += 1
    return f"n{k}"


def _named_ids(raw: Any) -> set[str]:
    named: set[str] = set()
    for node in raw if isinstance(raw, list) else ():
        if isinstance(node, dict):
            if isinstance(node.get("id"), str):
                named.add(node["id"])
            named |= _named_ids(node.get("children"))
    return named


def _node(
    raw: Any, where: str, level: int, problems: list[str], ids: set[str], reserved: set[str]
) -> FlowNode:
    if not isinstance(raw, dict):
        problems.append(f"{where} must be an object")
        return FlowNode(id="", title="")
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip() or len(title.strip()) > 64:
        problems.append(f"{where}.title must be 1–64 characters")
        title = ""
    node_id = raw.get("id") or _fresh_id(ids, reserved)
    if not isinstance(node_id, str) or node_id in ids:
        problems.append(f"{where}.id must be a unique text id, got {node_id!r}")
        node_id = _fresh_id(ids, reserved)
    ids.add(node_id)
    required = raw.get("required", False)
    if not isinstance(required, bool):
        problems.append(f"{where}.required must be true or false")
        required = False
    try:
        pages = pages_from(raw.get("pages"), f"{where}.pages")
    except InvalidInput as err:
        problems.append(str(err))
        pages = ()
    children_raw = raw.get("children") or []
    children: list[FlowNode] = []
    if children_raw and level == 2:
        problems.append(f"{where}: second-level nodes cannot have children")
    elif not isinstance(children_raw, list):
        problems.append(f"{where}.children must be a list")
    else:
        children = [
            _node(c, f"{where}.children[{i}]", 2, problems, ids, reserved)
            for i, c in enumerate(children_raw)
        ]
    return FlowNode(
        id=node_id,
        title=title.strip(),
        key_phrases=_strings(raw.get("key_phrases"), f"{where}.key_phrases", problems, MAX_PHRASES),
        required=required,
        script_ids=_strings(raw.get("script_ids"), f"{where}.script_ids", problems, MAX_PHRASES),
        pages=pages,
        children=tuple(children),
    )


def flow_nodes_from(raw: Any) -> tuple[FlowNode, ...]:
    """A flow's node tree from JSON-like data: a list of first-level node objects.

    Each node: ``title``, optional ``id``, ``key_phrases`` (a list, or one text separated
    by commas), ``required``, ``script_ids``,
    ``pages`` and (first level only) ``children``. Order is list order.

    Raises:
        InvalidInput: listing every bad field.
    """
    if not isinstance(raw, list):
        raise InvalidInput(
            "nodes must be a list of first-level nodes", zh="流程节点须为一级节点列表"
        )
    problems: list[str] = []
    ids: set[str] = set()
    reserved = _named_ids(raw)
    nodes = tuple(_node(n, f"nodes[{i}]", 1, problems, ids, reserved) for i, n in enumerate(raw))
    if len(ids) > MAX_NODES:
        problems.append(f"a flow has at most {MAX_NODES} nodes, got {len(ids)}")
    if problems:
        raise InvalidInput(
            "; ".join(problems),
            zh="流程节点设置有误，请检查节点标题、页码和层级后重试（" + "; ".join(problems) + "）",
        )
    return nodes


def _pages_json(pages: Sequence[PageRange]) -> list[list[int]]:
    return [[p.first, p.last] for p in pages]


def nodes_to_json(nodes: Sequence[FlowNode]) -> list[dict[str, Any]]:
    """The JSON form of a node tree (what ``flow_nodes_from`` reads)."""
    return [
        {
            "id": n.id,
            "title": n.title,
            "key_phrases": list(n.key_phrases),
            "required": n.required,
            "script_ids": list(n.script_ids),
            "pages": _pages_json(n.pages),
            "children": nodes_to_json(n.children),
        }
        for n in nodes
    ]
