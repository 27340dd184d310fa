"""Hostile uploads, from the attacker's side: files built to exhaust the converter or to
fool the people a material is shared with.

Attacks covered:
- a zip bomb PPTX (a 1 MB file whose second part inflates to 1 GiB) uploaded over the API;
- a zip bomb whose part declares a small size but inflates far past it, handed to the
  converter (it must never reach LibreOffice);
- a PDF of many 14,400 pt pages (the largest PDF allows);
- a PDF whose page images together would be billions of pixels;
- a 3 KB PDF of nested forms that costs minutes of CPU to draw (a CPU bomb);
- a page whose image needs more memory than a conversion may use;
- polyglots: a PDF with a zip archive appended, a PPTX with a PDF header inside;
- file and link names with right-to-left overrides, zero-width and control characters
  that make ``报价单<U+202E>fdp.exe`` show as "报价单exe.pdf".
"""

from __future__ import annotations

import io
import json
import resource
import struct
import time
import zipfile
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import pytest

from zhanye_sdk.api.http import ApiRequest
from zhanye_sdk.api.materials import MaterialApi
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.materials import ContentKind, DocumentConverter
from zhanye_sdk.materials.conversion import ConversionError
from zhanye_sdk.materials.limits import ConversionLimits
from zhanye_sdk.materials.samples import sample_pptx
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.platform.config import MaterialSettings

from ..platform_world import PASSWORD, World, build_world

pytestmark = pytest.mark.anyio

MIB = 1024 * 1024


# ---- files an attacker builds ---------------------------------------------------------------


def zip_of(members: list[tuple[str, int, bytes, int, int]]) -> bytes:
    """A zip written by hand: (name, method, payload, crc, declared size) per member."""
    out, central = bytearray(), bytearray()
    for name, method, payload, crc, size in members:
        encoded = name.encode()
        offset = len(out)
        out += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(payload), size,
            len(encoded), 0,
        )  # fmt: skip
        out += encoded + payload
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(payload),
            size, len(encoded), 0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        central += encoded
    start = len(out)
    out += central
    out += struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), start, 0
    )
    return bytes(out)


def deflated_zeros(mib: int) -> tuple[bytes, int]:
    """A raw deflate stream of ``mib`` MiB of zeros (about 1 KB per MiB), and its CRC."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    zero = bytes(MIB)
    block = deflater.compress(zero) + deflater.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(zero, crc)
    return block * mib + b"\x03\x00", crc


def pptx_members() -> list[tuple[str, int, bytes, int, int]]:
    real = zipfile.ZipFile(io.BytesIO(sample_pptx("报价", [("要点", ["稳健"])])))
    return [(i.filename, 0, real.read(i), i.CRC, i.file_size) for i in real.infolist()]


def zip_bomb_pptx() -> bytes:
    """A real presentation plus one more part of 1 GiB of zeros: about 1 MB on disk."""
    payload, crc = deflated_zeros(1024)
    return zip_of([*pptx_members(), ("ppt/media/image9.png", 8, payload, crc, 1 << 30)])


def lying_zip_bomb_pptx() -> bytes:
    """A part that says it is 1,000 bytes (with their CRC) but inflates to 300 MiB."""
    payload, _ = deflated_zeros(300)
    return zip_of(
        [*pptx_members(), ("ppt/media/image9.png", 8, payload, zlib.crc32(bytes(1000)), 1000)]
    )


def pdf_of(objects: list[bytes]) -> bytes:
    """A PDF written by hand; object 1 is the catalog."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def stream(entries: bytes, data: bytes) -> bytes:
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (entries, len(data), data)


def pages_pdf(count: int, width_pt: int, height_pt: int) -> bytes:
    """``count`` pages of ``width_pt × height_pt``, all drawing one tiny content stream."""
    kids = b" ".join(b"%d 0 R" % (4 + n) for n in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count),
        stream(b"", b"0 0 10 10 re f"),
    ]
    objects += [
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 3 0 R >>"
        % (width_pt, height_pt)
    ] * count
    return pdf_of(objects)


