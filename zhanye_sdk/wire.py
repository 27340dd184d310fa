"""The one cattrs converter: how SDK data types become JSON-able values and back.

Datetimes travel as ISO 8601 strings with their offset, enums as their values,
service windows as ``{"start": "09:00:00", "end": "12:00:00"}``.
"""

from __future__ import annotations

import enum
import re
from datetime import datetime, time
from decimal import Decimal
from typing import Any, TypeVar

import cattrs

from zhanye_sdk.errors import InvalidInput

__all__ = ["FieldProblem", "converter", "parse_clock_time", "structure", "unstructure"]

T = TypeVar("T")

converter = cattrs.Converter(forbid_extra_keys=True)


def _strict(kind: type) -> Any:
    """Accept only values already of ``kind``: JSON ``"false"`` is not a bool, ``1.5`` no int."""

    def hook(value: Any, _: type) -> Any:
        if type(value) is not kind:
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    return hook


for _kind in (bool, int, str):
    converter.register_structure_hook(_kind, _strict(_kind))


def _structure_str_enum(value: Any, kind: type[enum.StrEnum]) -> enum.StrEnum:
    # StrEnum subclasses str, so without this the strict str hook would claim them.
    if type(value) is not str:
        raise TypeError(f"expected one of {[m.value for m in kind]}, got {type(value).__name__}")
    return kind(value)


converter.register_structure_hook(enum.StrEnum, _structure_str_enum)
converter.register_unstructure_hook(datetime, lambda d: d.isoformat())
converter.register_structure_hook(datetime, lambda v, _: datetime.fromisoformat(v))
converter.register_unstructure_hook(time, lambda t: t.strftime("%H:%M:%S"))
# Money travels as text ("95.50"), never as a float.
converter.register_unstructure_hook(Decimal, str)


_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


def parse_clock_time(text: str) -> time:
    """Parse ``HH:MM`` or ``HH:MM:SS`` (24-hour), the wire form of a wall-clock time.

    Raises:
        InvalidInput: the text is not such a time.
    """
    match = _CLOCK.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise InvalidInput(
            f"time {text!r} is not valid; expected HH:MM:SS, e.g. 09:00:00",
            zh=f"时间“{text}”格式有误，请按 时:分:秒 填写，例如 09:00:00",
        )
    hours, minutes, seconds = match.groups()
    return time(int(hours), int(minutes), int(seconds or 0))


converter.register_structure_hook(time, lambda value, _: parse_clock_time(value))


class FieldProblem(ValueError):
    """Raised by a form's attrs validator: its message names the field and what it must
    be, and ``structure`` reports it as it is."""


def _describe(exc: BaseException, kind: type | None) -> str:
    if isinstance(exc, FieldProblem):
        return str(exc)
    return cattrs.v.format_exception(exc, kind)


def unstructure(value: object) -> Any:
    """``value`` as plain JSON-able data."""
    return converter.unstructure(value)


def structure(data: object, kind: type[T]) -> T:
    """Build a ``kind`` from plain data, or raise ``InvalidInput`` listing every bad field."""
    try:
        return converter.structure(data, kind)
    except cattrs.BaseValidationError as exc:
        problems = "; ".join(cattrs.transform_error(exc, format_exception=_describe)) or str(exc)
        raise InvalidInput(
            f"invalid {kind.__name__}: {problems}", zh=f"提交的内容有误，请检查后重试（{problems}）"
        ) from exc
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidInput(
            f"invalid {kind.__name__}: {exc}", zh=f"提交的内容有误，请检查后重试（{exc}）"
        ) from exc
