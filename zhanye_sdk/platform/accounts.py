"""Staff accounts (账号设置): create, edit, delete, disable, reset password, kick out, list."""

from __future__ import annotations

from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from zhanye_sdk.clock import from_ms
from zhanye_sdk.errors import ConflictError, InvalidInput, PermissionDenied, RateLimited
from zhanye_sdk.platform.context import ServiceContext, new_id
from zhanye_sdk.platform.logins import is_home_company, login_taken, sign_in_name
from zhanye_sdk.platform.models import Account, AccountStatus
from zhanye_sdk.platform.permissions import (
    NotAccessible,
    Operation,
    can_manage_account,
    in_org_scope,
    require,
)
from zhanye_sdk.platform.roles import Principal, Role
from zhanye_sdk.platform.validation import (
    check_login,
    check_name,
    check_password,
    normalize_phone,
)
from zhanye_sdk.ratelimit import BucketPolicy
from zhanye_sdk.store.schema import accounts, companies, login_tokens, organizations

__all__ = ["AccountFilter", "AccountPage", "AccountService"]

#: Taken logins an admin may run into: a few at once, then one every three minutes.
_CONFLICT_BUDGET = BucketPolicy(rate=1 / 180, burst=5)


@attrs.frozen
class AccountFilter:
    """The account list's search panel: every field is optional; text fields match parts."""

    login: str | None = None
    name: str | None = None
    phone: str | None = None
    role: Role | None = None
    status: AccountStatus | None = None
    org_id: str | None = None


@attrs.frozen
class AccountPage:
    """One page of the account list and the number of matches overall."""

    items: list[Account]
    total: int


def _live_login(now_ms: int) -> Any:
    return (
        sa.select(login_tokens.c.token_hash)
        .where(login_tokens.c.account_id == accounts.c.id)
        .where(login_tokens.c.revoked_ms.is_(None))
        .where(login_tokens.c.expires_ms > now_ms)
        .exists()
    )


def _account_query(now_ms: int) -> Any:
    return sa.select(
        accounts,
        _live_login(now_ms).label("online"),
        companies.c.code.label("company_code"),
        is_home_company(accounts.c.company_id).label("home_company"),
    ).select_from(accounts.outerjoin(companies, companies.c.id == accounts.c.company_id))


def account_from_row(row: Any) -> Account:
    """Build an ``Account`` from a row of ``_account_query``."""
    if row.disabled:
        status = AccountStatus.DISABLED
    elif row.online:
        status = AccountStatus.ONLINE
    else:
        status = AccountStatus.OFFLINE
    return Account(
        id=row.id,
        company_id=row.company_id,
        org_id=row.org_id,
        login=row.login,
        name=row.name,
        phone=row.phone,
        role=Role(row.role),
        disabled=bool(row.disabled),
        status=status,
        created_at=from_ms(row.created_ms),
        updated_at=from_ms(row.updated_ms),
        sign_in=sign_in_name(row.login, row.company_code, bool(row.home_company)),
        created_by=getattr(row, "created_by_name", None),
    )


