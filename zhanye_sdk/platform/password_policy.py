"""The password policy: long enough, not a common password, not the login.

Applied wherever a password is set (bootstrap, account creation, reset by an admin,
change by the owner). The common-password list ships with the SDK
(``data/common-passwords.txt.gz``); it is read once, on first use.
"""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

from zhanye_sdk.errors import InvalidInput

__all__ = ["MAX_LENGTH", "MIN_LENGTH", "check_password", "is_common_password"]

MIN_LENGTH = 8
MAX_LENGTH = 128
_COMMON = Path(__file__).resolve().parent / "data" / "common-passwords.txt.gz"


@functools.cache
def _common_passwords() -> frozenset[str]:
    with gzip.open(_COMMON, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def is_common_password(password: str) -> bool:
    """Whether ``password`` (whatever its case) is on the shipped common-password list."""
    return password.lower() in _common_passwords()


def check_password(password: str, *, login: str | None = None) -> str:
    """Refuse a password that breaks the policy, with a message saying what to change.

    A password is 8–128 characters with at least one letter and one digit, is not on
    the common-password list, and neither equals nor contains the account's login.

    Raises:
        InvalidInput: the password breaks the policy.
    """
    if not isinstance(password, str) or not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(
            f"password must be {MIN_LENGTH}–{MAX_LENGTH} characters",
            zh=f"密码须为 {MIN_LENGTH}–{MAX_LENGTH} 位，请重新输入",
        )
    if not (any(c.isalpha() for c in password) and any(c.isdigit() for c in password)):
        raise InvalidInput(
            "password must contain at least one letter and one digit",
            zh="密码须同时包含字母和数字，请重新输入",
        )
    if login and login.lower() in password.lower():
        raise InvalidInput(
            "password must not contain the login",
            zh="密码不能与登录账号相同，也不能包含登录账号，请换一个密码",
        )
    if is_common_password(password):
        raise InvalidInput(
            "this password is too common and easy to guess; choose another",
            zh="该密码过于常见，容易被猜中，请换一个更不易猜到的密码",
        )
    return password
