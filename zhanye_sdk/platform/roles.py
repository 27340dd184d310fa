"""Roles and the acting principal every platform operation takes."""

from __future__ import annotations

import enum

import attrs

__all__ = ["Principal", "Role"]


class Role(enum.StrEnum):
    """Account roles of the manual's table (§三), plus the platform's bootstrap admin."""

    SALESPERSON = "salesperson"  # 业务员
    ORG_ADMIN = "org_admin"  # 机构管理员
    COMPANY_ADMIN = "company_admin"  # 公司管理员
    SUPER_ADMIN = "super_admin"  # 平台超级管理员 (bootstrap only)


@attrs.frozen
class Principal:
    """Who is acting: an authenticated account with its role and scope.

    Obtain one from ``AuthService.authenticate``; hosts never build it from client data.
    """

    account_id: str
    role: Role
    company_id: str | None
    org_id: str | None
    login: str = ""
    #: The login this principal acts under (its token's stored hash) and when that login
    #: expires, in ms; not part of who the principal is (equality ignores them).
    login_id: str | None = attrs.field(default=None, eq=False, repr=False)
    login_expires_ms: int | None = attrs.field(default=None, eq=False, repr=False)
