"""Documents become page images: pdfium for PDF, LibreOffice first for Office files."""

from __future__ import annotations

import io
import math
import re
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import attrs
import pypdfium2
import pytest
from PIL import Image

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.materials import (
    ContentKind,
    ConverterMissing,
    DocumentConverter,
    PageProgress,
    RenderedPage,
)
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.platform.config import MaterialSettings

from . import material_files as files
from .platform_world import World, build_world

pytestmark = pytest.mark.anyio


def expected_height(width: int) -> int:
    points_w, points_h = files.PAGE_POINTS
    return round(width * points_h / points_w)


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as picture:
        assert picture.format == "PNG"
        return picture.size


async def test_a_pdf_becomes_one_png_per_page_at_the_set_width() -> None:
    progress: list[tuple[int, int]] = []
    pages = await DocumentConverter(page_width=640).convert(
        files.pdf(4), ContentKind.PDF, lambda done, total: progress.append((done, total))
    )
    assert [p.number for p in pages] == [1, 2, 3, 4]
    for page in pages:
        assert png_size(page.png) == (page.width, page.height)
        assert page.width == 640
        assert abs(page.height - expected_height(640)) <= 1
    assert progress == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    # Pages differ (each shows its number), so they are really separate renderings.
    assert len({p.png for p in pages}) == 4


class RecordingConverter(DocumentConverter):
    """The real converter, keeping the PDF LibreOffice made."""

    pdf = b""

    async def to_pdf(self, data: bytes, kind: ContentKind) -> bytes:
        self.pdf = await super().to_pdf(data, kind)
        return self.pdf


async def test_a_pptx_is_converted_by_libreoffice_with_chinese_glyphs() -> None:
    progress: list[tuple[int, int]] = []
    converter = RecordingConverter()
    pages = await converter.convert(
        files.pptx(3), ContentKind.PPTX, lambda d, t: progress.append((d, t))
    )
    assert len(pages) == 3
    assert progress[0] == (0, 0) and progress[-1] == (3, 3)
    for page in pages:
        assert (page.width, page.height) == (1280, 960)  # python-pptx's 4:3 slides
        assert png_size(page.png) == (1280, 960)
    # The title slide's 测试演示 is real text set in a CJK font, not empty boxes…
    document = pypdfium2.PdfDocument(converter.pdf)
    try:
        assert "测试演示" in document[0].get_textpage().get_text_range()
    finally:
        document.close()
    assert re.search(rb"/BaseFont\s*/[A-Z]{6}\+NotoSans(Mono)?CJK", converter.pdf)
    # …and the rendered slide shows it.
    with Image.open(io.BytesIO(pages[0].png)) as slide:
        dark = sum(slide.convert("L").histogram()[:128])
    assert dark > 2000


async def test_missing_libreoffice_says_what_to_install() -> None:
    converter = DocumentConverter(soffice="/nonexistent/soffice")
    with pytest.raises(ConverterMissing, match="libreoffice-impress-nogui"):
        await converter.convert(files.docx(), ContentKind.DOCX)
    with pytest.raises(InvalidInput, match="not a document"):
        await converter.convert(files.video("mp4"), ContentKind.MP4)


class CountingConverter(DocumentConverter):
    """The real converter, counting how often it really works."""

    def __init__(self) -> None:
        super().__init__(page_width=320)
        self.calls = 0

    async def convert(
        self, data: bytes, kind: ContentKind, progress: PageProgress | None = None
    ) -> list[RenderedPage]:
        self.calls += 1
        return await super().convert(data, kind, progress)


@pytest.fixture
async def world(
    database_url: str, fast_config: PlatformConfig, tmp_path: Path
) -> AsyncIterator[World]:
    config = attrs.evolve(
        fast_config, materials=MaterialSettings(storage_root=tmp_path / "store", page_width=320)
    )
    w = await build_world(database_url, config)
    try:
        yield w
    finally:
        await w.platform.close()


async def test_pages_are_cached_by_content_and_removed_with_the_last_material(
    world: World, tmp_path: Path
) -> None:
    m = world.platform.materials
    converter = CountingConverter()
    m.converter = converter
    pdf = files.pdf(3)
    first = await m.upload_file(world.p("ca_A"), "手册", pdf)
    progress: list[tuple[int, int]] = []
    pages = await m.convert(world.p("ca_A"), first.id, lambda d, t: progress.append((d, t)))
    assert converter.calls == 1 and progress[-1] == (3, 3)
    assert [(p.number, p.width) for p in pages] == [(1, 320), (2, 320), (3, 320)]

    # Again, and through another material with the same bytes: no work, same pages.
    again: list[tuple[int, int]] = []
    second = await m.upload_file(world.p("sp_A1"), "手册副本", pdf)
    assert await m.convert(world.p("sp_A1"), second.id, lambda d, t: again.append((d, t))) == pages
    assert await m.pages(world.p("ca_A"), first.id) == pages
    assert converter.calls == 1 and again == [(3, 3)]

    image = await m.page_image(world.p("sp_A1"), second.id, 2)
    assert png_size(image) == (320, pages[1].height)
    with pytest.raises(InvalidInput, match="has 3"):
        await m.page_image(world.p("sp_A1"), second.id, 4)

    store = tmp_path / "store"
    assert len([p for p in store.rglob("*.blob")]) == 4  # the PDF and its three pages
    await m.delete(world.p("ca_A"), first.id)
    assert len([p for p in store.rglob("*.blob")]) == 4  # still used by the copy
    await m.delete(world.p("sp_A1"), second.id)
    assert [p for p in store.rglob("*.blob")] == []


async def test_concurrent_conversions_of_one_content_work_once(world: World) -> None:
    m = world.platform.materials
    converter = CountingConverter()
    m.converter = converter
    material = await m.upload_file(world.p("ca_A"), "手册", files.pdf(2))
    results: list[object] = []

    async def convert() -> None:
        results.append(await m.convert(world.p("ca_A"), material.id))

    async with anyio.create_task_group() as group:
        for _ in range(4):
            group.start_soon(convert)
    assert converter.calls == 1
    assert all(r == results[0] for r in results)


async def test_an_image_is_its_own_single_page(world: World) -> None:
    m = world.platform.materials
    jpeg = files.image("JPEG", size=(300, 200))
    material = await m.upload_file(world.p("sp_A1"), "海报", jpeg)
    pages = await m.pages(world.p("sp_A1"), material.id)
    assert [(p.width, p.height, p.mime_type) for p in pages] == [(300, 200, "image/jpeg")]
    assert await m.page_image(world.p("sp_A1"), material.id, 1) == jpeg
    assert math.isclose(pages[0].width / pages[0].height, 1.5)
