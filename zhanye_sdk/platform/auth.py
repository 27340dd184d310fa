"""Logging in and out: passwords, opaque login tokens, throttling, bootstrap."""

from __future__ import annotations

import hashlib
import logging
import random
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from zhanye_sdk.clock import from_ms
from zhanye_sdk.errors import (
    AccountDisabled,
    AuthenticationFailed,
    ConflictError,
    LoginThrottled,
    RateLimited,
)
from zhanye_sdk.platform.accounts import _account_query, account_from_row
from zhanye_sdk.platform.context import ServiceContext, new_id
from zhanye_sdk.platform.login_end import EndReason, LoginsEnded
from zhanye_sdk.platform.logins import home_company, login_taken, sign_in_condition, split_sign_in
from zhanye_sdk.platform.models import Account, LoginResult
from zhanye_sdk.platform.roles import Principal, Role
from zhanye_sdk.platform.throttle import retry_after
from zhanye_sdk.platform.validation import check_login, check_name, check_password
from zhanye_sdk.store.schema import (
    accounts,
    companies,
    login_failures,
    login_tokens,
    organizations,
)

__all__ = ["AccountDisabled", "AuthService", "AuthenticationFailed", "LoginThrottled"]

_log = logging.getLogger(__name__)
_BUSY_RETRIES = 8
T = TypeVar("T")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


#: A login with its account and the account's organization (none for company staff).
_LOGIN_ACCOUNT_ORG = login_tokens.join(accounts).outerjoin(
    organizations, organizations.c.id == accounts.c.org_id
)


