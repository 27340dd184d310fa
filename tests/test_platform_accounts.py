"""Accounts, organizations and logins on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from zhanye_sdk.errors import ConflictError, InvalidInput, PermissionDenied
from zhanye_sdk.platform import (
    AccountFilter,
    AccountStatus,
    AuthenticationFailed,
    LoginThrottled,
    NotAccessible,
    OutsideServiceHours,
    PlatformConfig,
    Role,
    ServiceHours,
    ServiceWindow,
)

from .platform_world import PASSWORD, World, build_world

pytestmark = pytest.mark.anyio


@pytest.fixture
async def world(database_url: str, fast_config: PlatformConfig) -> AsyncIterator[World]:
    w = await build_world(database_url, fast_config)
    try:
        yield w
    finally:
        await w.platform.close()


async def test_account_lifecycle_and_filters(world: World) -> None:
    p = world.platform
    oa = world.p("oa_A1")
    created = await p.accounts.create(
        oa,
        login="zhangsan",
        name="张三",
        password="Zs-4711-start",
        role=Role.SALESPERSON,
        org_id=world.ids["A1"],
        phone="139 0013 9000",
    )
    assert (created.phone, created.status, created.org_id) == (
        "13900139000",
        "offline",
        world.ids["A1"],
    )

    page = await p.accounts.list(oa, AccountFilter(name="张"))
    assert [a.login for a in page.items] == ["zhangsan"]
    # An org admin sees exactly their org.
    page = await p.accounts.list(oa)
    assert {a.login for a in page.items} == {"oa-A1", "sp-A1", "sp2-A1", "zhangsan"}
    assert page.total == 4
    # The company admin sees the whole company and filters by role and status.
    ca = world.p("ca_A")
    online = await p.accounts.list(
        ca, AccountFilter(role=Role.SALESPERSON, status=AccountStatus.ONLINE)
    )
    assert {a.login for a in online.items} == {"sp-A1", "sp2-A1", "sp-A2"}
    offline = await p.accounts.list(ca, AccountFilter(status=AccountStatus.OFFLINE))
    assert {a.login for a in offline.items} == {"zhangsan"}

    edited = await p.accounts.edit(oa, created.id, name="张三丰")
    assert edited.name == "张三丰"
    await p.accounts.set_disabled(oa, created.id, True)
    disabled = await p.accounts.list(ca, AccountFilter(status=AccountStatus.DISABLED))
    assert [a.login for a in disabled.items] == ["zhangsan"]
    with pytest.raises(AuthenticationFailed, match="disabled"):
        await p.auth.login("zhangsan", "Zs-4711-start")
    await p.accounts.set_disabled(oa, created.id, False)
    await p.auth.login("zhangsan", "Zs-4711-start")
    await p.accounts.delete(oa, created.id)
    with pytest.raises(NotAccessible):
        await p.accounts.get(oa, created.id)


async def test_duplicate_login_and_bad_fields_are_refused(world: World) -> None:
    p, oa = world.platform, world.p("oa_A1")
    with pytest.raises(ConflictError, match="taken"):
        await p.accounts.create(
            oa,
            login="sp-A1",
            name="x",
            password=PASSWORD,
            role=Role.SALESPERSON,
            org_id=world.ids["A1"],
        )
    for kwargs, words in [
        ({"login": "a"}, "login"),
        ({"password": "short1"}, "password"),
        ({"password": "lettersonly"}, "digit"),
        ({"phone": "12345"}, "phone"),
        ({"name": "  "}, "name"),
    ]:
        fields = {"login": "okname", "name": "好", "password": PASSWORD, "phone": None} | kwargs
        with pytest.raises(InvalidInput, match=words):
            await p.accounts.create(oa, role=Role.SALESPERSON, org_id=world.ids["A1"], **fields)
    assert (await p.accounts.list(oa, AccountFilter(login="okname"))).total == 0


async def test_kick_out_revokes_every_login_and_tells_listeners(world: World) -> None:
    p = world.platform
    heard: list[tuple[str, str]] = []

    async def listener(account_id: str, reason: str) -> None:
        heard.append((account_id, reason))

    p.on_logins_revoked(listener)
    second = (await p.auth.login("sp-A1", PASSWORD, client_address="10.0.0.9")).token
    assert (await p.accounts.kick_out(world.p("oa_A1"), world.ids["sp_A1"])) == 2
    assert heard == [(world.ids["sp_A1"], "kicked_out")]
    with pytest.raises(AuthenticationFailed):
        await p.auth.authenticate(second)
    account = await p.accounts.get(world.p("oa_A1"), world.ids["sp_A1"])
    assert account.status is AccountStatus.OFFLINE


async def test_tokens_expire_and_logout_revokes(world: World) -> None:
    p = world.platform
    result = await p.auth.login("sp-A2", PASSWORD)
    assert (await p.auth.authenticate(result.token)).login == "sp-A2"
    world.clock.advance(12 * 3600 + 1)
    with pytest.raises(AuthenticationFailed, match="expired"):
        await p.auth.authenticate(result.token)
    fresh = await p.auth.login("sp-A2", PASSWORD)
    await p.auth.logout(fresh.token)
    with pytest.raises(AuthenticationFailed):
        await p.auth.authenticate(fresh.token)


async def test_login_is_throttled_per_account_and_per_address(world: World) -> None:
    p = world.platform
    for _ in range(5):
        with pytest.raises(AuthenticationFailed, match="wrong"):
            await p.auth.login("sp-A2", "wrong-password1")
    # Locked: even the right password is refused, with a time to wait.
    with pytest.raises(LoginThrottled) as locked:
        await p.auth.login("sp-A2", PASSWORD)
    assert 0 < locked.value.retry_after_s <= 900
    world.clock.advance(901)
    await p.auth.login("sp-A2", PASSWORD)
    # Twenty failures from one address lock that address for every account.
    for i in range(20):
        with pytest.raises(AuthenticationFailed):
            await p.auth.login(f"nobody{i}", "x1234567", client_address="203.0.113.7")
    with pytest.raises(LoginThrottled):
        await p.auth.login("sp-B1@bank-b", PASSWORD, client_address="203.0.113.7")
    await p.auth.login("sp-B1@bank-b", PASSWORD, client_address="203.0.113.8")


async def test_unknown_login_and_wrong_password_look_the_same(world: World) -> None:
    p = world.platform
    with pytest.raises(AuthenticationFailed) as unknown:
        await p.auth.login("no-such-user", PASSWORD)
    with pytest.raises(AuthenticationFailed) as wrong:
        await p.auth.login("sp-A1", "wrong-password1")
    assert str(unknown.value) == str(wrong.value)


async def test_reset_and_change_password(world: World) -> None:
    p = world.platform
    token = (await p.auth.login("sp-A2", PASSWORD)).token
    await p.accounts.reset_password(world.p("ca_A"), world.ids["sp_A2"], "newpass123")
    with pytest.raises(AuthenticationFailed):
        await p.auth.authenticate(token)
    with pytest.raises(AuthenticationFailed):
        await p.auth.login("sp-A2", PASSWORD)
    me = await p.auth.authenticate((await p.auth.login("sp-A2", "newpass123")).token)
    with pytest.raises(AuthenticationFailed, match="current password"):
        await p.auth.change_password(me, "not-it-1", "another123")
    await p.auth.change_password(me, "newpass123", "another123")
    await p.auth.login("sp-A2", "another123")


async def test_organization_delete_refused_while_it_has_accounts_or_live_sessions(
    world: World,
) -> None:
    p, ca = world.platform, world.p("ca_A")
    with pytest.raises(ConflictError, match="account"):
        await p.organizations.delete(ca, world.ids["A2"])
    empty = await p.organizations.create(ca, "空机构")
    live = {empty.id: 1}

    async def count(org_id: str) -> int:
        return live.get(org_id, 0)

    p.count_live_sessions_with(count)
    with pytest.raises(ConflictError, match="live session"):
        await p.organizations.delete(ca, empty.id)
    live.clear()
    await p.organizations.delete(ca, empty.id)
    assert empty.id not in {o.id for o in await p.organizations.list(ca)}


async def test_disabling_an_organization_logs_out_its_people(world: World) -> None:
    p, ca = world.platform, world.p("ca_A")
    ended: list[str] = []
    revoked: list[str] = []

    async def on_disabled(org_id: str) -> None:
        ended.append(org_id)

    async def on_revoked(account_id: str, reason: str) -> None:
        assert reason == "org_disabled"
        revoked.append(account_id)

    p.on_org_disabled(on_disabled)
    p.on_logins_revoked(on_revoked)
    token = (await p.auth.login("sp-A2", PASSWORD)).token
    org = await p.organizations.set_disabled(ca, world.ids["A2"], True)
    assert org.disabled and ended == [world.ids["A2"]]
    assert set(revoked) == {world.ids["sp_A2"], world.ids["oa_A2"]}
    with pytest.raises(AuthenticationFailed):
        await p.auth.authenticate(token)
    with pytest.raises(AuthenticationFailed, match="organization is disabled"):
        await p.auth.login("sp-A2", PASSWORD)
    await p.organizations.set_disabled(ca, world.ids["A2"], False)
    await p.auth.login("sp-A2", PASSWORD)


async def test_service_windows_are_stored_and_enforced(world: World) -> None:
    p, ca = world.platform, world.p("ca_A")
    hours = ServiceHours(
        morning=ServiceWindow.parse("09:00:00", "12:00:00"),
        afternoon=ServiceWindow.parse("13:30:00", "18:00:00"),
    )
    org = await p.organizations.edit(ca, world.ids["A1"], hours=hours, name="机构A1-改")
    assert org.hours == hours and org.name == "机构A1-改"
    # ManualClock starts at 09:30 UTC = 17:30 in Shanghai: open.
    await p.organizations.check_open(org.id)
    world.clock.advance(3600)  # 18:30 Shanghai
    with pytest.raises(OutsideServiceHours, match="09:00:00–12:00:00, 13:30:00–18:00:00"):
        await p.organizations.check_open(org.id)


async def test_roles_cannot_escalate(world: World) -> None:
    p = world.platform
    with pytest.raises(PermissionDenied):
        await p.accounts.create(
            world.p("oa_A1"),
            login="boss1",
            name="b",
            password=PASSWORD,
            role=Role.ORG_ADMIN,
            org_id=world.ids["A1"],
        )
    with pytest.raises(PermissionDenied):
        await p.accounts.edit(world.p("oa_A1"), world.ids["sp_A1"], role=Role.COMPANY_ADMIN)
    with pytest.raises(PermissionDenied):
        await p.accounts.edit(world.p("sp_A1"), world.ids["sp_A1"], role=Role.ORG_ADMIN)
    with pytest.raises(PermissionDenied):
        await p.accounts.create(
            world.p("ca_A"),
            login="boss2",
            name="b",
            password=PASSWORD,
            role=Role.COMPANY_ADMIN,
            company_id=world.ids["B"],
        )
    with pytest.raises(ConflictError):
        await p.auth.bootstrap_super_admin("root2", PASSWORD, "again")
