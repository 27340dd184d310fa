"""The administration API (JSON over HTTP) behind the admin pages.

Every request after login carries ``Authorization: Bearer <token>``; the token is
turned into a ``Principal`` by the platform, and every rule is enforced by the
services — this module only translates between HTTP and the SDK.
"""

from __future__ import annotations

from typing import Any

import attrs

from zhanye_sdk.api.http import ApiRequest, ApiResponse, Router, bearer_token
from zhanye_sdk.capability import BaseCapability
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.facade import Platform
from zhanye_sdk.platform.accounts import AccountFilter
from zhanye_sdk.platform.hours import ServiceHours, ServiceWindow
from zhanye_sdk.platform.models import AccountStatus, Organization
from zhanye_sdk.platform.permissions import PERMISSIONS, areas_for, creatable_roles
from zhanye_sdk.platform.roles import Principal, Role
from zhanye_sdk.wire import structure, unstructure

__all__ = ["AdminApi", "AdminCapability"]


@attrs.frozen
class LoginForm:
    login: str
    password: str


@attrs.frozen
class WindowForm:
    start: str
    end: str


@attrs.frozen
class HoursForm:
    morning: WindowForm | None = None
    afternoon: WindowForm | None = None
    #: None keeps the organization's zone (a new one gets the platform's default).
    timezone: str | None = None

    def hours(self, default_zone: str) -> ServiceHours:
        def window(form: WindowForm | None) -> ServiceWindow | None:
            return None if form is None else ServiceWindow.parse(form.start, form.end)

        zone = self.timezone or default_zone
        return ServiceHours(window(self.morning), window(self.afternoon), zone)


def _org(org: Organization) -> dict[str, Any]:
    data: dict[str, Any] = unstructure(org)
    # Unset windows are closed unless none is set: the page says which (全天 / 休息).
    data["hours"]["all_day"] = org.hours.all_day
    for part in ("morning", "afternoon"):
        window = getattr(org.hours, part)
        if window is not None:
            data["hours"][part]["overnight"] = window.overnight
    return data


@attrs.frozen
class OrgCreateForm:
    name: str
    hours: HoursForm | None = None
    company_id: str | None = None


@attrs.frozen
class OrgEditForm:
    name: str | None = None
    hours: HoursForm | None = None


@attrs.frozen
class AccountCreateForm:
    login: str
    name: str
    password: str
    role: Role
    org_id: str | None = None
    company_id: str | None = None
    phone: str | None = None


@attrs.frozen
class AccountEditForm:
    name: str | None = None
    phone: str | None = None
    role: Role | None = None
    org_id: str | None = None


@attrs.frozen
class CompanyEditForm:
    code: str


@attrs.frozen
class DisableForm:
    disabled: bool


@attrs.frozen
class PasswordForm:
    password: str


@attrs.frozen
class PasswordChangeForm:
    old_password: str
    new_password: str


def _int(query: dict[str, str] | Any, name: str, default: int) -> int:
    value = query.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise InvalidInput(f"{name} must be a whole number, got {value!r}") from exc


