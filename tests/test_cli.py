"""The ``zhanye`` command line, run as a real program against a SQLite file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from zhanye_sdk import Platform, cli
from zhanye_sdk.cli import main
from zhanye_sdk.materials import ContentKind, MaterialKind
from zhanye_sdk.platform import PasswordHashing, Role

from . import material_files as files

pytestmark = pytest.mark.anyio

FAST = PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1)
SCRIPT = Path(sys.executable).with_name("zhanye")


def zhanye(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``zhanye`` script (or its entry point when not installed)."""
    command = (
        [str(SCRIPT)]
        if SCRIPT.exists()
        else [sys.executable, "-c", "import sys; from zhanye_sdk.cli import main; sys.exit(main())"]
    )
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **(env or {})},
    )


def demo_accounts(output: str) -> dict[str, tuple[str, str]]:
    """login → (password, role) from the table demo-data prints at the end."""
    table = output.split("demo accounts (login / password / role):", 1)[1]
    return {
        m["login"]: (m["password"], m["role"])
        for m in re.finditer(r"^\s+(?P<login>\S+)\s+(?P<password>\S+)\s+(?P<role>\w+)", table, re.M)
    }


async def test_demo_data_twice_then_every_demo_account_logs_in_and_sees_materials(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    first = zhanye("--db", db, "demo-data")
    assert first.returncode == 0, first.stderr
    assert "created company 演示银行" in first.stdout
    assert "created organization 远程展业测试机构" in first.stdout
    assert "100%" in first.stderr  # the upload and conversion progress bars
    second = zhanye("--db", db, "demo-data")
    assert second.returncode == 0, second.stderr
    assert "created" not in second.stdout and "added" not in second.stdout
    accounts = demo_accounts(second.stdout)
    assert accounts == demo_accounts(first.stdout)
    roles = {role for _, role in accounts.values()}
    assert {"super_admin", "company_admin", "org_admin", "salesperson"} <= roles

    async with await Platform.open(db) as platform:
        for login, (password, role) in accounts.items():
            actor = await platform.auth.authenticate(
                (await platform.auth.login(login, password)).token
            )
            assert actor.role is Role(role)
            if actor.role is Role.SUPER_ADMIN:
                continue
            listed = await platform.materials.list(actor)
            kinds = sorted((m.kind, m.content_kind or "") for m in listed.items)
            # Exactly one of each: running twice duplicated nothing.
            assert kinds == [
                (MaterialKind.ASSESSMENT, ""),  # the risk-tolerance questionnaire (测评)
                (MaterialKind.FILE, ContentKind.PDF),
                (MaterialKind.FILE, ContentKind.PPTX),
                (MaterialKind.LINK, ""),
                (MaterialKind.LINK, ""),
            ], login
            by_kind = {m.content_kind: m for m in listed.items}
            pdf_pages = await platform.materials.pages(actor, by_kind[ContentKind.PDF].id)
            pptx_pages = await platform.materials.pages(actor, by_kind[ContentKind.PPTX].id)
            assert (len(pdf_pages), len(pptx_pages)) == (4, 4)
            assert {p.width for p in pdf_pages + pptx_pages} == {1280}
            links = [m for m in listed.items if m.kind is MaterialKind.LINK]
            assert any(link.has_audio for link in links)
            assert all(link.url and link.url.startswith("http://") for link in links)
            (assessment,) = [m for m in listed.items if m.kind is MaterialKind.ASSESSMENT]
            assert assessment.url and assessment.url.endswith("/demo/h5/risk-assessment.html")


def test_commands_create_a_platform_step_by_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other commands, run in-process through the same ``main`` the script calls."""

    def run(*args: str) -> tuple[int, str, str]:
        status = main(["--db", db, *args])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    db = f"sqlite:///{tmp_path / 'p.db'}"
    # Cheap password hashing (the real parameters take ~0.2 s a hash, twice a command).
    fast = attrs.evolve(
        cli.platform_config(cli._parser().parse_args(["materials"])), passwords=FAST
    )
    monkeypatch.setattr(cli, "platform_config", lambda args: fast)
    assert run("init-admin", "--login", "root", "--admin-password", "Rt-4711-admin")[0] == 0
    monkeypatch.setenv("ZHANYE_USER", "root")
    monkeypatch.setenv("ZHANYE_PASSWORD", "Rt-4711-admin")
    assert run("create-company", "测试银行")[0] == 0
    status, out, _ = run(
        "create-org", "午休机构", "--company", "测试银行", "--morning", "09:00-12:00",
        "--afternoon", "13:30-18:00",
    )  # fmt: skip
    assert status == 0 and "09:00:00–12:00:00, 13:30:00–18:00:00" in out
    status, _, err = run("create-org", "坏机构", "--company", "测试银行", "--morning", "9点")
    assert status == 1 and "expected e.g. 09:00-12:00" in err
    status, out, err = run(
        "create-account", "boss", "--name", "王经理", "--role", "org_admin", "--org", "午休机构",
        "--company", "测试银行", "--new-password", "Wj-4711-manager",
    )  # fmt: skip
    assert status == 0, err

    monkeypatch.setenv("ZHANYE_USER", "boss")
    monkeypatch.setenv("ZHANYE_PASSWORD", "Wj-4711-manager")
    pdf = tmp_path / "产品手册.pdf"
    pdf.write_bytes(files.pdf(2))
    status, out, err = run("upload", str(pdf))
    assert status == 0, err
    assert "产品手册.pdf: 2 page(s)" in out
    assert "upload" in err and "100%" in err and "2 / 2 pages" in err
    # A program renamed .pdf is refused with the SDK's message, and nothing is added.
    fake = tmp_path / "invoice.pdf"
    fake.write_bytes(Path(sys.executable).read_bytes()[:100_000])
    status, _, err = run("upload", str(fake))
    assert status == 1 and "ELF executable" in err and "accepted are" in err
    status, out, _ = run("add-link", "会议同屏-demo链接", "https://example.com/h5", "--has-audio")
    assert status == 0
    status, out, _ = run("materials")
    assert status == 0 and "2 material(s)" in out and "产品手册.pdf" in out
    status, _, err = run("--password", "wrong1234", "materials")
    assert status == 1 and "login or password is wrong" in err
