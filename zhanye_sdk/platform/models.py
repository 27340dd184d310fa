"""What the platform stores: companies, organizations, accounts."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from zhanye_sdk.platform.hours import ServiceHours
from zhanye_sdk.platform.roles import Role

__all__ = ["Account", "AccountStatus", "Company", "LoginResult", "Organization"]


@attrs.frozen
class Company:
    """A customer of the platform (公司): a bank, an insurer, a broker."""

    id: str
    name: str
    created_at: datetime
    #: 公司代码: its people sign in as ``login@code`` (unless it is the home company).
    code: str = ""


@attrs.frozen
class Organization:
    """A branch of a company (机构), with its service windows."""

    id: str
    company_id: str
    name: str
    hours: ServiceHours
    disabled: bool
    created_at: datetime
    #: 创建人: the login of the account that created it (None: made by set-up).
    created_by: str | None = None
    #: 所属公司: the company's name, where the query read it.
    company_name: str | None = None


class AccountStatus(enum.StrEnum):
    """An account's status as the account list shows it."""

    ONLINE = "online"  # 在线: holds a live login
    OFFLINE = "offline"  # 离线
    DISABLED = "disabled"  # 禁用


@attrs.frozen
class Account:
    """A staff account (the password hash never leaves the store)."""

    id: str
    company_id: str | None
    org_id: str | None
    login: str
    name: str
    phone: str | None
    role: Role
    disabled: bool
    status: AccountStatus
    created_at: datetime
    updated_at: datetime
    #: What the person writes to sign in: the login, or ``login@公司代码`` outside the
    #: home company (see ``zhanye_sdk.platform.logins``).
    sign_in: str = ""
    #: 创建人: the login of the account that created it (None: made by set-up).
    created_by: str | None = None


@attrs.frozen
class LoginResult:
    """A successful login: the opaque token to present and when it expires."""

    token: str
    expires_at: datetime
    account: Account