class AuthService:
    """Turns credentials into login tokens and tokens into principals."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx
        self._dummy_hash: str | None = None

    async def bootstrap_super_admin(self, login: str, password: str, name: str) -> Account:
        """Create the platform's super admin; refused once one exists.

        Raises:
            ConflictError: a super admin exists already.
        """
        login = check_login(login)
        name = check_name(name)
        check_password(password, login=login)
        password_hash = await self._ctx.config.passwords.hash(password)
        now = self._ctx.now_ms()
        async with self._ctx.db.begin() as conn:
            exists = (
                await conn.execute(
                    sa.select(accounts.c.id).where(accounts.c.role == Role.SUPER_ADMIN.value)
                )
            ).first()
            if exists is not None:
                raise ConflictError("a super admin exists already", zh="超级管理员已存在")
            if await login_taken(conn, None, login):
                raise ConflictError(
                    f"login {login!r} is taken", zh=f"登录账号“{login}”已被使用，请换一个"
                )
            account_id = new_id()
            await conn.execute(
                accounts.insert().values(
                    id=account_id,
                    company_id=None,
                    org_id=None,
                    login=login,
                    name=name,
                    phone=None,
                    role=Role.SUPER_ADMIN.value,
                    password_hash=password_hash,
                    disabled=False,
                    created_ms=now,
                    updated_ms=now,
                )
            )
            row = (await conn.execute(_account_query(now).where(accounts.c.id == account_id))).one()
        return account_from_row(row)

    async def _throttle_keys(self, login: str, client_address: str | None) -> list[tuple[str, Any]]:
        keys = [(f"account:{await self._one_name(login)}", self._ctx.config.account_throttle)]
        if client_address:
            keys.append((f"address:{client_address[:100]}", self._ctx.config.address_throttle))
        return keys

    async def _one_name(self, sign_in: str) -> str:
        """One name per account for counting attempts: the home company's people sign in
        bare or as ``login@code``, and both count against the same budget."""
        name, code = split_sign_in(sign_in.lower()[:100])
        if code is None:
            return name
        async with self._ctx.db.connect() as conn:
            home_code = (
                await conn.execute(
                    sa.select(companies.c.code).where(companies.c.id == home_company())
                )
            ).scalar()
        return name if code == home_code else f"{name}@{code}"

    async def _reserve_attempt(self, keys: list[tuple[str, Any]], now: int) -> list[int]:
        """Count this attempt as a failure before checking the password, atomically with
        the check of the earlier failures; returns the rows to clear if it succeeds.

        Checking first and recording after the (slow) hash let parallel guesses all be
        evaluated; here the check and the record are one transaction that holds each
        key's lock, so at most ``policy.limit`` attempts per window are ever evaluated.

        Raises:
            LoginThrottled: a key is locked.
        """

        async def reserve(conn: Any) -> list[int]:
            if self._ctx.db.dialect == "postgresql":
                for key in sorted(k for k, _ in keys):
                    await conn.execute(
                        sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(key)))
                    )
            # On SQLite the insert comes first: the transaction then holds the database's
            # write lock, so no other attempt can slip in between the count and the record.
            ids: list[int] = []
            for key, _ in keys:
                inserted = await conn.execute(login_failures.insert().values(key=key, at_ms=now))
                ids.append(int(inserted.inserted_primary_key[0]))
            for key, policy in keys:
                since = now - int(policy.window_s * 1000)
                times = [
                    r.at_ms
                    for r in await conn.execute(
                        sa.select(login_failures.c.at_ms)
                        .where(login_failures.c.key == key)
                        .where(login_failures.c.at_ms > since)
                        .where(login_failures.c.id.not_in(ids))
                    )
                ]
                wait = retry_after(times, now, policy)
                if wait is not None:
                    raise LoginThrottled(wait)
            longest = max(int(policy.window_s * 1000) for _, policy in keys)
            await conn.execute(
                login_failures.delete().where(login_failures.c.at_ms < now - longest)
            )
            return ids

        return await self._write(reserve)

    async def _write(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """Run ``work`` in a transaction, retrying while the database is busy.

        Many logins at once contend for the database (SQLite has one writer); a busy
        database must cost a retry, not an internal error.

        Raises:
            RateLimited: the database stayed busy; the client tries again shortly.
        """
        for attempt in range(_BUSY_RETRIES):
            try:
                async with self._ctx.db.begin() as conn:
                    return await work(conn)
            except OperationalError as exc:
                _log.info("login store busy (attempt %d): %s", attempt + 1, exc.orig)
                await anyio.sleep(random.uniform(0.02, 0.05 * 2**attempt))
        raise RateLimited(
            "the server is busy; try again in a moment",
            retry_after_s=1.0,
            zh="服务器繁忙，请稍后再试",
        )

    async def login(
        self, login: str, password: str, *, client_address: str | None = None
    ) -> LoginResult:
        """Check a login and password and issue an opaque, expiring login token.

        ``login`` is what the person writes: the bare login in the home company (and
        for the platform's accounts), ``login@公司代码`` in any other (``logins.py``).

        Every attempt is counted against the account and the client address before the
        password is checked (and forgotten again when it is right), so parallel guesses
        cannot outrun the throttle.

        Raises:
            LoginThrottled: too many recent failures for the account or the address.
            AuthenticationFailed: wrong login or password (one message for both), or the
                account or its organization is disabled.
            RateLimited: the database is too busy to count the attempt.
        """
        if not isinstance(login, str) or not isinstance(password, str):
            raise AuthenticationFailed(
                "login or password is wrong", zh="账号或密码错误，请重新输入"
            )
        now = self._ctx.now_ms()
        keys = await self._throttle_keys(login, client_address)
        reserved = await self._reserve_attempt(keys, now)
        async with self._ctx.db.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(accounts, organizations.c.disabled.label("org_disabled"))
                    .select_from(accounts.outerjoin(organizations))
                    .where(sign_in_condition(login))
                )
            ).first()
        if self._dummy_hash is None:
            self._dummy_hash = await self._ctx.config.passwords.hash(secrets.token_hex(8))
        # Verify against a dummy hash for unknown logins, so timing does not reveal them.
        encoded = row.password_hash if row is not None else self._dummy_hash
        matches = await self._ctx.config.passwords.verify(encoded, password)
        if row is None or not matches:
            raise AuthenticationFailed(
                "login or password is wrong", zh="账号或密码错误，请重新输入"
            )

        async def forget_attempt(conn: Any) -> None:
            await conn.execute(login_failures.delete().where(login_failures.c.id.in_(reserved)))

        if row.disabled or row.org_disabled:
            await self._write(forget_attempt)
            if row.disabled:
                raise AccountDisabled(
                    "this account is disabled; ask an administrator",
                    zh="该账号已被停用，请联系管理员",
                )
            raise AccountDisabled(
                "this account's organization is disabled",
                zh="该账号所属机构已被停用，请联系管理员",
            )
        token = secrets.token_urlsafe(32)
        expires = now + int(self._ctx.config.token_ttl_s * 1000)

        async def issue(conn: Any) -> Any:
            await forget_attempt(conn)
            await conn.execute(
                login_tokens.insert().values(
                    token_hash=_token_hash(token),
                    account_id=row.id,
                    created_ms=now,
                    expires_ms=expires,
                    revoked_ms=None,
                    client_address=client_address,
                )
            )
            await conn.execute(login_failures.delete().where(login_failures.c.key == keys[0][0]))
            return (await conn.execute(_account_query(now).where(accounts.c.id == row.id))).one()

        account_row = await self._write(issue)
        return LoginResult(
            token=token, expires_at=from_ms(expires), account=account_from_row(account_row)
        )

    async def authenticate(self, token: str) -> Principal:
        """The principal a login token stands for.

        Raises:
            AuthenticationFailed: the token is unknown, expired or revoked, or its account
                or organization has been disabled since.
        """
        if not isinstance(token, str) or not token or len(token) > 256:
            raise AuthenticationFailed(
                "login expired or revoked; log in again", zh="登录已过期或已失效，请重新登录"
            )
        now = self._ctx.now_ms()
        async with self._ctx.db.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(
                        accounts.c.id,
                        accounts.c.role,
                        accounts.c.company_id,
                        accounts.c.org_id,
                        accounts.c.login,
                        accounts.c.disabled,
                        organizations.c.disabled.label("org_disabled"),
                        login_tokens.c.expires_ms,
                    )
                    .select_from(_LOGIN_ACCOUNT_ORG)
                    .where(login_tokens.c.token_hash == _token_hash(token))
                    .where(login_tokens.c.revoked_ms.is_(None))
                    .where(login_tokens.c.expires_ms > now)
                )
            ).first()
        if row is None or row.disabled or row.org_disabled:
            raise AuthenticationFailed(
                "login expired or revoked; log in again", zh="登录已过期或已失效，请重新登录"
            )
        return Principal(
            account_id=row.id,
            role=Role(row.role),
            company_id=row.company_id,
            org_id=row.org_id,
            login=row.login,
            login_id=_token_hash(token),
            login_expires_ms=int(row.expires_ms),
        )

    async def end_reason(self, token: str) -> str | None:
        """Why the login ``token`` no longer stands, when that can still be told: its
        account or organization disabled, or the login expired (an ``EndReason``);
        ``None`` for a login that stands, was revoked, or is unknown."""
        if not isinstance(token, str) or not token or len(token) > 256:
            return None
        async with self._ctx.db.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(
                        accounts.c.disabled,
                        organizations.c.disabled.label("org_disabled"),
                        login_tokens.c.expires_ms,
                        login_tokens.c.revoked_ms,
                    )
                    .select_from(_LOGIN_ACCOUNT_ORG)
                    .where(login_tokens.c.token_hash == _token_hash(token))
                )
            ).first()
        if row is None:
            return None
        if row.disabled:
            return EndReason.DISABLED.value
        if row.org_disabled:
            return EndReason.ORG_DISABLED.value
        if row.revoked_ms is None and row.expires_ms <= self._ctx.now_ms():
            return EndReason.EXPIRED.value
        return None

    def now_ms(self) -> int:
        """The platform clock's time in ms (logins expire by it)."""
        return self._ctx.now_ms()

    async def login_is_live(self, login_id: str) -> bool:
        """Whether the login ``login_id`` (``Principal.login_id``) still stands: not
        logged out, expired or revoked, its account and organization enabled."""
        now = self._ctx.now_ms()
        async with self._ctx.db.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(accounts.c.disabled, organizations.c.disabled.label("org_disabled"))
                    .select_from(_LOGIN_ACCOUNT_ORG)
                    .where(login_tokens.c.token_hash == login_id)
                    .where(login_tokens.c.revoked_ms.is_(None))
                    .where(login_tokens.c.expires_ms > now)
                )
            ).first()
        return row is not None and not row.disabled and not row.org_disabled

    async def logout(self, token: str) -> None:
        """End one login (unknown tokens are ignored); its sockets close at once."""
        login_id = _token_hash(token)
        async with self._ctx.db.begin() as conn:
            row = (
                await conn.execute(
                    sa.select(login_tokens.c.account_id)
                    .where(login_tokens.c.token_hash == login_id)
                    .where(login_tokens.c.revoked_ms.is_(None))
                )
            ).first()
            await conn.execute(
                login_tokens.update()
                .where(login_tokens.c.token_hash == login_id)
                .where(login_tokens.c.revoked_ms.is_(None))
                .values(revoked_ms=self._ctx.now_ms())
            )
        if row is not None:
            await self._ctx.announce_logins_ended(
                LoginsEnded(row.account_id, EndReason.LOGGED_OUT, frozenset({login_id}))
            )

    async def change_password(self, actor: Principal, old_password: str, new_password: str) -> None:
        """Change one's own password; every other login of the account ends (its sockets
        close), the one that made the change stays."""
        check_password(new_password, login=actor.login)
        async with self._ctx.db.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(accounts.c.password_hash).where(accounts.c.id == actor.account_id)
                )
            ).first()
        if row is None or not await self._ctx.config.passwords.verify(
            row.password_hash, old_password
        ):
            raise AuthenticationFailed(
                "the current password is wrong", zh="当前密码不正确，请重新输入"
            )
        password_hash = await self._ctx.config.passwords.hash(new_password)
        now = self._ctx.now_ms()
        async with self._ctx.db.begin() as conn:
            await conn.execute(
                accounts.update()
                .where(accounts.c.id == actor.account_id)
                .values(password_hash=password_hash, updated_ms=now)
            )
            others = (
                login_tokens.update()
                .where(login_tokens.c.account_id == actor.account_id)
                .where(login_tokens.c.revoked_ms.is_(None))
            )
            if actor.login_id is not None:
                others = others.where(login_tokens.c.token_hash != actor.login_id)
            await conn.execute(others.values(revoked_ms=now))
        await self._ctx.announce_logins_ended(
            LoginsEnded(actor.account_id, EndReason.PASSWORD_CHANGED, kept=actor.login_id)
        )