class AdminApi:
    """Login, accounts and organizations over JSON (mount under ``/api``)."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.router = Router()
        r = self.router.add
        r("POST", "/api/login", self.login)
        r("POST", "/api/logout", self.logout)
        r("GET", "/api/me", self.me)
        r("POST", "/api/me/password", self.change_password)
        r("GET", "/api/companies", self.list_companies)
        r("PATCH", "/api/companies/{company_id}", self.edit_company)
        r("GET", "/api/organizations", self.list_orgs)
        r("POST", "/api/organizations", self.create_org)
        r("PATCH", "/api/organizations/{org_id}", self.edit_org)
        r("DELETE", "/api/organizations/{org_id}", self.delete_org)
        r("POST", "/api/organizations/{org_id}/disable", self.disable_org)
        r("GET", "/api/accounts", self.list_accounts)
        r("POST", "/api/accounts", self.create_account)
        r("GET", "/api/accounts/{account_id}", self.get_account)
        r("PATCH", "/api/accounts/{account_id}", self.edit_account)
        r("DELETE", "/api/accounts/{account_id}", self.delete_account)
        r("POST", "/api/accounts/{account_id}/disable", self.disable_account)
        r("POST", "/api/accounts/{account_id}/reset-password", self.reset_password)
        r("POST", "/api/accounts/{account_id}/kick-out", self.kick_out)

    async def handle(self, request: ApiRequest) -> ApiResponse:
        """Answer one request."""
        return await self.router.dispatch(request)

    @staticmethod
    def token_of(request: ApiRequest) -> str:
        """The bearer token of a request, or raise 401."""
        return bearer_token(request)

    async def actor(self, request: ApiRequest) -> Principal:
        """The principal behind a request's token."""
        return await self.platform.auth.authenticate(self.token_of(request))

    async def login(self, request: ApiRequest) -> ApiResponse:
        form = structure(request.json(), LoginForm)
        result = await self.platform.auth.login(
            form.login, form.password, client_address=request.client_address
        )
        return ApiResponse.of_json(unstructure(result))

    async def logout(self, request: ApiRequest) -> ApiResponse:
        await self.platform.auth.logout(self.token_of(request))
        return ApiResponse.of_json({"ok": True})

    async def me(self, request: ApiRequest) -> ApiResponse:
        actor = await self.actor(request)
        account = await self.platform.accounts.get(actor, actor.account_id)
        data = unstructure(account)
        data["manageable_roles"] = sorted(r.value for r in creatable_roles(actor))
        data["operations"] = sorted(
            op.value for op, roles in PERMISSIONS.items() if actor.role in roles
        )
        data["areas"] = areas_for(actor)
        data["timezone"] = await self.platform.organizations.timezone_of(actor)
        return ApiResponse.of_json(data)

    async def change_password(self, request: ApiRequest) -> ApiResponse:
        actor = await self.actor(request)
        form = structure(request.json(), PasswordChangeForm)
        await self.platform.auth.change_password(actor, form.old_password, form.new_password)
        return ApiResponse.of_json({"ok": True})

    async def list_companies(self, request: ApiRequest) -> ApiResponse:
        actor = await self.actor(request)
        found = await self.platform.companies.list(actor)
        return ApiResponse.of_json({"items": [unstructure(c) for c in found]})

    async def edit_company(self, request: ApiRequest, company_id: str) -> ApiResponse:
        actor = await self.actor(request)
        form = structure(request.json(), CompanyEditForm)
        company = await self.platform.companies.set_code(actor, company_id, form.code)
        return ApiResponse.of_json(unstructure(company))

    async def list_orgs(self, request: ApiRequest) -> ApiResponse:
        actor = await self.actor(request)
        orgs = await self.platform.organizations.list(actor)
        return ApiResponse.of_json({"items": [_org(o) for o in orgs]})

    async def create_org(self, request: ApiRequest) -> ApiResponse:
        actor = await self.actor(request)
        form = structure(request.json(), OrgCreateForm)
        zone = self.platform.organizations.default_timezone
        org = await self.platform.organizations.create(
            actor,
            form.name,
            hours=form.hours.hours(zone) if form.hours else None,
            company_id=form.company_id,
        )
        return ApiResponse.of_json(_org(org), 201)

    async def edit_org(self, request: ApiRequest, org_id: str) -> ApiResponse:
        actor = await self.actor(request)
        form = structure(request.json(), OrgEditForm)
        hours = None
        if form.hours is not None:
            current = await self.platform.organizations.get(actor, org_id)
            hours = form.hours.hours(current.hours.timezone)
        org = await self.platform.organizations.edit(actor, org_id, name=form.name, hours=hours)
        return ApiResponse.of_json(_org(org))

    async def delete_org(self, request: ApiRequest, org_id: str) -> ApiResponse:
        actor = await self.actor(request)
        await self.platform.organizations.delete(actor, org_id)
        return ApiResponse.of_json({"ok": True})

    async def disable_org(self, request: ApiRequest, org_id: str) -> ApiResponse:
        actor = await self.actor(request)
        form = structure(request.json(), DisableForm)
        org = await self.platform.organizations.set_disabled(actor, org_id, form.disabled)
        return ApiResponse.of_json(_org(org))

    async def list_accounts(self, request: ApiRequest) -> ApiResponse:
        actor = await self.actor(request)
        q = request.query

        def text(name: str) -> str | None:
            value = q.get(name, "").strip()
            return value or None

        role, status = text("role"), text("status")
        try:
            filters = AccountFilter(
                login=text("login"),
                name=text("name"),
                phone=text("phone"),
                role=Role(role) if role else None,
                status=AccountStatus(status) if status else None,
                org_id=text("org_id"),
            )
        except ValueError as exc:
            raise InvalidInput(f"unknown filter value: {exc}") from exc
        page = await self.platform.accounts.list(
            actor, filters, offset=_int(q, "offset", 0), limit=_int(q, "limit", 50)
        )
        return ApiResponse.of_json(unstructure(page))

    async def create_account(self, request: ApiRequest) -> ApiResponse:
        actor = await self.actor(request)
        form = structure(request.json(), AccountCreateForm)
        account = await self.platform.accounts.create(actor, **attrs.asdict(form))
        return ApiResponse.of_json(unstructure(account), 201)

    async def get_account(self, request: ApiRequest, account_id: str) -> ApiResponse:
        actor = await self.actor(request)
        return ApiResponse.of_json(unstructure(await self.platform.accounts.get(actor, account_id)))

    async def edit_account(self, request: ApiRequest, account_id: str) -> ApiResponse:
        actor = await self.actor(request)
        form = structure(request.json(), AccountEditForm)
        account = await self.platform.accounts.edit(actor, account_id, **attrs.asdict(form))
        return ApiResponse.of_json(unstructure(account))

    async def delete_account(self, request: ApiRequest, account_id: str) -> ApiResponse:
        actor = await self.actor(request)
        await self.platform.accounts.delete(actor, account_id)
        return ApiResponse.of_json({"ok": True})

    async def disable_account(self, request: ApiRequest, account_id: str) -> ApiResponse:
        actor = await self.actor(request)
        form = structure(request.json(), DisableForm)
        account = await self.platform.accounts.set_disabled(actor, account_id, form.disabled)
        return ApiResponse.of_json(unstructure(account))

    async def reset_password(self, request: ApiRequest, account_id: str) -> ApiResponse:
        actor = await self.actor(request)
        form = structure(request.json(), PasswordForm)
        await self.platform.accounts.reset_password(actor, account_id, form.password)
        return ApiResponse.of_json({"ok": True})

    async def kick_out(self, request: ApiRequest, account_id: str) -> ApiResponse:
        actor = await self.actor(request)
        revoked = await self.platform.accounts.kick_out(actor, account_id)
        return ApiResponse.of_json({"revoked": revoked})


class AdminCapability(BaseCapability):
    """Login, accounts and organizations as a capability (``/api/login``, ``/api/me``…).

    It lives beside its endpoints: the platform layer imports nothing above the store.
    """

    name = "admin"

    def __init__(self, platform: Platform) -> None:
        self.router = AdminApi(platform).router
