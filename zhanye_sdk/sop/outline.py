"""A flow's nodes as a text outline (流程大纲), one node per line, and back.

Theory of operation: each line is ``标题 | 关键词 | 必选 | 页码 | 话术`` — the title,
the trigger phrases (comma separated), ``必选`` for a required node, page ranges such
as ``1-3,5`` and the ids of linked scripts (comma separated). Trailing empty fields may
be left out. A line starting with spaces or ``-`` is a second-level node of the
first-level line above it. The title may start with ``[id]``, the node's id; without
it the node gets ``n1``, ``n2`` … in order. Inside any field ``\\`` escapes the next
character (``\\|``, ``\\,``, ``\\[``, ``\\-``, ``\\\\``) and ``\\uXXXX`` stands for a
control character, so any node tree has an outline.

``FlowOutline.format`` writes the one canonical outline of a node tree and
``FlowOutline.parse`` reads it back to the same tree: ``parse(format(nodes)) == nodes``.
Every bad line is reported with its number. Pure functions, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.sop.models import (
    MAX_NODES,
    MAX_PHRASES,
    FlowNode,
    PageRange,
    flow_nodes_from,
    nodes_to_json,
    pages_from,
)

__all__ = ["FlowOutline"]

_REQUIRED_WORDS = {"必选": True, "必须": True, "是": True, "required": True, "yes": True}
_OPTIONAL_WORDS = {"": False, "可选": False, "否": False, "optional": False, "no": False}
_FIELDS = 5
_MAX_LINES = 1000
_ID = re.compile(r"\[((?:[^\]\\]|\\.)+)\]\s*")


class FlowOutline:
    """Reads and writes a flow's node tree as a text outline (see the module docstring)."""

    @staticmethod
    def format(nodes: Sequence[FlowNode]) -> str:
        """The canonical outline of ``nodes`` (lines joined by ``\\n``)."""
        lines: list[str] = []
        for node in nodes:
            lines.append(_line(node, child=False))
            lines.extend(_line(c, child=True) for c in node.children)
        return "\n".join(lines)

    @staticmethod
    def parse(text: str) -> tuple[FlowNode, ...]:
        """The node tree an outline describes.

        Raises:
            InvalidInput: naming every bad line by its number (``第 3 行``).
        """
        if not isinstance(text, str):
            raise InvalidInput("the outline must be text", zh="流程大纲必须是文字")
        lines = text.split("\n")
        if len(lines) > _MAX_LINES:
            raise InvalidInput(
                f"the outline has {len(lines)} lines, at most {_MAX_LINES}",
                zh=f"流程大纲有 {len(lines)} 行，最多 {_MAX_LINES} 行",
            )
        problems: list[tuple[int, str, str]] = []
        raw: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        count = 0
        for number, line in enumerate(lines, start=1):
            line = line.removesuffix("\r")
            if not line.strip():
                continue
            child = line[0].isspace() or line[0] == "-"
            node = _read_line(line.lstrip().removeprefix("-").lstrip() if child else line, number)
            if isinstance(node, tuple):
                problems.append(node)
                continue
            count += 1
            if "id" in node:
                if node["id"] in seen:
                    problems.append(
                        (
                            number,
                            f"node id {node['id']!r} is also on line {seen[node['id']]}",
                            f"节点编号“{node['id']}”与第 {seen[node['id']]} 行重复",
                        )
                    )
                    continue
                seen[node["id"]] = number
            if child:
                if not raw:
                    problems.append(
                        (
                            number,
                            "a second-level node needs a first-level node above it",
                            "二级节点（缩进或以“-”开头的行）上方须有一级节点",
                        )
                    )
                    continue
                raw[-1]["children"].append(node)
            else:
                raw.append({**node, "children": []})
        if count > MAX_NODES:
            problems.append(
                (
                    len(lines),
                    f"{count} nodes, at most {MAX_NODES}",
                    f"共 {count} 个节点，最多 {MAX_NODES} 个",
                )
            )
        if problems:
            raise InvalidInput(
                "; ".join(f"line {n}: {en}" for n, en, _ in problems),
                zh="流程大纲有误：" + "；".join(f"第 {n} 行：{zh}" for n, _, zh in problems),
            )
        return flow_nodes_from(raw)

    @staticmethod
    def to_json(text: str) -> list[dict[str, Any]]:
        """The JSON form (``nodes_to_json``) of the nodes an outline describes."""
        return nodes_to_json(FlowOutline.parse(text))


