"""A small world for platform tests: two companies, three organizations, every role."""

from __future__ import annotations

import attrs

from zhanye_sdk import Platform
from zhanye_sdk.clock import ManualClock
from zhanye_sdk.platform import PlatformConfig, Principal, Role, ServiceHours

PASSWORD = "Kv8-secret-pass"
#: Company codes: A is the home company (bare logins); B's people sign in as login@bank-b.
CODES = {"A": "bank-a", "B": "bank-b"}


def sign_in(login: str) -> str:
    """What the world's person with ``login`` writes to sign in (``sp-B1`` → ``sp-B1@bank-b``)."""
    return f"{login}@{CODES['B']}" if login.endswith("B") or login.endswith("B1") else login


@attrs.define
class World:
    platform: Platform
    clock: ManualClock
    super_admin: Principal
    ids: dict[str, str] = attrs.field(factory=dict)
    principals: dict[str, Principal] = attrs.field(factory=dict)

    def p(self, name: str) -> Principal:
        return self.principals[name]


async def build_world(url: str, config: PlatformConfig) -> World:
    clock = ManualClock()
    platform = await Platform.open(url, config=config, clock=clock)
    await platform.auth.bootstrap_super_admin("root", PASSWORD, "平台管理员")
    root = await platform.auth.authenticate((await platform.auth.login("root", PASSWORD)).token)
    world = World(platform=platform, clock=clock, super_admin=root)
    for company in ("A", "B"):
        created = await platform.companies.create(root, f"公司{company}", code=CODES[company])
        world.ids[company] = created.id
    orgs = {"A1": "A", "A2": "A", "B1": "B"}
    for org, company in orgs.items():
        created = await platform.organizations.create(
            root, f"机构{org}", hours=ServiceHours(), company_id=world.ids[company]
        )
        world.ids[org] = created.id
    people = [
        ("ca_A", Role.COMPANY_ADMIN, "A", None),
        ("ca_B", Role.COMPANY_ADMIN, "B", None),
        ("oa_A1", Role.ORG_ADMIN, "A", "A1"),
        ("oa_A2", Role.ORG_ADMIN, "A", "A2"),
        ("sp_A1", Role.SALESPERSON, "A", "A1"),
        ("sp2_A1", Role.SALESPERSON, "A", "A1"),
        ("sp_A2", Role.SALESPERSON, "A", "A2"),
        ("sp_B1", Role.SALESPERSON, "B", "B1"),
    ]
    for login, role, company, org in people:
        account = await platform.accounts.create(
            root,
            login=login.replace("_", "-"),
            name=login,
            password=PASSWORD,
            role=role,
            org_id=world.ids[org] if org else None,
            company_id=world.ids[company],
            phone="13800138000",
        )
        world.ids[login] = account.id
        token = (await platform.auth.login(sign_in(login.replace("_", "-")), PASSWORD)).token
        world.principals[login] = await platform.auth.authenticate(token)
    world.principals["root"] = root
    return world
