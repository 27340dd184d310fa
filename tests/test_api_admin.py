"""The admin HTTP API, driven as a browser or an attacker would drive it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import time

import pytest

from zhanye_sdk.api import AdminApi, ApiRequest, ApiResponse
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.platform import PlatformConfig, ServiceHours, ServiceWindow
from zhanye_sdk.platform.permissions import AREAS

from .platform_world import PASSWORD, World, build_world

pytestmark = pytest.mark.anyio


@pytest.fixture
async def api(
    tmp_path: object, fast_config: PlatformConfig
) -> AsyncIterator[tuple[AdminApi, World]]:
    world = await build_world(f"sqlite:///{tmp_path}/api.db", fast_config)
    try:
        yield AdminApi(world.platform), world
    finally:
        await world.platform.close()


async def call(
    api: AdminApi,
    method: str,
    path: str,
    body: object = None,
    token: str | None = None,
    query: dict[str, str] | None = None,
) -> ApiResponse:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    raw = b"" if body is None else json.dumps(body).encode()
    return await api.handle(
        ApiRequest(
            method, path, query=query or {}, headers=headers, body=raw, client_address="127.0.0.1"
        )
    )


async def login(api: AdminApi, login: str) -> str:
    response = await call(api, "POST", "/api/login", {"login": login, "password": PASSWORD})
    assert response.status == 200, response.json()
    return str(response.json()["token"])


async def test_org_admin_manages_accounts_through_the_api(api: tuple[AdminApi, World]) -> None:
    admin, world = api
    token = await login(admin, "oa-A1")
    me = (await call(admin, "GET", "/api/me", token=token)).json()
    assert me["role"] == "org_admin" and me["manageable_roles"] == ["salesperson"]
    created = await call(
        admin,
        "POST",
        "/api/accounts",
        {
            "login": "lisi",
            "name": "李四",
            "password": "Zs-4711-start",
            "role": "salesperson",
            "org_id": world.ids["A1"],
        },
        token,
    )
    assert created.status == 201
    account_id = created.json()["id"]
    listed = (await call(admin, "GET", "/api/accounts", token=token, query={"name": "李"})).json()
    assert [a["login"] for a in listed["items"]] == ["lisi"] and listed["total"] == 1
    kicked = await call(admin, "POST", f"/api/accounts/{account_id}/kick-out", token=token)
    assert kicked.json() == {"revoked": 0}
    disabled = await call(
        admin, "POST", f"/api/accounts/{account_id}/disable", {"disabled": True}, token
    )
    assert disabled.json()["status"] == "disabled"


async def test_salesperson_calling_admin_operations_is_refused(api: tuple[AdminApi, World]) -> None:
    admin, world = api
    token = await login(admin, "sp-A1")
    attempts = [
        ("GET", "/api/accounts", None),
        (
            "POST",
            "/api/accounts",
            {
                "login": "evil1",
                "name": "x",
                "password": "Zs-4711-start",
                "role": "salesperson",
                "org_id": world.ids["A1"],
            },
        ),
        ("POST", f"/api/accounts/{world.ids['sp2_A1']}/kick-out", None),
        ("POST", f"/api/accounts/{world.ids['sp2_A1']}/reset-password", {"password": "hijack123"}),
        ("DELETE", f"/api/accounts/{world.ids['sp2_A1']}", None),
        ("POST", f"/api/organizations/{world.ids['A1']}/disable", {"disabled": True}),
        ("PATCH", f"/api/accounts/{token and world.ids['sp_A1']}", {"role": "company_admin"}),
    ]
    for method, path, body in attempts:
        response = await call(admin, method, path, body, token)
        assert response.status in (403, 404), (method, path, response.json())
    # Nothing changed: the colleague can still log in with the old password.
    await login(admin, "sp2-A1")


async def test_other_orgs_ids_and_bad_tokens_get_nothing(api: tuple[AdminApi, World]) -> None:
    admin, world = api
    token = await login(admin, "oa-A1")
    outside = await call(admin, "GET", f"/api/accounts/{world.ids['sp_B1']}", token=token)
    missing = await call(admin, "GET", "/api/accounts/" + "f" * 32, token=token)
    assert outside.status == missing.status == 404
    for bad in (None, "", "garbage", token[:-2] + "xx"):
        response = await call(admin, "GET", "/api/me", token=bad)
        assert response.status == 401
        assert response.json()["error"]["code"] == "authentication_failed"
    await call(admin, "POST", "/api/logout", token=token)
    assert (await call(admin, "GET", "/api/me", token=token)).status == 401


async def test_malformed_requests_get_clear_errors(api: tuple[AdminApi, World]) -> None:
    admin, _ = api
    token = await login(admin, "ca-A")
    cases = [
        ("POST", "/api/organizations", b"{not json"),
        ("POST", "/api/organizations", json.dumps([1, 2]).encode()),
        ("POST", "/api/organizations", json.dumps({"name": "x", "unexpected": 1}).encode()),
        (
            "POST",
            "/api/organizations",
            json.dumps(
                {"name": "x", "hours": {"morning": {"start": "25:00", "end": "26:00"}}}
            ).encode(),
        ),
        ("POST", "/api/accounts", json.dumps({"login": "x"}).encode()),
    ]
    for method, path, body in cases:
        response = await admin.handle(
            ApiRequest(method, path, headers={"authorization": f"Bearer {token}"}, body=body)
        )
        assert response.status == 400, (body, response.json())
        assert response.json()["error"]["code"] == "invalid_input"
        assert response.json()["error"]["message"]
    wrong_method = await call(admin, "PUT", "/api/accounts", {}, token)
    assert wrong_method.status == 405
    assert (await call(admin, "GET", "/api/nothing-here", token=token)).status == 404


async def test_a_bad_account_form_is_explained_in_english_and_chinese(
    api: tuple[AdminApi, World],
) -> None:
    admin, world = api
    token = await login(admin, "oa-A1")
    form = {
        "login": "zhaoliu",
        "name": "赵六",
        "password": "short",
        "role": "salesperson",
        "org_id": world.ids["A1"],
    }
    refused = await call(admin, "POST", "/api/accounts", form, token)
    assert refused.status == 400
    assert refused.json()["error"] == {
        "code": "invalid_input",
        "message": "password must be 8–128 characters",
        "message_zh": "密码须为 8–128 位，请重新输入",
    }
    taken = await call(
        admin,
        "POST",
        "/api/accounts",
        form | {"login": "sp-A1", "password": "Zs-4711-start"},
        token,
    )
    assert taken.status == 409
    assert taken.json()["error"]["message"] == "login 'sp-A1' is taken"
    assert taken.json()["error"]["message_zh"] == "登录账号“sp-A1”已被使用，请换一个"
    phone = await call(
        admin,
        "POST",
        "/api/accounts",
        form | {"password": "Zs-4711-start", "phone": "12345"},
        token,
    )
    assert phone.status == 400 and "12345" in phone.json()["error"]["message_zh"]
    # A protocol-level refusal has no Chinese text of its own; pages fall back to English.
    garbled = await admin.handle(
        ApiRequest("POST", "/api/accounts", headers={"authorization": f"Bearer {token}"}, body=b"{")
    )
    assert garbled.status == 400 and "message_zh" not in garbled.json()["error"]


async def test_throttled_login_says_when_to_retry(api: tuple[AdminApi, World]) -> None:
    admin, _ = api
    for _ in range(5):
        response = await call(
            admin, "POST", "/api/login", {"login": "sp-A2", "password": "nope12345"}
        )
        assert response.status == 401
    response = await call(admin, "POST", "/api/login", {"login": "sp-A2", "password": PASSWORD})
    assert response.status == 429
    assert response.json()["error"]["retry_after_s"] > 0
    assert "分钟后再试" in response.json()["error"]["message_zh"]


@pytest.mark.parametrize(
    ("who", "areas"),
    [
        ("sp-A1", ["workbench", "records", "materials", "organizations"]),
        ("oa-A1", ["workbench", "records", "materials", "stats", "accounts", "organizations"]),
        (
            "ca-A",
            ["workbench", "records", "materials", "sop", "stats", "accounts", "organizations"],
        ),
    ],
)
async def test_me_lists_the_staff_areas_the_role_may_use(
    api: tuple[AdminApi, World], who: str, areas: list[str]
) -> None:
    admin, _ = api
    me = (await call(admin, "GET", "/api/me", token=await login(admin, who))).json()
    assert me["areas"] == areas
    # Each area is one the role's operations allow, and no other.
    for area, needs in AREAS.items():
        assert (area in me["areas"]) is (needs.value in me["operations"]), (who, area)


async def test_an_inverted_service_window_is_refused_and_unset_means_closed(
    api: tuple[AdminApi, World],
) -> None:
    admin, world = api
    token = await login(admin, "ca-A")
    inverted = {"morning": {"start": "12:00:00", "end": "09:00:00"}}
    refused = await call(
        admin, "POST", "/api/organizations", {"name": "夜班", "hours": inverted}, token
    )
    assert refused.status == 400
    assert "结束时间须晚于开始时间" in refused.json()["error"]["message_zh"]
    refused = await call(
        admin, "PATCH", f"/api/organizations/{world.ids['A1']}", {"hours": inverted}, token
    )
    assert refused.status == 400
    # Nothing was changed by the refusal.
    org = await world.platform.organizations.get(world.p("ca_A"), world.ids["A1"])
    assert org.hours.all_day
    with pytest.raises(InvalidInput):
        await world.platform.organizations.edit(
            world.p("ca_A"),
            world.ids["A1"],
            hours=ServiceHours(morning=ServiceWindow(time(12), time(9))),
        )

    morning = {"morning": {"start": "09:00:00", "end": "12:00:00"}}
    created = await call(
        admin, "POST", "/api/organizations", {"name": "早班", "hours": morning}, token
    )
    assert created.status == 201
    hours = created.json()["hours"]
    assert (hours["all_day"], hours["afternoon"]) == (False, None)
    assert hours["morning"] == {"start": "09:00:00", "end": "12:00:00", "overnight": False}
    listed = (await call(admin, "GET", "/api/organizations", token=token)).json()["items"]
    assert {o["name"]: o["hours"]["all_day"] for o in listed} == {
        "早班": False,
        "机构A1": True,
        "机构A2": True,
    }


async def test_editing_hours_keeps_the_time_zone_and_me_says_it(
    api: tuple[AdminApi, World],
) -> None:
    admin, world = api
    token = await login(admin, "ca-A")
    org_id = world.ids["A1"]
    moved = await call(
        admin, "PATCH", f"/api/organizations/{org_id}", {"hours": {"timezone": "Asia/Tokyo"}}, token
    )
    assert moved.json()["hours"]["timezone"] == "Asia/Tokyo"
    # A form without a zone keeps the organization's (it used to reset it to Shanghai).
    edited = await call(
        admin,
        "PATCH",
        f"/api/organizations/{org_id}",
        {"hours": {"morning": {"start": "09:00:00", "end": "12:00:00"}}},
        token,
    )
    assert edited.json()["hours"]["timezone"] == "Asia/Tokyo"
    # The organization's people see times in its zone; a company admin in the default.
    for who, zone in (
        ("sp-A1", "Asia/Tokyo"),
        ("oa-A1", "Asia/Tokyo"),
        ("oa-A2", "Asia/Shanghai"),
        ("ca-A", "Asia/Shanghai"),
    ):
        me = (await call(admin, "GET", "/api/me", token=await login(admin, who))).json()
        assert me["timezone"] == zone, who
