"""The one way an area's signaling messages are decoded: a reader table.

Each area lists its message types and the attrs form each one's data is read into;
``Readers.read`` structures the data with the one cattrs converter (``zhanye_sdk.wire``),
which refuses a field the form does not have and a value of the wrong type. Every such
refusal is an ``InvalidInput``: over the socket the endpoint answers it with the error
frame of the one error table (``invalid_input``), exactly what HTTP answers for the same
bad body. A form checks its values' ranges in attrs validators, which the converter
reports the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.signaling.envelope import ClientMessage
from zhanye_sdk.wire import FieldProblem, structure

__all__ = ["Empty", "Readers", "text_of", "whole_number_in"]


@attrs.frozen
class Empty:
    """A message that carries no data."""


@attrs.frozen
class Readers:
    """An area's reader table: message type → the attrs form of its data.

    Args:
        area: the area (``sop``, ``media`` …): every type starts with ``<area>.``.
        forms: the forms by message type.
    """

    area: str
    forms: Mapping[str, type[Any]]

    def __attrs_post_init__(self) -> None:
        stray = [t for t in self.forms if not t.startswith(f"{self.area}.")]
        if stray:
            raise ValueError(f"not {self.area}.* messages: {stray}")

    def read(self, message: ClientMessage) -> Any:
        """The message's data as its form.

        Raises:
            InvalidInput: an unknown type, or data with a field the form does not have,
                one missing, of the wrong type or out of range.
        """
        form = self.forms.get(message.type)
        if form is None:
            known = ", ".join(sorted(self.forms))
            raise InvalidInput(
                f"unknown message {message.type!r}; expected one of {known}",
                zh=f"不支持的消息 {message.type}",
            )
        return structure(message.data, form)


def text_of(limit: int, *, empty: bool = False) -> Any:
    """An attrs validator: text of at most ``limit`` characters (not empty unless allowed)."""

    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None:
            return
        if not isinstance(value, str) or len(value) > limit or (not empty and not value):
            raise FieldProblem(f"{attribute.name} must be text of 1..{limit} characters")

    return check


def whole_number_in(low: int, high: int) -> Any:
    """An attrs validator: a whole number in ``low..high`` (``None`` passes)."""

    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None:
            return
        if type(value) is not int or not low <= value <= high:
            raise FieldProblem(f"{attribute.name} must be a whole number in {low}..{high}")

    return check
