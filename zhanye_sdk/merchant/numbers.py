"""Phone numbers as the desk keeps them: one customer, one spelling.

``+86 139-1234-5678``, ``0086 13912345678``, ``8613912345678`` and ``13912345678`` are
the same mobile; ``+86 21 8888 6666`` is the landline ``02188886666``. Lists typed
into the bulk-SMS box may be separated by spaces, new lines, commas (also the Chinese
``，``), ``、`` or semicolons.
"""

from __future__ import annotations

import re

from zhanye_sdk.errors import InvalidInput

__all__ = ["is_mobile", "normalize_number", "sms_numbers", "split_list"]

_NUMBER = re.compile(r"^\+?\d{3,20}$")
_SEPARATORS = re.compile(r"[\n\r,，、;；]+")
_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_INTERNATIONAL = re.compile(r"^\+[1-9]\d{6,14}$")


def normalize_number(phone: str) -> str:
    """The number as the desk stores it: separators dropped, China's country code
    (+86, 0086) replaced by the national form.

    Raises:
        InvalidInput: not a phone number.
    """
    compact = re.sub(r"[\s\-().\u3000]", "", str(phone))
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not _NUMBER.match(compact):
        raise InvalidInput(
            f"{phone!r} is not a phone number",
            zh=f"“{phone}”不是有效的电话号码，请检查后重新输入",
        )
    if compact.startswith("+86") and len(compact) > 6:
        national = compact[3:]
        return national if _CN_MOBILE.match(national) else "0" + national.lstrip("0")
    if compact.startswith("86") and _CN_MOBILE.match(compact[2:]):
        return compact[2:]
    return compact


def split_list(text: str) -> list[str]:
    """Numbers typed in one box: split on new lines, ``,`` ``，`` ``、`` ``;`` ``；``; and
    on spaces too, unless the spaces group the digits of one number (139 1234 5678)."""
    items: list[str] = []
    for piece in _SEPARATORS.split(text):
        piece = piece.strip()
        if not piece:
            continue
        try:
            normalize_number(piece)
        except InvalidInput:
            items += piece.split()
        else:
            items.append(piece)
    return items


def is_mobile(number: str) -> bool:
    """Whether a stored (normalised) number can get an SMS: a Chinese mobile or an
    international ``+`` number; a landline cannot."""
    return bool(_CN_MOBILE.match(number) or _INTERNATIONAL.match(number))


def sms_numbers(typed: list[str]) -> list[str]:
    """Mobile numbers that can get an SMS, normalised, once each, in the order typed;
    each entry may hold several numbers (see :func:`split_list`).

    Raises:
        InvalidInput: listing every entry that is not a mobile number (a Chinese mobile
            of 11 digits starting with 1, or an international ``+`` number).
    """
    good: list[str] = []
    bad: list[str] = []
    for item in (piece for entry in typed for piece in split_list(entry)):
        try:
            number = normalize_number(item)
        except InvalidInput:
            bad.append(item)
            continue
        if not (_CN_MOBILE.match(number) or _INTERNATIONAL.match(number)):
            bad.append(item)
        elif number not in good:
            good.append(number)
    if bad:
        listed = "、".join(bad[:50]) + ("…" if len(bad) > 50 else "")
        raise InvalidInput(
            f"{len(bad)} entries are not mobile numbers: {', '.join(bad[:50])}",
            zh=f"以下 {len(bad)} 个号码不是有效的手机号，请改正或删除后再试：{listed}",
        )
    return good
