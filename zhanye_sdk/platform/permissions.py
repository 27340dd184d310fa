"""The permission table of the manual (§三) and the scope rules, in one place.

Theory of operation: an operation is first checked against the role table (may this
role ever do it?) — refusal is ``PermissionDenied``. Operations on one object are then
checked against the actor's scope (is this object inside what the actor may see?);
an object outside the scope is reported exactly like a missing one
(``NotAccessible``), so ids cannot be probed.
"""

from __future__ import annotations

import enum

from zhanye_sdk.errors import NotFound, PermissionDenied
from zhanye_sdk.platform.roles import Principal, Role

__all__ = [
    "AREAS",
    "NotAccessible",
    "Operation",
    "PERMISSIONS",
    "areas_for",
    "can_manage_account",
    "creatable_roles",
    "in_org_scope",
    "require",
]


class Operation(enum.StrEnum):
    """Everything the platform lets someone do."""

    COMPANY_CREATE = "company.create"
    COMPANY_VIEW = "company.view"
    COMPANY_EDIT = "company.edit"
    ORG_CREATE = "org.create"
    ORG_EDIT = "org.edit"
    ORG_DELETE = "org.delete"
    ORG_DISABLE = "org.disable"
    ORG_VIEW = "org.view"
    ACCOUNT_CREATE = "account.create"
    ACCOUNT_EDIT = "account.edit"
    ACCOUNT_DELETE = "account.delete"
    ACCOUNT_DISABLE = "account.disable"
    ACCOUNT_RESET_PASSWORD = "account.reset_password"
    ACCOUNT_KICK_OUT = "account.kick_out"
    ACCOUNT_LIST = "account.list"
    SESSION_START = "session.start"
    MATERIAL_USE = "material.use"
    MATERIAL_UPLOAD = "material.upload"
    MATERIAL_DELETE = "material.delete"
    MONITORING_VIEW = "monitoring.view"
    SOP_MANAGE = "sop.manage"
    RECORD_MARK_OUTCOME = "record.mark_outcome"


_STAFF = frozenset({Role.SALESPERSON, Role.ORG_ADMIN, Role.COMPANY_ADMIN})
_ADMINS = frozenset({Role.ORG_ADMIN, Role.COMPANY_ADMIN, Role.SUPER_ADMIN})
_COMPANY = frozenset({Role.COMPANY_ADMIN, Role.SUPER_ADMIN})

#: Which roles may perform each operation at all (scope is checked separately).
PERMISSIONS: dict[Operation, frozenset[Role]] = {
    Operation.COMPANY_CREATE: frozenset({Role.SUPER_ADMIN}),
    Operation.COMPANY_VIEW: _STAFF | {Role.SUPER_ADMIN},
    Operation.COMPANY_EDIT: frozenset({Role.SUPER_ADMIN}),
    Operation.ORG_CREATE: _COMPANY,
    Operation.ORG_EDIT: _COMPANY,
    Operation.ORG_DELETE: _COMPANY,
    Operation.ORG_DISABLE: _COMPANY,
    Operation.ORG_VIEW: _STAFF | {Role.SUPER_ADMIN},
    Operation.ACCOUNT_CREATE: _ADMINS,
    Operation.ACCOUNT_EDIT: _ADMINS,
    Operation.ACCOUNT_DELETE: _ADMINS,
    Operation.ACCOUNT_DISABLE: _ADMINS,
    Operation.ACCOUNT_RESET_PASSWORD: _ADMINS,
    Operation.ACCOUNT_KICK_OUT: _ADMINS,
    Operation.ACCOUNT_LIST: _ADMINS,
    Operation.SESSION_START: _STAFF,
    Operation.MATERIAL_USE: _STAFF,
    Operation.MATERIAL_UPLOAD: _STAFF,
    # Uploaders delete their own; admins what lies in their scope (MaterialService).
    Operation.MATERIAL_DELETE: _STAFF,
    # 监控统计: a company admin's company, an org admin's organization (StatsService).
    Operation.MONITORING_VIEW: _ADMINS,
    Operation.SOP_MANAGE: _COMPANY,
    # 是否投保 on a session: its host, or an admin (or integration account) over it.
    Operation.RECORD_MARK_OUTCOME: _STAFF | {Role.SUPER_ADMIN},
}


#: The staff areas (the pages of the staff console, by the manual's names) and the
#: operation each needs; a role that may not perform it has no business on that page.
AREAS: dict[str, Operation] = {
    "workbench": Operation.SESSION_START,  # 工作台
    "records": Operation.SESSION_START,  # 会话记录
    "materials": Operation.MATERIAL_USE,  # 资源管理
    "sop": Operation.SOP_MANAGE,  # SOP管理
    "stats": Operation.MONITORING_VIEW,  # 监控统计
    "accounts": Operation.ACCOUNT_LIST,  # 账号设置
    "organizations": Operation.ORG_VIEW,  # 机构设置
}


def areas_for(actor: Principal) -> list[str]:
    """The staff areas the actor may use, in the console's order."""
    return [area for area, needs in AREAS.items() if actor.role in PERMISSIONS[needs]]


_KIND_ZH = {
    "account": "账号",
    "company": "公司",
    "export": "导出任务",
    "flow": "流程",
    "material": "资源",
    "organization": "机构",
    "script category": "话术分类",
    "QA rule": "质检规则",
    "script": "话术",
    "seat": "席位",
    "session": "会话",
    "template": "模板",
}


class NotAccessible(PermissionDenied, NotFound):
    """The object does not exist, or lies outside the actor's scope (deliberately the same)."""

    def __init__(self, kind: str, object_id: str) -> None:
        super().__init__(
            f"{kind} {object_id!r} not found",
            zh=f"找不到该{_KIND_ZH.get(kind, '内容')}，它可能已被删除，或不在您的权限范围内",
        )
        self.kind = kind
        self.object_id = object_id


def require(actor: Principal, operation: Operation) -> None:
    """Raise ``PermissionDenied`` unless the actor's role may perform ``operation``."""
    if actor.role not in PERMISSIONS[operation]:
        raise PermissionDenied(
            f"role {actor.role.value} may not perform {operation.value}",
            zh="您的角色无权执行此操作；如确需操作，请联系管理员",
        )


def in_org_scope(actor: Principal, company_id: str | None, org_id: str | None) -> bool:
    """Whether an object of ``company_id`` / ``org_id`` is visible to the actor."""
    if actor.role is Role.SUPER_ADMIN:
        return True
    if actor.company_id is None or company_id != actor.company_id:
        return False
    if actor.role is Role.COMPANY_ADMIN:
        return True
    return org_id is not None and org_id == actor.org_id


def creatable_roles(actor: Principal) -> frozenset[Role]:
    """The roles of accounts the actor may create and manage."""
    if actor.role is Role.SUPER_ADMIN:
        return frozenset({Role.COMPANY_ADMIN, Role.ORG_ADMIN, Role.SALESPERSON})
    if actor.role is Role.COMPANY_ADMIN:
        return frozenset({Role.ORG_ADMIN, Role.SALESPERSON})
    if actor.role is Role.ORG_ADMIN:
        return frozenset({Role.SALESPERSON})
    return frozenset()


def can_manage_account(
    actor: Principal, role: Role, company_id: str | None, org_id: str | None
) -> bool:
    """Whether the actor may create or manage an account with this role and place."""
    return role in creatable_roles(actor) and in_org_scope(actor, company_id, org_id)
