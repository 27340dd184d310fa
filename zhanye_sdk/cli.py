"""The ``zhanye`` command line: set up a platform, add people and materials, seed a demo.

Every command opens the platform at ``--db`` (default ``sqlite:///zhanye.db``; or
``postgresql://user:password@host/db``) and acts through the SDK's public services as
a real, logged-in account: ``--user`` / ``--password`` (or ``ZHANYE_USER`` /
``ZHANYE_PASSWORD``; asked for on a terminal). Examples::

    zhanye init-admin --login root --name 平台管理员
    zhanye --user root create-company 演示银行
    zhanye --user root create-org 远程展业测试机构 --company 演示银行 \\
        --morning 09:00-12:00 --afternoon 13:30-18:00
    zhanye --user root create-account wang --name 王经理 --role org_admin \\
        --org 远程展业测试机构 --company 演示银行
    zhanye --user wang upload 产品手册.pdf
    zhanye demo-data
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TextIO

import anyio
import anyio.to_thread

from zhanye_sdk.errors import ConflictError, InvalidInput, ZhanyeError
from zhanye_sdk.facade import Platform
from zhanye_sdk.materials import Material, MaterialKind, identify
from zhanye_sdk.materials.kinds import VIDEO_KINDS
from zhanye_sdk.materials.samples import sample_pdf, sample_pptx
from zhanye_sdk.platform import (
    AccountFilter,
    AuthenticationFailed,
    Company,
    Organization,
    PlatformConfig,
    Principal,
    Role,
    ServiceHours,
    ServiceWindow,
)
from zhanye_sdk.platform.config import MaterialSettings
from zhanye_sdk.sop.demo import DEMO_TEMPLATE, seed_demo_sop

__all__ = ["main"]

DEFAULT_DB = "sqlite:///zhanye.db"


class ProgressBar:
    """A one-line text progress bar on a stream: ``label [#####-----]  50% detail``."""

    def __init__(self, label: str, *, stream: TextIO | None = None, width: int = 30) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self._last = ""

    def show(self, fraction: float, detail: str) -> None:
        """Redraw the bar at ``fraction`` (0–1) with ``detail`` after it."""
        fraction = min(1.0, max(0.0, fraction))
        filled = round(self.width * fraction)
        line = (
            f"{self.label:<10} [{'#' * filled}{'-' * (self.width - filled)}] "
            f"{fraction * 100:3.0f}% {detail}"
        )
        if line != self._last:
            self.stream.write("\r" + line.ljust(len(self._last)))
            self.stream.flush()
            self._last = line

    def on_bytes(self, done: int, total: int) -> None:
        """Progress of bytes written."""
        self.show(done / total if total else 1.0, f"{_size(done)} / {_size(total)}")

    def on_pages(self, done: int, total: int) -> None:
        """Progress of pages converted; (0, 0) while LibreOffice works."""
        if total == 0:
            self.show(0.0, "converting with LibreOffice…")
        else:
            self.show(done / total, f"{done} / {total} pages")

    def finish(self) -> None:
        """End the line."""
        if self._last:
            self.stream.write("\n")
            self.stream.flush()


def _size(count: int) -> str:
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KB"
    return f"{count / (1024 * 1024):.1f} MB"


def _window(text: str | None) -> ServiceWindow | None:
    if text is None:
        return None
    start, sep, end = text.partition("-")
    if not sep:
        raise InvalidInput(f"service window {text!r} is not valid; expected e.g. 09:00-12:00")
    return ServiceWindow.parse(start, end)


def _secret(given: str | None, env: str, prompt: str) -> str:
    """A password from the option, the environment, or the terminal."""
    if given:
        return given
    if os.environ.get(env):
        return os.environ[env]
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    raise InvalidInput(f"no password given: use the option or set {env}")


class Session:
    """The open platform and the commands' shared helpers."""

    def __init__(
        self, platform: Platform, config: PlatformConfig, args: argparse.Namespace, out: TextIO
    ) -> None:
        self.platform = platform
        self.config = config
        self.args = args
        self.out = out
        self._tokens: list[str] = []

    def say(self, text: str) -> None:
        """Print a line of output."""
        print(text, file=self.out, flush=True)

    async def login(self, login: str, password: str) -> Principal:
        """Log in for real and return the principal (logged out when the command ends)."""
        result = await self.platform.auth.login(login, password, client_address=None)
        self._tokens.append(result.token)
        return await self.platform.auth.authenticate(result.token)

    async def acting(self) -> Principal:
        """The principal named by ``--user`` / ``--password``."""
        login = self.args.user or os.environ.get("ZHANYE_USER")
        if not login:
            raise InvalidInput("this command acts as an account: pass --user (or ZHANYE_USER)")
        password = _secret(self.args.password, "ZHANYE_PASSWORD", f"password of {login}: ")
        return await self.login(login, password)

    async def logout(self) -> None:
        """Revoke the logins this command made."""
        for token in self._tokens:
            await self.platform.auth.logout(token)

    async def company(self, actor: Principal, name_or_id: str | None) -> Company:
        """A company the actor sees, by name or id (the actor's own when not given)."""
        companies = await self.platform.companies.list(actor)
        if name_or_id is None:
            if actor.company_id is not None:
                return await self.platform.companies.get(actor, actor.company_id)
            raise InvalidInput("name the company with --company")
        for company in companies:
            if name_or_id in (company.id, company.name):
                return company
        raise InvalidInput(f"no company {name_or_id!r}")

    async def organization(
        self, actor: Principal, name_or_id: str, company_id: str | None = None
    ) -> Organization:
        """An organization the actor sees, by name (within ``company_id``) or id."""
        matches = [
            org
            for org in await self.platform.organizations.list(actor)
            if name_or_id in (org.id, org.name) and company_id in (None, org.company_id)
        ]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise InvalidInput(f"no organization {name_or_id!r}")
        raise InvalidInput(f"several organizations are called {name_or_id!r}; use --company")


# ---------------------------------------------------------------------- commands


async def cmd_init_admin(s: Session) -> None:
    password = _secret(s.args.admin_password, "ZHANYE_PASSWORD", "new super admin password: ")
    account = await s.platform.auth.bootstrap_super_admin(s.args.login, password, s.args.name)
    s.say(f"created super admin {account.login} (id {account.id})")


async def cmd_create_company(s: Session) -> None:
    actor = await s.acting()
    company = await s.platform.companies.create(actor, s.args.name, code=s.args.code)
    s.say(f"created company {company.name} (id {company.id}, code {company.code})")


async def cmd_create_org(s: Session) -> None:
    actor = await s.acting()
    company = await s.company(actor, s.args.company)
    hours = ServiceHours(
        morning=_window(s.args.morning),
        afternoon=_window(s.args.afternoon),
        timezone=s.args.timezone,
    )
    org = await s.platform.organizations.create(
        actor, s.args.name, hours=hours, company_id=company.id
    )
    s.say(
        f"created organization {org.name} in {company.name} (id {org.id}), hours {hours.describe()}"
    )


async def cmd_create_account(s: Session) -> None:
    actor = await s.acting()
    role = Role(s.args.role)
    company = await s.company(actor, s.args.company)
    org_id = None
    if role is not Role.COMPANY_ADMIN:
        if not s.args.org:
            raise InvalidInput(f"a {role.value} belongs to an organization: pass --org")
        org_id = (await s.organization(actor, s.args.org, company.id)).id
    password = _secret(s.args.new_password, "ZHANYE_NEW_PASSWORD", f"password for {s.args.login}: ")
    account = await s.platform.accounts.create(
        actor,
        login=s.args.login,
        name=s.args.name,
        password=password,
        role=role,
        org_id=org_id,
        company_id=company.id,
        phone=s.args.phone,
    )
    s.say(f"created {role.value} {account.login} (id {account.id})")


async def upload(
    s: Session,
    actor: Principal,
    name: str,
    data: bytes,
    *,
    org_ids: list[str] | None = None,
    convert: bool = True,
    stream: TextIO | None = None,
) -> Material:
    """Upload a file or video with a progress bar, then convert a document's pages."""
    materials = s.platform.materials
    bar = ProgressBar("upload", stream=stream)
    is_video = (await anyio.to_thread.run_sync(identify, data)).kind in VIDEO_KINDS
    try:
        if is_video:
            material = await materials.upload_video(
                actor, name, data, org_ids=org_ids, progress=bar.on_bytes
            )
        else:
            material = await materials.upload_file(
                actor, name, data, org_ids=org_ids, progress=bar.on_bytes
            )
    finally:
        bar.finish()
    if convert and material.kind is MaterialKind.FILE:
        bar = ProgressBar("convert", stream=stream)
        try:
            pages = await materials.convert(actor, material.id, bar.on_pages)
        finally:
            bar.finish()
        s.say(f"{material.name}: {len(pages)} page(s)")
    return material


async def cmd_upload(s: Session) -> None:
    actor = await s.acting()
    path = anyio.Path(s.args.file)
    if not await path.is_file():
        raise InvalidInput(f"{path} is not a file")
    largest = max(s.config.materials.max_file_bytes, s.config.materials.max_video_bytes)
    if (await path.stat()).st_size > largest:
        raise InvalidInput(f"{path} is larger than any material may be ({_size(largest)})")
    org_ids = None
    if s.args.org:
        org_ids = [(await s.organization(actor, org)).id for org in s.args.org]
    data = await path.read_bytes()
    material = await upload(
        s, actor, s.args.name or path.name, data, org_ids=org_ids, convert=not s.args.no_convert
    )
    s.say(f"uploaded {material.name} as a {material.content_kind} (id {material.id})")


async def cmd_add_link(s: Session) -> None:
    actor = await s.acting()
    org_ids = None
    if s.args.org:
        org_ids = [(await s.organization(actor, org)).id for org in s.args.org]
    material = await s.platform.materials.add_link(
        actor,
        s.args.name,
        s.args.url,
        title=s.args.title,
        has_audio=s.args.has_audio,
        org_ids=org_ids,
    )
    s.say(f"added link {material.name} (id {material.id})")


async def cmd_materials(s: Session) -> None:
    actor = await s.acting()
    kind = MaterialKind(s.args.kind) if s.args.kind else None
    found = await s.platform.materials.list(actor, kind, s.args.keyword, limit=500)
    for m in found.items:
        what = m.url if m.kind.is_page else f"{m.content_kind}, {_size(m.size or 0)}"
        s.say(f"{m.id}  {m.kind.value:<5}  {m.name}  ({what})")
    s.say(f"{found.total} material(s)")


# ------------------------------------------------------------------- demo data

DEMO_COMPANY = "演示银行"
DEMO_ROOT = ("demo-root", "root12345", "平台管理员")
# (login, password, name, role, organization)
DEMO_ACCOUNTS = [
    ("demo-admin", "Admin-2024-demo", "演示公司管理员", Role.COMPANY_ADMIN, None),
    ("demo-org-admin", "orgadmin1234", "机构管理员小李", Role.ORG_ADMIN, "远程展业测试机构"),
    ("demo-sales", "sales1234", "业务员小王", Role.SALESPERSON, "远程展业测试机构"),
    ("demo-sales2", "sales1234", "业务员小张", Role.SALESPERSON, "远程展业测试机构"),
    ("demo-sales3", "sales1234", "业务员小赵", Role.SALESPERSON, "招商展业测试机构2"),
]
# The manual's organizations (§4.8); the second keeps a lunch break.
DEMO_ORGS = [
    ("远程展业测试机构", "00:00:00-23:59:59", "00:00:00-23:59:59"),
    ("招商展业测试机构1", "00:00:00-23:59:59", "00:00:00-23:59:59"),
    ("招商展业测试机构2", "09:00-12:00", "13:30-18:00"),
]
DEMO_ASSESSMENT = "风险承受能力测评"
DEMO_PDF = "安心保终身寿险产品手册.pdf"
DEMO_PPTX = "演示银行稳健理财产品介绍.pptx"


def demo_pdf() -> bytes:
    """The demo's multi-page product brochure."""
    return sample_pdf(
        "安心保终身寿险",
        [
            (
                "产品概览",
                ["终身保障，身故保险金给付", "缴费期：趸交 / 5 年 / 10 年", "投保年龄：0–65 周岁"],
            ),
            (
                "产品亮点",
                [
                    "保额逐年递增 3.5%",
                    "可减保取现，灵活应对教育、养老",
                    "保单贷款，最高现金价值 80%",
                ],
            ),
            (
                "保障责任",
                ["身故保险金：已交保费 × 160% 与现金价值较大者", "全残保险金：同身故保险金"],
            ),
            (
                "投保须知",
                ["请仔细阅读保险条款及责任免除", "犹豫期 15 天，期内退保无损失", "本资料仅供演示"],
            ),
        ],
    )


def demo_pptx() -> bytes:
    """The demo's slide deck."""
    return sample_pptx(
        "演示银行稳健理财产品介绍",
        [
            ("产品要素", ["风险等级：R2 中低风险", "业绩比较基准：3.2%–3.8%", "起购金额：1 万元"]),
            ("适合人群", ["追求稳健收益的客户", "1 年以上闲置资金"]),
            ("风险提示", ["理财非存款，产品有风险，投资须谨慎", "过往业绩不代表未来表现"]),
        ],
    )


async def _demo_root(s: Session) -> Principal:
    """The super admin: ``--user`` if given, else the demo's own (created on first run)."""
    if s.args.user or os.environ.get("ZHANYE_USER"):
        return await s.acting()
    login, password, name = DEMO_ROOT
    try:
        return await s.login(login, password)
    except AuthenticationFailed:
        pass
    try:
        await s.platform.auth.bootstrap_super_admin(login, password, name)
    except ConflictError:
        raise InvalidInput(
            "this platform already has a super admin; run demo-data with --user and "
            "--password of that super admin"
        ) from None
    s.say(f"created super admin {login}")
    return await s.login(login, password)


async def _ensure_account(
    s: Session,
    actor: Principal,
    company: Company,
    orgs: dict[str, Organization],
    spec: tuple[str, str, str, Role, str | None],
) -> None:
    login, password, name, role, org_name = spec
    existing = await s.platform.accounts.list(actor, AccountFilter(login=login))
    if any(a.login == login for a in existing.items):
        return
    await s.platform.accounts.create(
        actor,
        login=login,
        name=name,
        password=password,
        role=role,
        org_id=orgs[org_name].id if org_name else None,
        company_id=company.id,
    )
    s.say(f"created {role.value} {login}")


async def cmd_demo_data(s: Session) -> None:
    root = await _demo_root(s)
    company = next(
        (c for c in await s.platform.companies.list(root) if c.name == DEMO_COMPANY), None
    )
    if company is None:
        company = await s.platform.companies.create(root, DEMO_COMPANY)
        s.say(f"created company {company.name}")
    await _ensure_account(s, root, company, {}, DEMO_ACCOUNTS[0])
    admin = await s.login(DEMO_ACCOUNTS[0][0], DEMO_ACCOUNTS[0][1])

    orgs = {o.name: o for o in await s.platform.organizations.list(admin)}
    for name, morning, afternoon in DEMO_ORGS:
        if name not in orgs:
            hours = ServiceHours(morning=_window(morning), afternoon=_window(afternoon))
            orgs[name] = await s.platform.organizations.create(admin, name, hours=hours)
            s.say(f"created organization {name} ({hours.describe()})")
    for spec in DEMO_ACCOUNTS[1:]:
        await _ensure_account(s, admin, company, orgs, spec)

    have = {(m.kind, m.name) for m in (await s.platform.materials.list(admin, limit=500)).items}
    if (MaterialKind.FILE, DEMO_PDF) not in have:
        await upload(s, admin, DEMO_PDF, await anyio.to_thread.run_sync(demo_pdf))
    if (MaterialKind.FILE, DEMO_PPTX) not in have:
        await upload(s, admin, DEMO_PPTX, await anyio.to_thread.run_sync(demo_pptx))
    brochure = next(
        m
        for m in (await s.platform.materials.list(admin, limit=500)).items
        if (m.kind, m.name) == (MaterialKind.FILE, DEMO_PDF)
    )
    if await seed_demo_sop(s.platform, admin, brochure.id):
        s.say(f"added the SOP library, flow and template {DEMO_TEMPLATE} over {DEMO_PDF}")
    base = s.args.h5_base.rstrip("/")
    links = [
        (
            "有音频UAT链接",
            f"{base}/demo/h5/anxinbao.html?audio=1",
            "安心保终身寿险（有音频）",
            True,
        ),  # noqa: E501
        ("会议同屏-demo链接", f"{base}/demo/h5/product.html", "百万安心疗", False),
    ]
    for name, url, title, has_audio in links:
        if (MaterialKind.LINK, name) not in have:
            await s.platform.materials.add_link(admin, name, url, title=title, has_audio=has_audio)
            s.say(f"added link {name}")
    if (MaterialKind.ASSESSMENT, DEMO_ASSESSMENT) not in have:
        await s.platform.materials.add_link(
            admin,
            DEMO_ASSESSMENT,
            f"{base}/demo/h5/risk-assessment.html",
            title="客户风险承受能力评估问卷",
            assessment=True,
        )
        s.say(f"added assessment {DEMO_ASSESSMENT}")

    s.say("")
    s.say(f"demo company {DEMO_COMPANY} is ready; demo accounts (login / password / role):")
    if not (s.args.user or os.environ.get("ZHANYE_USER")):
        s.say(f"  {DEMO_ROOT[0]:<16} {DEMO_ROOT[1]:<14} {Role.SUPER_ADMIN.value}")
    for login, password, _name, role, org_name in DEMO_ACCOUNTS:
        where = f" ({org_name})" if org_name else ""
        s.say(f"  {login:<16} {password:<14} {role.value}{where}")


# ------------------------------------------------------------------------ main

Command = Callable[[Session], Awaitable[None]]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zhanye",
        description="Administer a zhanye platform: companies, organizations, accounts, materials.",
    )
    parser.add_argument(
        "--db",
        default=os.environ.get("ZHANYE_DB", DEFAULT_DB),
        help=f"database URL (default {DEFAULT_DB}; or postgresql://user:pw@host/db)",
    )
    parser.add_argument(
        "--materials", type=Path, help="material storage folder (default: beside the database)"
    )
    parser.add_argument("--user", help="login of the account to act as (or ZHANYE_USER)")
    parser.add_argument("--password", help="its password (or ZHANYE_PASSWORD; else asked)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: Command, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(run=run)
        return sub

    sub = command("init-admin", cmd_init_admin, "create the platform's super admin (once)")
    sub.add_argument("--login", required=True)
    sub.add_argument("--name", default="平台管理员")
    sub.add_argument("--admin-password", help="the new password (or ZHANYE_PASSWORD; else asked)")

    sub = command("create-company", cmd_create_company, "create a company (super admin)")
    sub.add_argument("name")
    sub.add_argument(
        "--code", help="公司代码: its people sign in as login@code (default: a random one)"
    )

    sub = command("create-org", cmd_create_org, "create an organization with service windows")
    sub.add_argument("name")
    sub.add_argument("--company", help="company name or id (the super admin must say)")
    sub.add_argument("--morning", help="morning window, e.g. 09:00-12:00")
    sub.add_argument("--afternoon", help="afternoon window, e.g. 13:30-18:00")
    sub.add_argument("--timezone", default="Asia/Shanghai")

    sub = command("create-account", cmd_create_account, "create a staff account")
    sub.add_argument("login")
    sub.add_argument("--name", required=True)
    sub.add_argument(
        "--role", required=True, choices=[r.value for r in Role if r is not Role.SUPER_ADMIN]
    )
    sub.add_argument("--org", help="organization name or id (salespeople and org admins)")
    sub.add_argument("--company", help="company name or id (when acting as the super admin)")
    sub.add_argument("--phone")
    sub.add_argument("--new-password", help="its password (or ZHANYE_NEW_PASSWORD; else asked)")

    sub = command("upload", cmd_upload, "upload a document, image or video, with progress")
    sub.add_argument("file")
    sub.add_argument("--name", help="name in the library (default: the file name)")
    sub.add_argument("--org", action="append", help="show it in this organization (repeatable)")
    sub.add_argument("--no-convert", action="store_true", help="do not make page images now")

    sub = command("add-link", cmd_add_link, "add an H5 link material")
    sub.add_argument("name")
    sub.add_argument("url")
    sub.add_argument("--title")
    sub.add_argument("--has-audio", action="store_true")
    sub.add_argument("--org", action="append", help="show it in this organization (repeatable)")

    sub = command("materials", cmd_materials, "list the materials the account sees")
    sub.add_argument("--kind", choices=[k.value for k in MaterialKind])
    sub.add_argument("--keyword")

    sub = command("demo-data", cmd_demo_data, "seed the demo company 演示银行 (idempotent)")
    sub.add_argument(
        "--h5-base",
        default="http://127.0.0.1:8080",
        help="where the web host serves the demo H5 page (default http://127.0.0.1:8080)",
    )
    return parser


def platform_config(args: argparse.Namespace) -> PlatformConfig:
    """The settings the command line opens the platform with."""
    if args.materials is not None:
        return PlatformConfig(materials=MaterialSettings(storage_root=args.materials))
    return PlatformConfig()


async def _run(args: argparse.Namespace, out: TextIO) -> None:
    config = platform_config(args)
    platform = await Platform.open(args.db, config=config)
    session = Session(platform, config, args, out)
    try:
        await args.run(session)
    finally:
        try:
            await session.logout()
        finally:
            await platform.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (1 on a refused operation)."""
    args = _parser().parse_args(argv)
    try:
        anyio.run(_run, args, sys.stdout)
    except ZhanyeError as exc:
        print(f"zhanye: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("zhanye: interrupted", file=sys.stderr)
        return 130
    return 0
