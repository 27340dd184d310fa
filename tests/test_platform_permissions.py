"""The manual's permission table, checked as an attacker would: every role × operation × scope."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from zhanye_sdk.errors import NotFound, PermissionDenied
from zhanye_sdk.platform import AccountFilter, NotAccessible, PlatformConfig, Role

from .platform_world import PASSWORD, World, build_world

pytestmark = pytest.mark.anyio

Op = Callable[[World, str, str], Awaitable[object]]

# Each operation gets (world, actor name, target scope "in" | "out").
TARGET_ORG = {"in": "A1", "out": "B1"}
TARGET_ACCOUNT = {"in": "sp2_A1", "out": "sp_B1"}


async def org_get(w: World, actor: str, scope: str) -> object:
    return await w.platform.organizations.get(w.p(actor), w.ids[TARGET_ORG[scope]])


async def org_edit(w: World, actor: str, scope: str) -> object:
    return await w.platform.organizations.edit(
        w.p(actor), w.ids[TARGET_ORG[scope]], name=f"改{scope}"
    )


async def org_disable(w: World, actor: str, scope: str) -> object:
    org_id = w.ids[TARGET_ORG[scope]]
    await w.platform.organizations.set_disabled(w.p(actor), org_id, True)
    return await w.platform.organizations.set_disabled(w.super_admin, org_id, False)


async def account_get(w: World, actor: str, scope: str) -> object:
    return await w.platform.accounts.get(w.p(actor), w.ids[TARGET_ACCOUNT[scope]])


async def account_edit(w: World, actor: str, scope: str) -> object:
    return await w.platform.accounts.edit(w.p(actor), w.ids[TARGET_ACCOUNT[scope]], name="改名")


async def account_disable(w: World, actor: str, scope: str) -> object:
    return await w.platform.accounts.set_disabled(w.p(actor), w.ids[TARGET_ACCOUNT[scope]], True)


async def account_reset(w: World, actor: str, scope: str) -> object:
    return await w.platform.accounts.reset_password(
        w.p(actor), w.ids[TARGET_ACCOUNT[scope]], "reset1234"
    )


async def account_kick(w: World, actor: str, scope: str) -> object:
    return await w.platform.accounts.kick_out(w.p(actor), w.ids[TARGET_ACCOUNT[scope]])


async def account_create(w: World, actor: str, scope: str) -> object:
    return await w.platform.accounts.create(
        w.p(actor),
        login=f"new-{actor.replace('_', '-')}-{scope}",
        name="新人",
        password=PASSWORD,
        role=Role.SALESPERSON,
        org_id=w.ids[TARGET_ORG[scope]],
    )


async def account_list(w: World, actor: str, scope: str) -> object:
    page = await w.platform.accounts.list(
        w.p(actor), AccountFilter(org_id=w.ids[TARGET_ORG[scope]])
    )
    # Listing never fails for an admin, but must never show anything outside the scope.
    if not page.items:
        raise NotAccessible("organization", w.ids[TARGET_ORG[scope]])
    return page


async def account_delete(w: World, actor: str, scope: str) -> object:
    return await w.platform.accounts.delete(w.p(actor), w.ids[TARGET_ACCOUNT[scope]])


OPERATIONS: list[tuple[str, Op]] = [
    ("org.get", org_get),
    ("org.edit", org_edit),
    ("org.disable", org_disable),
    ("account.get", account_get),
    ("account.edit", account_edit),
    ("account.reset_password", account_reset),
    ("account.kick_out", account_kick),
    ("account.create", account_create),
    ("account.list", account_list),
    ("account.disable", account_disable),
    ("account.delete", account_delete),
]

# What the manual's table (§三) allows, written out independently of the SDK's table.
ALLOWED_IN_SCOPE = {
    "root": {name for name, _ in OPERATIONS},
    "ca_A": {name for name, _ in OPERATIONS},
    "oa_A1": {
        "org.get",
        "account.get",
        "account.edit",
        "account.reset_password",
        "account.kick_out",
        "account.create",
        "account.list",
        "account.disable",
        "account.delete",
    },
    "sp_A1": {"org.get"},
}


@pytest.fixture
async def world(database_url: str, fast_config: PlatformConfig) -> World:
    return await build_world(database_url, fast_config)


@pytest.mark.parametrize("actor", sorted(ALLOWED_IN_SCOPE))
async def test_permission_matrix(world: World, actor: str) -> None:
    outcomes: dict[tuple[str, str], bool] = {}
    try:
        for scope in ("in", "out"):
            for name, op in OPERATIONS:
                try:
                    await op(world, actor, scope)
                    outcomes[name, scope] = True
                except PermissionDenied:
                    outcomes[name, scope] = False
    finally:
        await world.platform.close()
    expected = {}
    for name, _ in OPERATIONS:
        expected[name, "in"] = name in ALLOWED_IN_SCOPE[actor]
        expected[name, "out"] = actor == "root"
    assert outcomes == expected


async def test_ids_outside_the_scope_look_exactly_like_missing_ones(world: World) -> None:
    p = world.platform
    try:
        oa = world.p("oa_A1")
        missing = "0" * 32
        for getter in (p.accounts.get, p.organizations.get):
            target = world.ids["sp_B1"] if getter == p.accounts.get else world.ids["B1"]
            with pytest.raises(NotAccessible) as outside:
                await getter(oa, target)
            with pytest.raises(NotAccessible) as absent:
                await getter(oa, missing)
            assert isinstance(outside.value, NotFound)
            assert str(outside.value).replace(target, missing) == str(absent.value)
    finally:
        await p.close()


async def test_salesperson_sees_only_themselves(world: World) -> None:
    p = world.platform
    try:
        me = world.p("sp_A1")
        assert (await p.accounts.get(me, me.account_id)).login == "sp-A1"
        with pytest.raises(NotAccessible):
            await p.accounts.get(me, world.ids["oa_A1"])
        with pytest.raises(PermissionDenied):
            await p.accounts.list(me)
        assert [o.id for o in await p.organizations.list(me)] == [world.ids["A1"]]
        # They may change their own name and phone, nothing else.
        assert (await p.accounts.edit(me, me.account_id, name="小王")).name == "小王"
    finally:
        await p.close()


async def test_an_admin_cannot_lock_themselves_out_or_act_on_peers(world: World) -> None:
    p = world.platform
    try:
        with pytest.raises(PermissionDenied):
            await p.accounts.set_disabled(world.p("oa_A1"), world.ids["oa_A1"], True)
        with pytest.raises(PermissionDenied):
            await p.accounts.kick_out(world.p("oa_A1"), world.ids["oa_A2"])
        with pytest.raises(PermissionDenied):
            await p.accounts.delete(world.p("ca_A"), world.ids["ca_A"])
    finally:
        await p.close()
