"""Exact money arithmetic for the ledger: decimals in yuan, rounded to the fen.

Rounding is half-up to 0.01 (四舍五入到分), applied once, to the discounted amount.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import attrs

from zhanye_sdk.errors import InvalidInput

__all__ = ["FEN", "Settlement", "parse_money", "parse_rate", "settle"]

FEN = Decimal("0.01")


def parse_money(value: object, what: str = "amount") -> Decimal:
    """A non-negative amount of yuan with at most two decimals ("12.5" → 12.50)."""
    if isinstance(value, float):
        raise InvalidInput(f"{what} must be given as text or an integer, not a float")
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(f"{what} {value!r} is not an amount of money") from exc
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(FEN):
        raise InvalidInput(f"{what} must be ≥ 0 with at most two decimals, got {value!r}")
    return amount.quantize(FEN)


def parse_rate(value: object) -> Decimal:
    """A discount rate in (0, 1]: ``0.88`` means 88 折."""
    if isinstance(value, float):
        raise InvalidInput("a discount rate must be given as text, e.g. '0.88'")
    try:
        rate = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(f"discount rate {value!r} is not a number") from exc
    if not rate.is_finite() or not Decimal(0) < rate <= Decimal(1) or rate.as_tuple().exponent < -4:  # type: ignore[operator]
        raise InvalidInput(f"a discount rate is in (0, 1] with at most 4 decimals, got {value!r}")
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
        InvalidInput: less was paid than is payable.
    """
    payable = (amount * discount).quantize(FEN, rounding=ROUND_HALF_UP)
    if paid < payable:
        raise InvalidInput(f"paid {paid} is less than the payable {payable}")
    return Settlement(amount, discount, payable, paid, paid - payable)
