"""Changing a company's code (公司代码, what its people add to sign in as ``login@code``),
from the attacker's side of a real socket.

Only the platform's super admin changes a code (``PATCH /api/companies/{id}``). Attacks
covered:
1. A company admin changing their own company's code, or another company's, and an
   organization admin or a salesperson trying the same: refused (403), nothing changes,
   everyone signs in as before.
2. Nobody signed in: refused (401).
3. Taking another company's code (the super admin by mistake, or twice at once): refused
   as taken (409); neither company's people lose their way in.
4. Codes built to confuse sign-in or the database (upper case, ``@``, ``/``, spaces,
   quotes, too long, empty, not a string): refused (400) with a Chinese message.
5. An unknown company id: 404, as for any company the caller cannot see.
And what the super admin gets: the new code signs the company's people in, the old one
no longer does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from ..platform_world import CODES, PASSWORD, World, build_world
from ..webhost import serving

pytestmark = pytest.mark.anyio


@pytest.fixture
async def web_host(
    tmp_path: Any, fast_config: Any
) -> AsyncIterator[tuple[str, World, aiohttp.ClientSession]]:
    world = await build_world(f"sqlite:///{tmp_path}/codes.db", fast_config)
    async with serving(world.platform) as url, aiohttp.ClientSession() as http:
        yield url, world, http


async def call(
    http: aiohttp.ClientSession, method: str, url: str, body: Any = None, token: str = ""
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.request(method, url, json=body, headers=headers) as r:
        return r.status, await r.json()


async def sign_in(http: aiohttp.ClientSession, base: str, login: str) -> tuple[int, str]:
    status, body = await call(
        http, "POST", f"{base}/api/login", {"login": login, "password": PASSWORD}
    )
    return status, body.get("token", "") if status == 200 else ""


async def token_of(http: aiohttp.ClientSession, base: str, login: str) -> str:
    status, token = await sign_in(http, base, login)
    assert status == 200, login
    return token


async def codes(http: aiohttp.ClientSession, base: str) -> dict[str, str]:
    root = await token_of(http, base, "root")
    status, body = await call(http, "GET", f"{base}/api/companies", token=root)
    assert status == 200
    return {c["name"]: c["code"] for c in body["items"]}


BEFORE = {"公司A": CODES["A"], "公司B": CODES["B"]}


@pytest.mark.parametrize("attacker", ["ca-B@bank-b", "ca-A", "oa-A1", "sp-B1@bank-b"])
@pytest.mark.parametrize("target", ["A", "B"])
async def test_only_the_super_admin_changes_a_company_code(
    web_host: tuple[str, World, aiohttp.ClientSession], attacker: str, target: str
) -> None:
    base, world, http = web_host
    token = await token_of(http, base, attacker)
    status, body = await call(
        http, "PATCH", f"{base}/api/companies/{world.ids[target]}", {"code": "stolen"}, token
    )
    assert status == 403, body
    assert body["error"]["message_zh"]
    assert await codes(http, base) == BEFORE
    assert (await sign_in(http, base, "sp-B1@bank-b"))[0] == 200
    assert (await sign_in(http, base, "sp-B1@stolen"))[0] == 401


async def test_nobody_signed_in_changes_nothing(
    web_host: tuple[str, World, aiohttp.ClientSession],
) -> None:
    base, world, http = web_host
    status, _ = await call(
        http, "PATCH", f"{base}/api/companies/{world.ids['B']}", {"code": "stolen"}
    )
    assert status == 401
    status, _ = await call(http, "GET", f"{base}/api/companies")
    assert status == 401
    assert await codes(http, base) == BEFORE


async def test_a_code_another_company_has_is_refused(
    web_host: tuple[str, World, aiohttp.ClientSession],
) -> None:
    base, world, http = web_host
    root = await token_of(http, base, "root")
    status, body = await call(
        http, "PATCH", f"{base}/api/companies/{world.ids['B']}", {"code": CODES["A"]}, root
    )
    assert status == 409 and body["error"]["message_zh"] == "公司代码“bank-a”已被使用"
    assert await codes(http, base) == BEFORE
    assert (await sign_in(http, base, "sp-B1@bank-b"))[0] == 200
    assert (await sign_in(http, base, "sp-A1@bank-a"))[0] == 200


@pytest.mark.parametrize(
    "code",
    ["BANK-C", "bank@c", "bank/c", "../a", "bank c", "x' or '1'='1", "b" * 17, "", "c", 12345],
)
async def test_a_malformed_code_is_refused(
    web_host: tuple[str, World, aiohttp.ClientSession], code: object
) -> None:
    base, world, http = web_host
    root = await token_of(http, base, "root")
    status, body = await call(
        http, "PATCH", f"{base}/api/companies/{world.ids['B']}", {"code": code}, root
    )
    assert status == 400, body
    assert body["error"]["message_zh"]
    assert await codes(http, base) == BEFORE


async def test_an_unknown_company_is_not_found(
    web_host: tuple[str, World, aiohttp.ClientSession],
) -> None:
    base, _, http = web_host
    root = await token_of(http, base, "root")
    status, _ = await call(
        http, "PATCH", f"{base}/api/companies/{'0' * 32}", {"code": "bank-c"}, root
    )
    assert status == 404


async def test_the_new_code_signs_the_companys_people_in_and_the_old_one_no_longer(
    web_host: tuple[str, World, aiohttp.ClientSession],
) -> None:
    base, world, http = web_host
    root = await token_of(http, base, "root")
    status, company = await call(
        http, "PATCH", f"{base}/api/companies/{world.ids['B']}", {"code": "bank-c"}, root
    )
    assert status == 200 and company["code"] == "bank-c" and company["name"] == "公司B"
    assert await codes(http, base) == {"公司A": "bank-a", "公司B": "bank-c"}
    assert (await sign_in(http, base, "sp-B1@bank-c"))[0] == 200
    assert (await sign_in(http, base, "sp-B1@bank-b"))[0] == 401
    # The freed code can be taken by another company.
    status, _ = await call(
        http, "PATCH", f"{base}/api/companies/{world.ids['A']}", {"code": "bank-b"}, root
    )
    assert status == 200
    assert (await sign_in(http, base, "sp-A1@bank-b"))[0] == 200
    assert (await sign_in(http, base, "sp-A1"))[0] == 200  # the home company: bare too
