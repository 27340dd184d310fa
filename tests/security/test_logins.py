"""Learning another company's logins, from the attacker's side (an admin of company B).

Logins are unique within a company; people of any company but the home one sign in as
``login@公司代码`` (``zhanye_sdk/platform/logins.py``). Attacks covered:
1. Creating accounts named like company A's people ("sp-A1", "ca-A", …): answered exactly
   as for logins nobody uses (201, the same fields), however many are tried, so the
   creation form is no oracle; the created accounts are B's own (``sp-A1@bank-b``) and A's
   people still sign in with their own passwords.
2. Renaming those accounts (the only edit of an account's identity there is; a login
   itself never changes): answered alike.
3. Signing in as a login of A with a wrong password, bare or as ``login@bank-a``, and as
   one A does not have: the same status and body, each after one password check.
4. Timing class of 1 and 3: a login of A and a free one take the same time (within noise).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from zhanye_sdk.platform import PasswordHashing, PlatformConfig

from ..platform_world import PASSWORD, World, build_world
from ..webhost import serving

pytestmark = pytest.mark.anyio

# Logins of company A and logins nobody has, tried in pairs.
PAIRS = [
    ("sp-A1", "sp-Z1"),
    ("ca-A", "ca-Z"),
    ("oa-A1", "oa-Z1"),
    ("oa-A2", "oa-Z2"),
    ("sp-A2", "sp-Z2"),
    ("sp2-A1", "sp2-Z1"),
]


@pytest.fixture
async def web_host(tmp_path: Any) -> AsyncIterator[tuple[str, World]]:
    config = PlatformConfig(
        passwords=PasswordHashing(time_cost=1, memory_cost_kib=8192, parallelism=1)
    )
    world = await build_world(f"sqlite:///{tmp_path}/logins.db", config)
    async with serving(world.platform) as url:
        yield url, world


async def call(
    http: aiohttp.ClientSession, method: str, url: str, body: Any, auth: dict[str, str]
) -> tuple[int, Any]:
    async with http.request(method, url, json=body, headers=auth) as r:
        return r.status, await r.json()


async def sign_in(http: aiohttp.ClientSession, base: str, login: str, password: str) -> Any:
    return await call(http, "POST", f"{base}/api/login", {"login": login, "password": password}, {})


def shape(answer: tuple[int, Any], login: str) -> tuple[int, Any]:
    """An answer with what must differ between two accounts (ids, times, the login) masked."""
    status, body = answer
    masked = {
        key: (None if key in ("id", "created_at", "updated_at") else value)
        for key, value in body.items()
    }
    text = repr(masked).replace(login, "<login>")
    return status, text


async def test_an_admin_of_another_company_cannot_tell_its_logins_from_free_ones(
    web_host: tuple[str, World],
) -> None:
    base, world = web_host
    async with aiohttp.ClientSession() as http:
        status, login = await sign_in(http, base, "ca-B@bank-b", PASSWORD)
        assert status == 200, login
        spy = {"Authorization": f"Bearer {login['token']}"}
        form = {"name": "探子", "role": "salesperson", "org_id": world.ids["B1"]}
        form["password"] = "Spy-4711-probe"
        created: dict[str, str] = {}
        for taken, free in PAIRS:
            answers = {}
            for name in (taken, free):
                answers[name] = await call(
                    http, "POST", f"{base}/api/accounts", form | {"login": name}, spy
                )
                assert answers[name][0] == 201, answers[name]
                assert answers[name][1]["sign_in"] == f"{name}@bank-b"
                created[name] = answers[name][1]["id"]
            assert shape(answers[taken], taken) == shape(answers[free], free)

        # Renaming them: alike.
        renamed = [
            await call(http, "PATCH", f"{base}/api/accounts/{created[n]}", {"name": "新名"}, spy)
            for n in ("sp-A1", "sp-Z1")
        ]
        assert shape(renamed[0], "sp-A1") == shape(renamed[1], "sp-Z1")
        assert renamed[0][0] == 200

        # The spy's accounts are B's: they sign in as login@bank-b; A's people are untouched.
        status, _ = await sign_in(http, base, "sp-A1@bank-b", "Spy-4711-probe")
        assert status == 200
        status, mine = await sign_in(http, base, "sp-A1", PASSWORD)
        assert status == 200 and mine["account"]["company_id"] == world.ids["A"]

        # Signing in as A's people with a wrong password, bare or with A's code, and as
        # logins A does not have: one answer.
        wrong = "Not-the-4711-pass"
        answers = [
            await sign_in(http, base, who, wrong)
            for who in ("oa-A1", "oa-Z1", "oa-A1@bank-a", "oa-Z1@bank-a", "oa-A1@no-such-co")
        ]
        assert len(set(map(repr, answers))) == 1, answers
        assert answers[0][0] == 401


@pytest.mark.alone
async def test_its_logins_and_free_ones_take_the_same_time(web_host: tuple[str, World]) -> None:
    base, world = web_host
    async with aiohttp.ClientSession() as http:
        status, login = await sign_in(http, base, "ca-B@bank-b", PASSWORD)
        spy = {"Authorization": f"Bearer {login['token']}"}
        form = {"name": "探子", "role": "salesperson", "org_id": world.ids["B1"]}
        form["password"] = "Spy-4711-probe"
        times: dict[str, list[float]] = {"taken": [], "free": []}
        for taken, free in PAIRS * 2:
            for kind, name in (("taken", taken), ("free", free)):
                started = time.perf_counter()
                # The first round creates, the second refuses (B's own now): both alike.
                await call(http, "POST", f"{base}/api/accounts", form | {"login": name}, spy)
                await sign_in(http, base, name, "Not-the-4711-pass")
                times[kind].append(time.perf_counter() - started)
        ratio = statistics.median(times["taken"]) / statistics.median(times["free"])
        assert 0.5 < ratio < 2, times