# ---- writing ------------------------------------------------------------------------------


def _escape(text: str, specials: str) -> str:
    out = []
    for c in text:
        if c == "\\" or c in specials:
            out.append("\\" + c)
        elif unicodedata.category(c) in ("Cc", "Zl", "Zp"):
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return "".join(out)


def _list(values: Sequence[str]) -> str:
    return ",".join(_escape(v, "|,，") for v in values)


def _pages(pages: Sequence[PageRange]) -> str:
    return ",".join(str(p.first) if p.first == p.last else f"{p.first}-{p.last}" for p in pages)


def _line(node: FlowNode, *, child: bool) -> str:
    title = _escape(node.title, "|")
    if title[:1] in ("-", "["):
        title = "\\" + title
    fields = [
        f"[{_escape(node.id, '|]')}] {title}",
        _list(node.key_phrases),
        "必选" if node.required else "",
        _pages(node.pages),
        _list(node.script_ids),
    ]
    while fields[-1] == "":
        fields.pop()
    return ("  " if child else "") + " | ".join(fields)


# ---- reading ------------------------------------------------------------------------------


def _split(text: str, separators: str) -> list[str]:
    """``text`` cut at separators not escaped by a backslash (escapes kept)."""
    parts, current, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if c in separators:
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
        i += 1
    parts.append("".join(current))
    return parts


class _BadEscape(ValueError):
    pass


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(text):
            raise _BadEscape("a lone backslash at the end of a field")
        nxt = text[i + 1]
        if nxt == "u":
            digits = text[i + 2 : i + 6]
            if len(digits) != 4 or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise _BadEscape(f"\\u must be followed by 4 hex digits, got {digits!r}")
            out.append(chr(int(digits, 16)))
            i += 6
        else:
            out.append(nxt)
            i += 2
    return "".join(out)


def _read_line(line: str, number: int) -> dict[str, Any] | tuple[int, str, str]:
    fields = [f.strip() for f in _split(line, "|")]
    if len(fields) > _FIELDS:
        return (
            number,
            f"{len(fields)} fields, at most {_FIELDS} "
            "(title | phrases | required | pages | scripts)",
            f"有 {len(fields)} 栏，最多 {_FIELDS} 栏（标题 | 关键词 | 必选 | 页码 | 话术）",
        )
    fields += [""] * (_FIELDS - len(fields))
    title_field, phrases, required, pages, scripts = fields
    node: dict[str, Any] = {}
    matched = _ID.match(title_field)
    try:
        if matched:
            node["id"] = _unescape(matched.group(1))
            title_field = title_field[matched.end() :]
        node["title"] = _unescape(title_field).strip()
        node["key_phrases"] = [_unescape(p).strip() for p in _split(phrases, ",，")]
        node["script_ids"] = [_unescape(s).strip() for s in _split(scripts, ",，")]
    except _BadEscape as exc:
        return number, str(exc), f"反斜杠“\\”用法有误（{exc}）"
    node["key_phrases"] = [p for p in node["key_phrases"] if p]
    node["script_ids"] = [s for s in node["script_ids"] if s]
    for key, en, zh in (("key_phrases", "phrases", "关键词"), ("script_ids", "scripts", "话术")):
        values = set(node[key])
        if len(values) > MAX_PHRASES or any(len(v) > 64 for v in values):
            return (
                number,
                f"at most {MAX_PHRASES} {en} of at most 64 characters each",
                f"{zh}最多 {MAX_PHRASES} 个，每个最多 64 个字",
            )
    if not node["title"]:
        return number, "the node has no title", "节点缺少标题"
    if len(node["title"]) > 64:
        return (
            number,
            f"the title has {len(node['title'])} characters, at most 64",
            f"标题有 {len(node['title'])} 个字，最多 64 个",
        )
    word = required.lower()
    if word in _REQUIRED_WORDS or word in _OPTIONAL_WORDS:
        node["required"] = _REQUIRED_WORDS.get(word, False)
    else:
        return (
            number,
            f"the third field must be 必选 or empty, got {required!r}",
            f"第三栏须为“必选”或留空，当前为“{required}”",
        )
    try:
        node["pages"] = [[p.first, p.last] for p in pages_from(pages, "pages")]
    except InvalidInput as exc:
        return number, str(exc), exc.zh or f"页码“{pages}”无效"
    return node
