"""Exact money arithmetic for the ledger: decimals in yuan, rounded to the fen.

Rounding is half-up to 0.01 (四舍五入到分), applied once, to the discounted amount.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import attrs

from zhanye_sdk.errors import InvalidInput

__all__ = ["FEN", "MAX_AMOUNT", "Settlement", "parse_money", "parse_rate", "settle"]

FEN = Decimal("0.01")
#: The largest amount the desk takes (a unit price, a bill, a payment): 999 999.99 元.
#: A shop's bill is far below it; a longer number is a typing slip.
MAX_AMOUNT = Decimal("999999.99")

# What ``parse_money`` callers name the amount, as the desk says it.
_WHAT_ZH = {"amount": "金额", "unit price": "单价", "paid": "实收金额"}


def parse_money(value: object, what: str = "amount") -> Decimal:
    """A non-negative amount of yuan with at most two decimals ("12.5" → 12.50)."""
    if isinstance(value, float):
        raise InvalidInput(
            f"{what} must be given as text or an integer, not a float",
            zh=f"{_WHAT_ZH.get(what, what)}须以文字或整数填写",
        )
    shown = str(value)[:40]
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(
            f"{what} {shown!r} is not an amount of money",
            zh=f"{_WHAT_ZH.get(what, what)}“{shown}”不是有效金额，请重新输入",
        ) from exc
    if not amount.is_finite() or amount < 0:
        raise InvalidInput(
            f"{what} must be ≥ 0 with at most two decimals, got {shown!r}",
            zh=f"{_WHAT_ZH.get(what, what)}须不小于 0，最多两位小数，当前为“{shown}”",
        )
    # Before any rounding: 1e30 cannot even be rounded to the fen in Decimal's precision.
    if amount > MAX_AMOUNT:
        raise InvalidInput(
            f"{what} {shown!r} is more than {MAX_AMOUNT}",
            zh=f"{_WHAT_ZH.get(what, what)}“{shown}”过大：最多 {MAX_AMOUNT} 元，请核对金额",
        )
    if amount != amount.quantize(FEN):
        raise InvalidInput(
            f"{what} must be ≥ 0 with at most two decimals, got {shown!r}",
            zh=f"{_WHAT_ZH.get(what, what)}须不小于 0，最多两位小数，当前为“{shown}”",
        )
    return amount.quantize(FEN)


def parse_rate(value: object) -> Decimal:
    """A discount rate in (0, 1]: ``0.88`` means 88 折."""
    if isinstance(value, float):
        raise InvalidInput(
            "a discount rate must be given as text, e.g. '0.88'",
            zh="折扣须以文字填写，如 0.88（即 88 折）",
        )
    try:
        rate = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(
            f"discount rate {value!r} is not a number",
            zh=f"折扣“{value}”不是数字，请填写如 0.88（即 88 折）",
        ) from exc
    if not rate.is_finite() or not Decimal(0) < rate <= Decimal(1) or rate.as_tuple().exponent < -4:  # type: ignore[operator]
        raise InvalidInput(
            f"a discount rate is in (0, 1] with at most 4 decimals, got {value!r}",
            zh=f"折扣“{value}”无效：须大于 0 且不超过 1，最多 4 位小数，如 0.88（即 88 折）",
        )
    return rate


@attrs.frozen
class Settlement:
    """What a bill comes to: amount, rate, what is payable, what was paid, the change."""

    amount: Decimal
    discount: Decimal
    payable: Decimal
    paid: Decimal
    change: Decimal


def settle(amount: Decimal, discount: Decimal, paid: Decimal) -> Settlement:
    """Apply the member discount and compute the change.

    Raises:
        InvalidInput: the amount is above :data:`MAX_AMOUNT`, or less was paid than is
            payable.
    """
    if amount > MAX_AMOUNT:
        raise InvalidInput(
            f"the bill comes to {amount}, more than {MAX_AMOUNT}",
            zh=f"账单合计 {amount} 元过大：一张账单最多 {MAX_AMOUNT} 元，请核对数量和单价",
        )
    payable = (amount * discount).quantize(FEN, rounding=ROUND_HALF_UP)
    if paid < payable:
        raise InvalidInput(
            f"paid {paid} is less than the payable {payable}",
            zh=f"实收 {paid} 元少于应付 {payable} 元，请核对金额",
        )
    return Settlement(amount, discount, payable, paid, paid - payable)
