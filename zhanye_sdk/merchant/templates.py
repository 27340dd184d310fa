"""Message templates the shop types (greetings, bulk SMS, confirmations): ``{name}``
placeholders, ``{{`` and ``}}`` for literal braces.

The parser is our own, not ``str.format``: a stray brace, a format spec or an attribute
lookup in a template the shop typed is an input error with the place named, never a
crash, and nothing but the listed placeholders can be filled in.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from zhanye_sdk.errors import InvalidInput

__all__ = ["fill", "parse", "placeholders"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _listed(allowed: Collection[str], separator: str = "、") -> str:
    return separator.join("{" + name + "}" for name in sorted(allowed))


def parse(template: str, allowed: Collection[str]) -> list[str | tuple[str]]:
    """The template as literal text pieces and ``(placeholder,)`` fields.

    Raises:
        InvalidInput: a stray ``{`` or ``}``, or a placeholder not in ``allowed``; the
            message names it and says where it is (the character position, from 1).
    """
    pieces: list[str | tuple[str]] = []
    text: list[str] = []
    i, size = 0, len(template)
    while i < size:
        char = template[i]
        if char == "{" and template.startswith("{{", i):
            text.append("{")
            i += 2
        elif char == "}" and template.startswith("}}", i):
            text.append("}")
            i += 2
        elif char == "{":
            close = template.find("}", i + 1)
            inner = template[i + 1 : close] if close != -1 else ""
            if close == -1 or "{" in inner:
                snippet = template[i : i + 12]
                raise InvalidInput(
                    f"the '{{' at character {i + 1} ({snippet!r}) has no closing '}}'; "
                    f"placeholders are {_listed(allowed, ', ')}, write '{{{{' for a literal brace",
                    zh=f"第 {i + 1} 个字符处的“{{”没有配对的“}}”（“{snippet}”）："
                    f"占位符只能写成 {_listed(allowed)}，如要显示花括号请写成 {{{{",
                )
            if not _NAME.fullmatch(inner) or inner not in allowed:
                shown = "{" + inner + "}"
                raise InvalidInput(
                    f"unknown placeholder {shown} at character {i + 1}; "
                    f"placeholders are {_listed(allowed, ', ')}",
                    zh=f"内容中有无法识别的占位符 {shown}（第 {i + 1} 个字符处），"
                    f"只能使用 {_listed(allowed)}",
                )
            if text:
                pieces.append("".join(text))
                text = []
            pieces.append((inner,))
            i = close + 1
        elif char == "}":
            raise InvalidInput(
                f"the '}}' at character {i + 1} has no opening '{{'; "
                f"placeholders are {_listed(allowed, ', ')}, write '}}}}' for a literal brace",
                zh=f"第 {i + 1} 个字符处的“}}”没有配对的“{{”：占位符只能写成 "
                f"{_listed(allowed)}，如要显示花括号请写成 }}}}",
            )
        else:
            text.append(char)
            i += 1
    if text:
        pieces.append("".join(text))
    return pieces


def placeholders(template: str, allowed: Collection[str]) -> set[str]:
    """The placeholders a template uses (checked as :func:`parse` does)."""
    return {p[0] for p in parse(template, allowed) if isinstance(p, tuple)}


def fill(template: str, values: Mapping[str, object]) -> str:
    """The template with its placeholders replaced by ``values`` (the allowed names).

    Raises:
        InvalidInput: as :func:`parse`.
    """
    return "".join(
        str(values[p[0]]) if isinstance(p, tuple) else p for p in parse(template, values.keys())
    )
