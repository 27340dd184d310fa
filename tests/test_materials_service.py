"""The material library through the SDK, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import importlib
import inspect
import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.errors import InvalidInput, NotFound, PermissionDenied
from zhanye_sdk.materials import Audience, ContentKind, Material, MaterialKind, check_link_url
from zhanye_sdk.platform import NotAccessible, PlatformConfig
from zhanye_sdk.platform.config import MaterialSettings

from . import material_files as files
from .platform_world import World, build_world

pytestmark = pytest.mark.anyio

EVERYONE = ["ca_A", "ca_B", "oa_A1", "oa_A2", "sp_A1", "sp2_A1", "sp_A2", "sp_B1"]


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def untouched(root: Path) -> bool:
    """Nothing was written: not even the storage folder was created."""
    return not root.exists()


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    return tmp_path / "materials"


@pytest.fixture
async def world(
    database_url: str, fast_config: PlatformConfig, store_root: Path
) -> AsyncIterator[World]:
    config = attrs.evolve(
        fast_config,
        materials=MaterialSettings(
            storage_root=store_root, max_file_bytes=200_000, max_video_bytes=400_000
        ),
    )
    w = await build_world(database_url, config)
    try:
        yield w
    finally:
        await w.platform.close()


async def seers(world: World, material: Material) -> set[str]:
    """Who can get the material, and who finds it in their list."""
    got, listed = set(), set()
    for name in EVERYONE:
        actor = world.p(name)
        try:
            await world.platform.materials.get(actor, material.id)
            got.add(name)
        except NotAccessible:
            pass
        page = await world.platform.materials.list(actor)
        if material.id in {m.id for m in page.items}:
            listed.add(name)
    assert got == listed
    return got


async def test_visibility_follows_the_uploaders_role_and_chosen_orgs(world: World) -> None:
    m = world.platform.materials
    pdf = files.pdf(1)

    everywhere = await m.upload_file(world.p("ca_A"), "产品手册.pdf", pdf)
    assert (everywhere.audience, everywhere.org_ids) == (Audience.COMPANY, ())
    assert (everywhere.content_kind, everywhere.size) == (ContentKind.PDF, len(pdf))
    assert await seers(world, everywhere) == {
        "ca_A",
        "oa_A1",
        "oa_A2",
        "sp_A1",
        "sp2_A1",
        "sp_A2",
    }

    only_a2 = await m.upload_file(world.p("ca_A"), "A2 专用", pdf, org_ids=[world.ids["A2"]])
    assert (only_a2.audience, only_a2.org_ids) == (Audience.ORGS, (world.ids["A2"],))
    assert await seers(world, only_a2) == {"ca_A", "oa_A2", "sp_A2"}

    org_link = await m.add_link(
        world.p("oa_A1"), "有音频UAT链接", "https://h5.example.com/p?id=1", has_audio=True
    )
    assert (org_link.kind, org_link.has_audio, org_link.org_ids) == (
        MaterialKind.LINK,
        True,
        (world.ids["A1"],),
    )
    assert await seers(world, org_link) == {"ca_A", "oa_A1", "sp_A1", "sp2_A1"}

    own = await m.upload_file(world.p("sp_A1"), "我的笔记.png", files.image("PNG"))
    assert own.audience is Audience.UPLOADER
    # Not even a colleague in the same organization sees a salesperson's own upload.
    assert await seers(world, own) == {"ca_A", "oa_A1", "sp_A1"}

    b_video = await m.upload_video(world.p("ca_B"), "宣传片", files.video("mp4"))
    assert b_video.kind is MaterialKind.VIDEO
    assert await seers(world, b_video) == {"ca_B", "sp_B1"}


async def test_choosing_organizations_is_for_admins_and_within_their_scope(world: World) -> None:
    m, pdf = world.platform.materials, files.pdf(1)
    with pytest.raises(NotAccessible):
        await m.upload_file(world.p("ca_A"), "x", pdf, org_ids=[world.ids["B1"]])
    with pytest.raises(NotAccessible):
        await m.upload_file(world.p("oa_A1"), "x", pdf, org_ids=[world.ids["A2"]])
    with pytest.raises(PermissionDenied):
        await m.upload_file(world.p("sp_A1"), "x", pdf, org_ids=[world.ids["A1"]])
    with pytest.raises(InvalidInput, match="at least one organization"):
        await m.upload_file(world.p("ca_A"), "x", pdf, org_ids=[])
    with pytest.raises(InvalidInput, match="list of organization ids"):
        await m.upload_file(world.p("ca_A"), "x", pdf, org_ids=world.ids["A1"])
    with pytest.raises(PermissionDenied):
        await m.upload_file(world.super_admin, "x", pdf)
    with pytest.raises(PermissionDenied):
        await m.list(world.super_admin)
    assert (await m.list(world.p("ca_A"))).total == 0


async def test_ids_outside_the_view_look_exactly_like_missing_ones(world: World) -> None:
    m = world.platform.materials
    secret_pdf = files.pdf(2)
    secret = await m.upload_file(world.p("ca_B"), "B 公司资料", secret_pdf)
    private = await m.upload_file(world.p("sp_A1"), "私人", files.pdf(1))
    missing = "0" * 32
    for attacker, target in (("sp_A1", secret.id), ("oa_A1", secret.id), ("sp2_A1", private.id)):
        actor = world.p(attacker)
        for operation in (m.get, m.download, m.delete, m.pages):
            with pytest.raises(NotAccessible) as outside:
                await operation(actor, target)
            with pytest.raises(NotAccessible) as absent:
                await operation(actor, missing)
            assert isinstance(outside.value, NotFound)
            assert str(outside.value).replace(target, missing) == str(absent.value)
    # Still there for those who may see it.
    assert await m.download(world.p("sp_B1"), secret.id) == secret_pdf


async def test_delete_rights_and_stored_bytes_go_with_the_last_user(
    world: World, store_root: Path
) -> None:
    m = world.platform.materials
    pdf, png = files.pdf(1), files.image("PNG")
    company = await m.upload_file(world.p("ca_A"), "公司资料", pdf)
    org_doc = await m.upload_file(world.p("oa_A1"), "机构资料", pdf)
    own = await m.upload_file(world.p("sp_A1"), "自己的", png)
    assert len(stored_files(store_root)) == 2  # the same PDF is kept once

    refusals = [
        ("sp_A1", company, PermissionDenied),  # sees it, may not delete it
        ("oa_A1", company, PermissionDenied),
        ("sp_A1", org_doc, PermissionDenied),
        ("sp2_A1", own, NotAccessible),  # does not even see it
        ("oa_A2", own, NotAccessible),
        ("ca_B", company, NotAccessible),
    ]
    for actor, material, error in refusals:
        with pytest.raises(error):
            await m.delete(world.p(actor), material.id)

    await m.delete(world.p("oa_A1"), own.id)  # the org admin over the uploader
    await m.delete(world.p("ca_A"), org_doc.id)  # the company admin over everything
    assert len(stored_files(store_root)) == 1  # the PDF is still used by `company`
    await m.delete(world.p("ca_A"), company.id)
    assert stored_files(store_root) == []
    assert (await m.list(world.p("ca_A"))).total == 0

    mine = await m.add_link(world.p("sp_A1"), "链接", "http://example.com/a")
    await m.delete(world.p("sp_A1"), mine.id)  # the uploader
    with pytest.raises(NotAccessible):
        await m.get(world.p("sp_A1"), mine.id)


async def test_refused_uploads_store_nothing(world: World, store_root: Path) -> None:
    m = world.platform.materials
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("产品.pdf", files.pdf(1))
    refused = {
        "executable": (b"MZ\x90\x00\x03" + bytes(4000), "is a Windows executable"),
        "truncated pdf": (files.pdf(2)[:-3000], "truncated"),
        "plain zip": (plain_zip.getvalue(), "zip archive that is not"),
        "oversized": (files.pdf(1) + b"\n" * 200_001, "may be at most 0.2 MB"),
        "video as file": (files.video("webm"), "is a WebM video"),
    }
    for case, (data, message) in refused.items():
        for uploader in ("ca_A", "sp_A1"):
            with pytest.raises(InvalidInput, match=message):
                await m.upload_file(world.p(uploader), f"{case}.pdf", data)
    assert untouched(store_root)
    assert (await m.list(world.p("ca_A"))).total == 0


async def test_video_size_limit_and_kind(world: World, store_root: Path) -> None:
    m = world.platform.materials
    with pytest.raises(InvalidInput, match="video may be at most 0.4 MB"):
        await m.upload_video(world.p("ca_A"), "长片", bytes(400_001))
    with pytest.raises(InvalidInput, match="is a PDF; accepted are: MP4 video, WebM video"):
        await m.upload_video(world.p("ca_A"), "不是视频", files.pdf(1))
    assert untouched(store_root)
    webm = files.video("webm")
    video = await m.upload_video(world.p("sp_A1"), "录像", webm)
    assert (video.content_kind, video.mime_type) == (ContentKind.WEBM, "video/webm")
    assert await m.download(world.p("oa_A1"), video.id) == webm
    with pytest.raises(InvalidInput, match="only documents and images have pages"):
        await m.pages(world.p("sp_A1"), video.id)


BAD_LINKS = [
    "javascript:alert(1)",
    "file:///etc/passwd",
    "ftp://example.com/x",
    "/relative/page.html",
    "https://",
    "https://exa mple.com/",
    "http://example.com:99999/",
    "data:text/html,<b>x</b>",
    "https://example.com/a\nb",
    "https://example.com/" + "x" * 2100,
]


@pytest.mark.parametrize("url", BAD_LINKS)
def test_links_must_be_http_or_https(url: str) -> None:
    with pytest.raises(InvalidInput, match="link"):
        check_link_url(url)


@given(
    st.one_of(
        st.text(max_size=300),
        st.tuples(
            st.sampled_from(["http://", "HTTPS://", "https://h5.example.com", "javascript:"]),
            st.text(max_size=100),
        ).map("".join),
    )
)
def test_any_text_as_a_link_is_refused_cleanly_or_is_http(url: str) -> None:
    try:
        accepted = check_link_url(url)
    except InvalidInput:
        return
    parts = urlsplit(accepted)
    assert parts.scheme.lower() in ("http", "https") and parts.hostname
    assert not any(c.isspace() or ord(c) < 32 for c in accepted)


async def test_bad_links_are_refused_by_the_service(world: World) -> None:
    for url in BAD_LINKS[:3]:
        with pytest.raises(InvalidInput, match="http:// or https://"):
            await world.platform.materials.add_link(world.p("ca_A"), "坏链接", url)
    assert (await world.platform.materials.list(world.p("ca_A"))).total == 0


async def test_list_filters_search_and_pages(world: World) -> None:
    m, ca = world.platform.materials, world.p("ca_A")
    await m.upload_file(ca, "终身寿险产品手册", files.pdf(1))
    await m.upload_file(ca, "海报", files.image("JPEG"))
    await m.add_link(ca, "会议同屏-demo链接", "https://H5.Example.com/Demo", title="演示产品")
    await m.add_link(ca, "无音频UAT链接", "https://uat.example.com/x")
    await m.upload_video(ca, "宣传片", files.video("mp4"))

    links = await m.list(ca, kind=MaterialKind.LINK)
    assert {x.name for x in links.items} == {"会议同屏-demo链接", "无音频UAT链接"}
    assert [x.name for x in (await m.list(ca, keyword="产品手册")).items] == ["终身寿险产品手册"]
    # Case-insensitive, and the title and URL count too.
    assert [x.name for x in (await m.list(ca, keyword="h5.example")).items] == ["会议同屏-demo链接"]
    assert [x.name for x in (await m.list(ca, keyword="演示产品")).items] == ["会议同屏-demo链接"]
    assert (await m.list(ca, keyword="100%")).total == 0
    first = await m.list(ca, limit=2)
    rest = await m.list(ca, offset=2, limit=10)
    assert (first.total, len(first.items), len(rest.items)) == (5, 2, 3)
    assert {x.id for x in first.items}.isdisjoint({x.id for x in rest.items})
    with pytest.raises(InvalidInput):
        await m.list(ca, limit=0)
    with pytest.raises(InvalidInput, match="file, link, video or assessment"):
        await m.list(ca, kind="poster")  # type: ignore[arg-type]


async def test_upload_progress_and_download_round_trip(world: World) -> None:
    m = world.platform.materials
    data = files.pdf(3)
    seen: list[tuple[int, int]] = []
    material = await m.upload_file(
        world.p("sp_A1"), "三页", data, progress=lambda d, t: seen.append((d, t))
    )
    assert seen[-1] == (len(data), len(data))
    assert await m.download(world.p("sp_A1"), material.id) == data
    link = await m.add_link(world.p("sp_A1"), "链接", "https://example.com")
    with pytest.raises(InvalidInput, match="is a link"):
        await m.download(world.p("sp_A1"), link.id)


async def test_deleting_accounts_and_organizations_keeps_materials_consistent(
    world: World,
) -> None:
    p, m = world.platform, world.platform.materials
    ca = world.p("ca_A")
    left_behind = await m.upload_file(world.p("sp2_A1"), "离职员工资料", files.pdf(1))
    await p.accounts.delete(world.p("oa_A1"), world.ids["sp2_A1"])
    # The org admin over the former uploader still sees and manages it.
    assert (await m.get(world.p("oa_A1"), left_behind.id)).uploader_id is None
    await m.delete(world.p("oa_A1"), left_behind.id)

    empty = await p.organizations.create(ca, "新机构")
    both = await m.upload_file(ca, "两个机构", files.pdf(1), org_ids=[empty.id, world.ids["A1"]])
    await p.organizations.delete(ca, empty.id)
    assert (await m.get(ca, both.id)).org_ids == (world.ids["A1"],)
    assert "sp_A1" in await seers(world, both)


@pytest.mark.parametrize(
    "module",
    [
        "zhanye_sdk.materials",
        "zhanye_sdk.materials.blobs",
        "zhanye_sdk.materials.conversion",
        "zhanye_sdk.materials.kinds",
        "zhanye_sdk.materials.models",
        "zhanye_sdk.materials.samples",
        "zhanye_sdk.materials.service",
        "zhanye_sdk.materials.storage",
        "zhanye_sdk.materials.visibility",
        "zhanye_sdk.cli",
    ],
)
def test_public_names_are_listed_sorted_and_documented(module: str) -> None:
    loaded = importlib.import_module(module)
    assert loaded.__doc__
    names = loaded.__all__
    assert names == sorted(names)
    for name in names:
        value = getattr(loaded, name)
        if isinstance(value, type) or inspect.isfunction(value):
            assert value.__doc__, f"{module}.{name} has no docstring"


async def test_each_material_says_whether_the_actor_may_delete_it(world: World) -> None:
    """``can_delete`` is exactly what ``delete`` would allow, for every viewer."""
    m = world.platform.materials
    made = {
        "sp_A1": await m.add_link(world.p("sp_A1"), "业务员的链接", "http://example.com/s"),
        "oa_A1": await m.add_link(world.p("oa_A1"), "机构的链接", "http://example.com/o"),
        "ca_A": await m.add_link(world.p("ca_A"), "公司的链接", "http://example.com/c"),
    }
    expected = {
        "sp_A1": {"sp_A1"},
        "sp2_A1": set(),
        "oa_A1": {"sp_A1", "oa_A1"},
        "ca_A": {"sp_A1", "oa_A1", "ca_A"},
    }
    for viewer, deletable in expected.items():
        actor = world.p(viewer)
        seen = (await m.list(actor)).items
        assert {x.id for x in seen} >= {made["ca_A"].id}, viewer
        offered = {owner for owner, x in made.items() if x in seen and m.can_delete(actor, x)}
        assert offered == deletable, viewer
        # Deleting what is not offered is refused, with the reason in Chinese.
        for owner, x in made.items():
            if x in seen and owner not in deletable:
                with pytest.raises(PermissionDenied) as refused:
                    await m.delete(actor, x.id)
                assert refused.value.zh is not None and "只能由上传者" in refused.value.zh
