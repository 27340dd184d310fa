"""Platform core: companies, organizations, accounts, roles and logins (SPEC C1)."""

from zhanye_sdk.platform.accounts import AccountFilter, AccountPage, AccountService
from zhanye_sdk.platform.auth import AuthenticationFailed, AuthService, LoginThrottled
from zhanye_sdk.platform.companies import CompanyService
from zhanye_sdk.platform.config import PlatformConfig
from zhanye_sdk.platform.hours import (
    OutsideServiceHours,
    ServiceHours,
    ServiceWindow,
    check_service_hours,
)
from zhanye_sdk.platform.models import Account, AccountStatus, Company, LoginResult, Organization
from zhanye_sdk.platform.organizations import OrganizationService
from zhanye_sdk.platform.passwords import PasswordHashing
from zhanye_sdk.platform.permissions import PERMISSIONS, NotAccessible, Operation
from zhanye_sdk.platform.roles import Principal, Role
from zhanye_sdk.platform.throttle import ThrottlePolicy

__all__ = [
    "PERMISSIONS",
    "Account",
    "AccountFilter",
    "AccountPage",
    "AccountService",
    "AccountStatus",
    "AuthService",
    "AuthenticationFailed",
    "Company",
    "CompanyService",
    "LoginResult",
    "LoginThrottled",
    "NotAccessible",
    "Operation",
    "Organization",
    "OrganizationService",
    "OutsideServiceHours",
    "PasswordHashing",
    "PlatformConfig",
    "Principal",
    "Role",
    "ServiceHours",
    "ServiceWindow",
    "ThrottlePolicy",
    "check_service_hours",
]
