"""Where a login lives: each company has its own logins, told apart at sign-in by its code.

A login (账号) is unique within its company, not across the platform, so an admin who
creates an account learns only about their own company: a login that another company
uses is as free to them as one nobody uses. At sign-in a person writes their login, and
``login@code`` when their company is not the platform's home company: the code (公司代码)
names the company. The home company is the first company created; its people, and the
platform's own accounts (the super admin), sign in with the bare login, so a deployment
for one bank and the demo work as before. The home company shares the bare namespace with
the platform's accounts: neither may take a login the other has.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import sqlalchemy as sa

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.store.schema import accounts, companies

__all__ = [
    "check_company_code",
    "home_company",
    "is_home_company",
    "login_taken",
    "new_company_code",
    "sign_in_condition",
    "sign_in_name",
    "split_sign_in",
]

_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,15}$")
_CODE_LETTERS = "abcdefghjkmnpqrstuvwxyz23456789"


def check_company_code(code: str) -> str:
    """A company code: 2–16 lower-case letters, digits or '-', starting with a letter or digit.

    Raises:
        InvalidInput: it is anything else.
    """
    if not isinstance(code, str) or not _CODE.match(code):
        raise InvalidInput(
            f"company code {code!r} is not valid; use 2–16 lower-case letters, digits or '-'",
            zh="公司代码须为 2–16 位小写字母、数字或“-”",
        )
    return code


def new_company_code() -> str:
    """A fresh random company code (``c`` and five letters or digits)."""
    return "c" + "".join(secrets.choice(_CODE_LETTERS) for _ in range(5))


def split_sign_in(text: str) -> tuple[str, str | None]:
    """``login@code`` → (login, code); a bare login → (login, None)."""
    login, at, code = text.rpartition("@")
    return (login, code.lower()) if at else (text, None)


def sign_in_name(login: str, company_code: str | None, home: bool) -> str:
    """What the account's person writes to sign in."""
    return login if home or company_code is None else f"{login}@{company_code}"


def home_company() -> Any:
    """The home company's id as a scalar subquery (the first company created)."""
    return (
        sa.select(companies.c.id)
        .where(companies.c.home.is_(True))
        .order_by(companies.c.created_ms, companies.c.id)
        .limit(1)
        .scalar_subquery()
    )


def is_home_company(company_id: Any) -> Any:
    """A SQL condition: ``company_id`` is the home company."""
    return company_id == home_company()


async def login_taken(conn: Any, company_id: str | None, login: str) -> bool:
    """Whether ``login`` is taken where an account of ``company_id`` (None: a platform
    account) would live: in that company, or in the bare namespace for the home company
    and the platform."""
    home = (await conn.execute(sa.select(home_company()))).scalar()
    if company_id is None or company_id == home:
        where = sa.or_(accounts.c.company_id.is_(None), accounts.c.company_id == home)
    else:
        where = accounts.c.company_id == company_id
    query = sa.select(accounts.c.id).where(accounts.c.login == login).where(where).limit(1)
    return (await conn.execute(query)).first() is not None


def sign_in_condition(text: str) -> Any:
    """A SQL condition on ``accounts`` choosing the account signed in as ``text``."""
    login, code = split_sign_in(text)
    if code is None:
        return sa.and_(
            accounts.c.login == login,
            sa.or_(accounts.c.company_id.is_(None), is_home_company(accounts.c.company_id)),
        )
    by_code = sa.select(companies.c.id).where(companies.c.code == code).scalar_subquery()
    return sa.and_(accounts.c.login == login, accounts.c.company_id == by_code)