def nested_forms_pdf(depth: int, fan: int = 10) -> bytes:
    """One page drawing a form that draws the next ``fan`` times, ``depth`` deep."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /XObject << /X 5 0 R >> >> >>",
        stream(b"", b"/X Do"),
    ]
    form = b"/Type /XObject /Subtype /Form /BBox [0 0 595 842]"
    for level in range(depth - 1):
        draw = b" ".join([b"q 0.9 0 0 0.9 1 1 cm /X Do Q"] * fan)
        objects.append(
            stream(form + b" /Resources << /XObject << /X %d 0 R >> >>" % (6 + level), draw)
        )
    objects.append(stream(form, b"0 0 1 1 re f"))
    return pdf_of(objects)


# ---- the API, as the attacker calls it ----------------------------------------------------------


@pytest.fixture
async def world(fast_config: PlatformConfig, tmp_path: Path) -> AsyncIterator[World]:
    config = attrs.evolve(
        fast_config,
        materials=MaterialSettings(storage_root=tmp_path / "m", max_file_bytes=20 * MIB),
    )
    w = await build_world(f"sqlite:///{tmp_path}/uploads.db", config)
    try:
        yield w
    finally:
        await w.platform.close()


async def upload(world: World, name: str, data: bytes) -> tuple[int, dict[str, object]]:
    token = (await world.platform.auth.login("sp-A1", PASSWORD)).token
    answer = await MaterialApi(world.platform).handle(
        ApiRequest(
            method="POST",
            path="/api/materials/upload",
            query={"name": name, "kind": "file"},
            headers={"Authorization": f"Bearer {token}"},
            body=data,
        )
    )
    assert answer is not None
    return answer.status, answer.json()


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.alone
async def test_a_zip_bomb_pptx_is_refused_at_upload_without_inflating_it(world: World) -> None:
    bomb = zip_bomb_pptx()
    assert len(bomb) < 2 * MIB
    rss_before, cpu_before = peak_rss_mib(), time.process_time()
    status, body = await upload(world, "季度报价.pptx", bomb)
    assert status == 400, body
    text = json.dumps(body, ensure_ascii=False)
    assert "image9.png" in text and "压缩炸弹" in text
    assert time.process_time() - cpu_before < 5
    assert peak_rss_mib() - rss_before < 100  # 1 GiB was never inflated
    page = await world.platform.materials.list(world.p("sp_A1"))
    assert page.total == 0


async def test_a_part_that_lies_about_its_size_never_reaches_libreoffice() -> None:
    # No LibreOffice at this path: were the file handed to it, ConverterMissing would say so.
    converter = DocumentConverter(soffice="/nonexistent/soffice")
    with pytest.raises(InvalidInput) as caught:
        await converter.convert(lying_zip_bomb_pptx(), ContentKind.PPTX)
    assert "声明" in (caught.value.zh or "") and "压缩炸弹" in (caught.value.zh or "")


async def test_pages_of_14400_points_are_refused_before_any_is_drawn() -> None:
    huge = pages_pdf(200, 14_400, 14_400)
    assert len(huge) < 40_000
    started = time.process_time()
    with pytest.raises(InvalidInput) as caught:
        await DocumentConverter().convert(huge, ContentKind.PDF)
    assert "第 1 页尺寸为 14400 × 14400 磅" in (caught.value.zh or "")
    assert time.process_time() - started < 5


async def test_page_images_of_billions_of_pixels_are_refused() -> None:
    # Each page is legal (1:8, 4 m tall at 1280 px wide: 13 megapixels), together 3.9 Gpx.
    tall = pages_pdf(300, 595, 8 * 595)
    with pytest.raises(InvalidInput) as caught:
        await DocumentConverter().convert(tall, ContentKind.PDF)
    assert "像素" in (caught.value.zh or "")


async def test_a_pdf_that_costs_minutes_of_cpu_is_stopped_at_the_cpu_limit() -> None:
    bomb = nested_forms_pdf(depth=8)  # 10^7 nested draws: about a minute of CPU here
    assert len(bomb) < 5_000
    converter = DocumentConverter(limits=ConversionLimits(cpu_s=2, wall_s=120))
    with pytest.raises(ConversionError) as caught:
        await converter.convert(bomb, ContentKind.PDF)
    assert "计算时间超过 2 秒" in (caught.value.zh or "")


async def test_a_page_needing_more_memory_than_allowed_is_stopped_cleanly() -> None:
    # At 8192 px wide a 1:8 page is a 1.6 GB bitmap; the conversion may use 1 GiB.
    rss_before = peak_rss_mib()
    converter = DocumentConverter(page_width=8192, limits=ConversionLimits(memory_bytes=1024 * MIB))
    with pytest.raises(ConversionError) as caught:
        await converter.convert(pages_pdf(1, 595, 8 * 595), ContentKind.PDF)
    assert "内存" in (caught.value.zh or "")
    assert peak_rss_mib() - rss_before < 100  # the host process never held the bitmap


async def test_polyglots_are_refused(world: World) -> None:
    # The zip goes after the PDF, and a last %%EOF after the zip keeps PDF readers happy.
    with_zip = pages_pdf(1, 595, 842) + zip_of(pptx_members()) + b"\n%%EOF\n"
    status, body = await upload(world, "合同.pdf", with_zip)
    assert status == 400 and "polyglot" in json.dumps(body)
    members = pptx_members()
    members.insert(0, ("%PDF-1.4.txt", 0, b"%PDF-1.4", zlib.crc32(b"%PDF-1.4"), 8))
    status, body = await upload(world, "报价.pptx", zip_of(members))
    assert status == 400 and "polyglot" in json.dumps(body)


@pytest.mark.parametrize(
    "disguise",
    [
        "\u202e",  # RIGHT-TO-LEFT OVERRIDE
        "\u202b\u2067",  # RIGHT-TO-LEFT EMBEDDING, RIGHT-TO-LEFT ISOLATE
        "\u200f\u061c",  # RIGHT-TO-LEFT MARK, ARABIC LETTER MARK
        "\u200b\u200d\ufeff",  # zero-width space, joiner, no-break space
        "\x00\x1b\x7f\x85",  # control characters
    ],
)
async def test_names_lose_the_characters_that_disguise_them(world: World, disguise: str) -> None:
    status, body = await upload(world, f"报价单{disguise}fdp.exe", pages_pdf(1, 595, 842))
    assert status == 201, body
    assert body["name"] == "报价单fdp.exe"
    link = await world.platform.materials.add_link(
        world.p("sp_A1"), f"产品{disguise}页", "https://example.com/p", title=f"标题{disguise}"
    )
    assert (link.name, link.title) == ("产品页", "标题")


async def test_a_name_of_nothing_but_invisible_characters_is_refused(world: World) -> None:
    status, body = await upload(world, "\u202e\u200b", pages_pdf(1, 595, 842))
    assert status == 400 and "资源名称" in json.dumps(body, ensure_ascii=False)


def test_the_attack_files_are_what_they_claim() -> None:
    # The bombs are real: a reader following the stream gets the gigabyte.
    bomb = zipfile.ZipFile(io.BytesIO(zip_bomb_pptx()))
    assert bomb.getinfo("ppt/media/image9.png").file_size == 1 << 30
    with bomb.open("ppt/media/image9.png") as part:
        assert part.read(MIB) == bytes(MIB)