def _taken(login: str) -> ConflictError:
    return ConflictError(f"login {login!r} is taken", zh=f"登录账号“{login}”已被使用，请换一个")


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class AccountService:
    """Accounts, managed by admins within their scope (manual §4.7)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    async def _count_conflict(self, actor: Principal) -> None:
        # In the context's limiter: shared by every process of a scale-out deployment.
        wait = await self._ctx.limiter.take(
            f"login-conflict:{actor.account_id}", _CONFLICT_BUDGET, self._ctx.now_ms() / 1000
        )
        if wait is not None:
            raise RateLimited(
                "too many taken logins tried; wait before creating more accounts",
                retry_after_s=wait,
                zh="尝试的登录账号多次已被占用，请稍后再创建账号",
            )

    async def _load(self, conn: Any, account_id: str) -> Account | None:
        query = _account_query(self._ctx.now_ms()).where(accounts.c.id == account_id)
        row = (await conn.execute(query)).first()
        return None if row is None else account_from_row(row)

    async def _managed(self, conn: Any, actor: Principal, account_id: str) -> Account:
        """Load an account the actor may manage, or raise as if it did not exist."""
        account = await self._load(conn, account_id)
        if account is None or not in_org_scope(actor, account.company_id, account.org_id):
            raise NotAccessible("account", account_id)
        if account.id == actor.account_id:
            raise PermissionDenied(
                "use your own account settings to change your own account",
                zh="请在“账号设置”中修改自己的账号",
            )
        if not can_manage_account(actor, account.role, account.company_id, account.org_id):
            raise PermissionDenied(
                f"role {actor.role.value} may not manage {account.role.value} accounts",
                zh="您无权管理这类账号；如需修改，请联系上级管理员",
            )
        return account

    async def _org_company(self, conn: Any, actor: Principal, org_id: str) -> str:
        row = (
            await conn.execute(
                sa.select(organizations.c.company_id).where(organizations.c.id == org_id)
            )
        ).first()
        if row is None or not in_org_scope(actor, row.company_id, org_id):
            raise NotAccessible("organization", org_id)
        return str(row.company_id)

    async def create(
        self,
        actor: Principal,
        *,
        login: str,
        name: str,
        password: str,
        role: Role,
        org_id: str | None = None,
        company_id: str | None = None,
        phone: str | None = None,
    ) -> Account:
        """Create an account the actor may manage.

        Salespeople and org admins belong to an organization (``org_id``); a company
        admin belongs to a company (``company_id``; only the super admin creates one).

        Raises:
            PermissionDenied: the actor may not create accounts of this role.
            NotAccessible: the organization is not in the actor's scope.
            ConflictError: the login is taken.
            InvalidInput: a field is malformed.
        """
        require(actor, Operation.ACCOUNT_CREATE)
        role = Role(role)
        if role is Role.SUPER_ADMIN:
            raise PermissionDenied(
                "super admin accounts are created only by bootstrap",
                zh="不能在此创建超级管理员账号",
            )
        login = check_login(login)
        name = check_name(name)
        check_password(password, login=login)
        phone = normalize_phone(phone) if phone else None
        now = self._ctx.now_ms()
        password_hash = await self._ctx.config.passwords.hash(password)
        try:
            async with self._ctx.db.begin() as conn:
                if role is Role.COMPANY_ADMIN:
                    org_id = None
                    company_id = company_id if actor.role is Role.SUPER_ADMIN else None
                    if company_id is None:
                        raise PermissionDenied(
                            "only the super admin creates company admins",
                            zh="只有超级管理员可以创建公司管理员账号",
                        )
                else:
                    if org_id is None:
                        raise InvalidInput(
                            f"a {role.value} account needs an organization",
                            zh="该角色的账号必须属于一个机构，请先选择机构",
                        )
                    company_id = await self._org_company(conn, actor, org_id)
                if not can_manage_account(actor, role, company_id, org_id):
                    raise PermissionDenied(
                        f"role {actor.role.value} may not create {role.value} accounts",
                        zh="您无权创建这类账号；请选择您可管理的角色",
                    )
                if await login_taken(conn, company_id, login):
                    await self._count_conflict(actor)
                    raise _taken(login)
                account_id = new_id()
                await conn.execute(
                    accounts.insert().values(
                        id=account_id,
                        company_id=company_id,
                        org_id=org_id,
                        login=login,
                        name=name,
                        phone=phone,
                        role=role.value,
                        password_hash=password_hash,
                        disabled=False,
                        created_ms=now,
                        updated_ms=now,
                        created_by=actor.account_id,
                        created_by_name=actor.login or None,
                    )
                )
                created = await self._load(conn, account_id)
        except IntegrityError as exc:
            # Logins are unique within the company (logins.py): a taken one is one of the
            # admin's own company's, never another company's. Many in a row are still
            # slowed down (a script gone wrong, or someone listing the super admin's).
            await self._count_conflict(actor)
            raise _taken(login) from exc
        assert created is not None
        return created

    async def get(self, actor: Principal, account_id: str) -> Account:
        """One account: one's own, or one inside an admin's scope."""
        async with self._ctx.db.connect() as conn:
            account = await self._load(conn, account_id)
        if account is None:
            raise NotAccessible("account", account_id)
        if account.id == actor.account_id:
            return account
        if actor.role not in (Role.ORG_ADMIN, Role.COMPANY_ADMIN, Role.SUPER_ADMIN):
            raise NotAccessible("account", account_id)
        if not in_org_scope(actor, account.company_id, account.org_id):
            raise NotAccessible("account", account_id)
        return account

    async def list(
        self,
        actor: Principal,
        filters: AccountFilter | None = None,
        *,
        offset: int = 0,
        limit: int = 50,
    ) -> AccountPage:
        """The accounts in the actor's scope that match ``filters``, by login."""
        require(actor, Operation.ACCOUNT_LIST)
        filters = filters or AccountFilter()
        if not 1 <= limit <= 500 or offset < 0:
            raise InvalidInput(
                "limit must be 1–500 and offset ≥ 0", zh="每页条数须为 1–500，起始位置不能为负数"
            )
        now = self._ctx.now_ms()
        conditions: list[Any] = []
        if actor.role is not Role.SUPER_ADMIN:
            conditions.append(accounts.c.company_id == actor.company_id)
            if actor.role is Role.ORG_ADMIN:
                conditions.append(accounts.c.org_id == actor.org_id)
        if filters.login:
            conditions.append(accounts.c.login.like(_like(filters.login), escape="\\"))
        if filters.name:
            conditions.append(accounts.c.name.like(_like(filters.name), escape="\\"))
        if filters.phone:
            conditions.append(accounts.c.phone.like(_like(filters.phone), escape="\\"))
        if filters.role:
            conditions.append(accounts.c.role == Role(filters.role).value)
        if filters.org_id:
            conditions.append(accounts.c.org_id == filters.org_id)
        if filters.status is AccountStatus.DISABLED:
            conditions.append(accounts.c.disabled.is_(True))
        elif filters.status is AccountStatus.ONLINE:
            conditions += [accounts.c.disabled.is_(False), _live_login(now)]
        elif filters.status is AccountStatus.OFFLINE:
            conditions += [accounts.c.disabled.is_(False), ~_live_login(now)]
        where = sa.and_(sa.true(), *conditions)
        async with self._ctx.db.connect() as conn:
            total = (
                await conn.execute(sa.select(sa.func.count()).select_from(accounts).where(where))
            ).scalar_one()
            rows = await conn.execute(
                _account_query(now)
                .where(where)
                .order_by(accounts.c.login)
                .offset(offset)
                .limit(limit)
            )
            return AccountPage(items=[account_from_row(r) for r in rows], total=int(total))

    async def edit(
        self,
        actor: Principal,
        account_id: str,
        *,
        name: str | None = None,
        phone: str | None = None,
        role: Role | None = None,
        org_id: str | None = None,
    ) -> Account:
        """Change an account's name, phone, role or organization (within the actor's rights).

        Anyone may change their own name and phone; role and organization changes need
        the right to manage the account both before and after the change.
        """
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = check_name(name)
        if phone is not None:
            values["phone"] = normalize_phone(phone) if phone else None
        async with self._ctx.db.begin() as conn:
            if account_id == actor.account_id:
                if role is not None or org_id is not None:
                    raise PermissionDenied(
                        "nobody may change their own role or organization",
                        zh="不能修改自己的角色或所属机构；如需调整，请联系管理员",
                    )
                current = await self._load(conn, account_id)
                if current is None:
                    raise NotAccessible("account", account_id)
            else:
                require(actor, Operation.ACCOUNT_EDIT)
                current = await self._managed(conn, actor, account_id)
                new_role = Role(role) if role is not None else current.role
                new_org = org_id if org_id is not None else current.org_id
                new_company = current.company_id
                if org_id is not None:
                    new_company = await self._org_company(conn, actor, org_id)
                if not can_manage_account(actor, new_role, new_company, new_org):
                    raise PermissionDenied(
                        f"role {actor.role.value} may not make a {new_role.value} account there",
                        zh="您无权把账号设为该角色或调到该机构；请选择您可管理的角色和机构",
                    )
                if role is not None:
                    values["role"] = new_role.value
                if org_id is not None:
                    values["org_id"] = new_org
                    values["company_id"] = new_company
            if values:
                values["updated_ms"] = self._ctx.now_ms()
                await conn.execute(
                    accounts.update().where(accounts.c.id == account_id).values(**values)
                )
            updated = await self._load(conn, account_id)
        assert updated is not None
        return updated

    async def delete(self, actor: Principal, account_id: str) -> None:
        """Delete an account the actor manages (its logins go with it)."""
        require(actor, Operation.ACCOUNT_DELETE)
        async with self._ctx.db.begin() as conn:
            await self._managed(conn, actor, account_id)
            await conn.execute(login_tokens.delete().where(login_tokens.c.account_id == account_id))
            await conn.execute(accounts.delete().where(accounts.c.id == account_id))
        await self._ctx.announce_revocation(account_id, "deleted")

    async def set_disabled(self, actor: Principal, account_id: str, disabled: bool) -> Account:
        """Disable (revoking every login) or enable an account."""
        require(actor, Operation.ACCOUNT_DISABLE)
        async with self._ctx.db.begin() as conn:
            await self._managed(conn, actor, account_id)
            await conn.execute(
                accounts.update()
                .where(accounts.c.id == account_id)
                .values(disabled=disabled, updated_ms=self._ctx.now_ms())
            )
            if disabled:
                await self._revoke(conn, account_id)
            updated = await self._load(conn, account_id)
        if disabled:
            await self._ctx.announce_revocation(account_id, "disabled")
        assert updated is not None
        return updated

    async def reset_password(self, actor: Principal, account_id: str, new_password: str) -> None:
        """Set a new password for an account the actor manages; its logins are revoked."""
        require(actor, Operation.ACCOUNT_RESET_PASSWORD)
        async with self._ctx.db.connect() as conn:
            target = await self._managed(conn, actor, account_id)
        check_password(new_password, login=target.login)
        password_hash = await self._ctx.config.passwords.hash(new_password)
        async with self._ctx.db.begin() as conn:
            await self._managed(conn, actor, account_id)
            await conn.execute(
                accounts.update()
                .where(accounts.c.id == account_id)
                .values(password_hash=password_hash, updated_ms=self._ctx.now_ms())
            )
            await self._revoke(conn, account_id)
        await self._ctx.announce_revocation(account_id, "password_reset")

    async def kick_out(self, actor: Principal, account_id: str) -> int:
        """Revoke every live login of an account at once (踢出); returns how many.

        Revocation listeners (the signaling layer) close the account's connections.
        """
        require(actor, Operation.ACCOUNT_KICK_OUT)
        async with self._ctx.db.begin() as conn:
            await self._managed(conn, actor, account_id)
            revoked = await self._revoke(conn, account_id)
        await self._ctx.announce_revocation(account_id, "kicked_out")
        return revoked

    async def _revoke(self, conn: Any, account_id: str) -> int:
        result = await conn.execute(
            login_tokens.update()
            .where(login_tokens.c.account_id == account_id)
            .where(login_tokens.c.revoked_ms.is_(None))
            .values(revoked_ms=self._ctx.now_ms())
        )
        return int(result.rowcount or 0)
