"""Checks on what people type: logins, names, phone numbers, passwords."""

from __future__ import annotations

import re

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.platform import password_policy

__all__ = ["check_login", "check_name", "check_password", "normalize_phone"]

_LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{2,31}$")
_MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")

# What ``check_name`` callers name their field, as pages say it.
_WHAT_ZH = {
    "name": "姓名",
    "category name": "分类名称",
    "company name": "公司名称",
    "flow name": "流程名称",
    "link title": "链接标题",
    "material name": "资源名称",
    "organization name": "机构名称",
    "project": "项目名称",
    "rule name": "规则名称",
    "script name": "话术名称",
    "template name": "模板名称",
    "title": "会议主题",
}


def check_login(login: str) -> str:
    """A login is 3–32 letters, digits, ``_``, ``.`` or ``-``, starting with a letter or digit."""
    if not isinstance(login, str) or not _LOGIN.match(login):
        raise InvalidInput(
            f"login {login!r} is not valid; use 3–32 letters, digits, '_', '.' or '-'",
            zh=f"登录账号“{login}”无效：请使用 3–32 位字母、数字、“_”“.”或“-”，并以字母或数字开头",
        )
    return login


def check_name(name: str, *, what: str = "name", limit: int = 64) -> str:
    """A display name: 1–``limit`` characters after trimming, no control characters."""
    what_zh = _WHAT_ZH.get(what, "名称")
    if not isinstance(name, str):
        raise InvalidInput(f"{what} must be text", zh=f"{what_zh}必须是文字")
    trimmed = name.strip()
    if not trimmed or len(trimmed) > limit:
        raise InvalidInput(
            f"{what} must be 1–{limit} characters, got {len(trimmed)}",
            zh=f"{what_zh}须为 1–{limit} 个字符，当前为 {len(trimmed)} 个，请修改后再提交",
        )
    if any(ord(c) < 32 for c in trimmed):
        raise InvalidInput(
            f"{what} must not contain control characters",
            zh=f"{what_zh}不能包含换行等控制字符，请删除后再提交",
        )
    return trimmed


def normalize_phone(phone: str) -> str:
    """A mainland mobile number (11 digits) or an E.164 number (``+`` and 8–15 digits).

    Spaces and dashes are dropped; ``+86`` before a mainland mobile number is kept.
    """
    if not isinstance(phone, str):
        raise InvalidInput("phone must be text", zh="手机号必须是文字")
    compact = re.sub(r"[\s\-]", "", phone)
    if _MAINLAND_MOBILE.match(compact) or _E164.match(compact):
        return compact
    raise InvalidInput(
        f"phone {phone!r} is not valid; expected a mainland mobile number such as "
        "13800138000 or an international number such as +8613800138000",
        zh=f"手机号“{phone}”无效：请填写 11 位大陆手机号（如 13800138000），"
        "或带国际区号的号码（如 +8613800138000）",
    )


def check_password(password: str, *, login: str | None = None) -> str:
    """A password that follows the policy (``password_policy.check_password``)."""
    return password_policy.check_password(password, login=login)
