"""Checks on what people type: logins, names, phone numbers, passwords."""

from __future__ import annotations

import re

from zhanye_sdk.errors import InvalidInput

__all__ = ["check_login", "check_name", "check_password", "normalize_phone"]

_LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{2,31}$")
_MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")


def check_login(login: str) -> str:
    """A login is 3–32 letters, digits, ``_``, ``.`` or ``-``, starting with a letter or digit."""
    if not isinstance(login, str) or not _LOGIN.match(login):
        raise InvalidInput(
            f"login {login!r} is not valid; use 3–32 letters, digits, '_', '.' or '-'"
        )
    return login


def check_name(name: str, *, what: str = "name", limit: int = 64) -> str:
    """A display name: 1–``limit`` characters after trimming, no control characters."""
    if not isinstance(name, str):
        raise InvalidInput(f"{what} must be text")
    trimmed = name.strip()
    if not trimmed or len(trimmed) > limit:
        raise InvalidInput(f"{what} must be 1–{limit} characters, got {len(trimmed)}")
    if any(ord(c) < 32 for c in trimmed):
        raise InvalidInput(f"{what} must not contain control characters")
    return trimmed


def normalize_phone(phone: str) -> str:
    """A mainland mobile number (11 digits) or an E.164 number (``+`` and 8–15 digits).

    Spaces and dashes are dropped; ``+86`` before a mainland mobile number is kept.
    """
    if not isinstance(phone, str):
        raise InvalidInput("phone must be text")
    compact = re.sub(r"[\s\-]", "", phone)
    if _MAINLAND_MOBILE.match(compact) or _E164.match(compact):
        return compact
    raise InvalidInput(
        f"phone {phone!r} is not valid; expected a mainland mobile number such as "
        "13800138000 or an international number such as +8613800138000"
    )


def check_password(password: str) -> str:
    """A password is 8–128 characters with at least one letter and one digit."""
    if not isinstance(password, str) or not 8 <= len(password) <= 128:
        raise InvalidInput("password must be 8–128 characters")
    if not (any(c.isalpha() for c in password) and any(c.isdigit() for c in password)):
        raise InvalidInput("password must contain at least one letter and one digit")
    return password
