"""Upload types are decided by content: real files of every kind, malformed ones, garbage."""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Callable

import av
import numpy as np
import pypdfium2
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.materials import ContentKind, identify, require_kind
from zhanye_sdk.materials.kinds import DOCUMENT_KINDS, IMAGE_KINDS, VIDEO_KINDS

from . import material_files as files

GENERATED: dict[ContentKind, Callable[[], bytes]] = {
    ContentKind.PDF: files.pdf,
    ContentKind.PNG: lambda: files.image("PNG"),
    ContentKind.JPEG: lambda: files.image("JPEG"),
    ContentKind.GIF: lambda: files.image("GIF"),
    ContentKind.WEBP: lambda: files.image("WEBP"),
    ContentKind.PPTX: files.pptx,
    ContentKind.DOCX: files.docx,
    ContentKind.MP4: lambda: files.video("mp4"),
    ContentKind.WEBM: lambda: files.video("webm"),
}


@pytest.fixture(scope="module")
def legacy_office() -> dict[str, bytes]:
    return files.legacy_office()


@pytest.mark.parametrize("kind", sorted(GENERATED))
def test_every_generated_kind_is_recognised(kind: ContentKind) -> None:
    data = GENERATED[kind]()
    assert identify(data).kind is kind
    assert require_kind(data, [kind]) is kind


def test_old_office_files_are_told_apart_by_their_streams(legacy_office: dict[str, bytes]) -> None:
    assert identify(legacy_office["ppt"]).kind is ContentKind.PPT
    assert identify(legacy_office["doc"]).kind is ContentKind.DOC


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


def _matroska() -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format="matroska") as output:
        stream = output.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), dtype=np.uint8), format="rgb24")
        for packet in [*stream.encode(frame), *stream.encode()]:
            output.mux(packet)
    return out.getvalue()


with open(sys.executable, "rb") as _program:
    REAL_EXECUTABLE = _program.read(256 * 1024)

MALFORMED: dict[str, tuple[Callable[[], bytes], str]] = {
    "real executable renamed .pdf": (lambda: REAL_EXECUTABLE, "executable"),
    "windows executable renamed .pdf": (
        lambda: b"MZ\x90\x00\x03" + bytes(200) + b"PE\x00\x00",
        "Windows executable",
    ),
    "executable with a PDF inside": (
        lambda: b"MZ\x90\x00" + bytes(60) + files.pdf(1),
        "Windows executable",
    ),
    "junk before the PDF header": (lambda: b"junk" * 10 + files.pdf(1), "before its PDF header"),
    "truncated PDF": (lambda: files.pdf(2)[:-4000], "truncated"),
    "PDF trailer around garbage": (lambda: b"%PDF-1.7\n" + bytes(500) + b"\n%%EOF\n", "damaged"),
    "zip that is not OOXML": (lambda: _zip({"readme.txt": b"hello"}), "zip archive that is not"),
    "OOXML that is neither deck nor document": (
        lambda: _zip({"[Content_Types].xml": b"<Types/>", "foo/bar.xml": b"<x/>"}),
        "neither a presentation nor a document",
    ),
    "Excel workbook": (
        lambda: _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<x/>"}),
        "Excel workbook",
    ),
    "truncated PPTX": (lambda: files.pptx()[:3000], "damaged or truncated zip"),
    "truncated PNG": (lambda: files.image("PNG")[:30], "damaged or truncated PNG"),
    "OLE header only": (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "OLE"),
    "Matroska video": (_matroska, "Matroska"),
    "MP4 header cut short": (lambda: files.video("mp4")[:12], "cut short"),
    "HEIF image in an ftyp box": (
        lambda: (24).to_bytes(4, "big") + b"ftypheic" + bytes(4) + b"mif1heic",
        "HEIC image",
    ),
    "HTML page": (lambda: b"<!DOCTYPE html><html><body>hi</body></html>", "HTML page"),
    "plain text": (lambda: "产品说明".encode() * 10, "plain text"),
    "empty file": (lambda: b"", "empty file"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_and_foreign_files_are_refused_with_what_was_found(case: str) -> None:
    make, found = MALFORMED[case]
    data = make()
    assert identify(data).kind is None
    with pytest.raises(InvalidInput) as refused:
        require_kind(data, DOCUMENT_KINDS | IMAGE_KINDS)
    message = str(refused.value)
    assert found in message
    # …and the message lists what would have been accepted.
    assert "PDF" in message and "PowerPoint (PPTX)" in message and "PNG image" in message


def test_a_video_offered_as_a_file_is_refused_by_name() -> None:
    with pytest.raises(InvalidInput, match=r"is a MP4 video; accepted are: PDF"):
        require_kind(files.video("mp4"), DOCUMENT_KINDS | IMAGE_KINDS)
    with pytest.raises(InvalidInput, match=r"is a PDF; accepted are: MP4 video, WebM video"):
        require_kind(files.pdf(1), VIDEO_KINDS, what="video")


MAGICS = [
    b"%PDF-1.4\n",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0",
    b"GIF89a",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    b"PK\x03\x04",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    b"\x00\x00\x00\x18ftypisom",
    b"\x1a\x45\xdf\xa3",
    b"\x1a\x45\xdf\xa3\x9f\x42\x82\x84webm",
    b"MZ",
]


SAMPLES = {
    ContentKind.PDF: files.pdf(1),
    ContentKind.PNG: files.image("PNG"),
    ContentKind.JPEG: files.image("JPEG"),
    ContentKind.GIF: files.image("GIF"),
    ContentKind.WEBP: files.image("WEBP"),
    ContentKind.PPTX: files.pptx(1),
    ContentKind.MP4: files.video("mp4"),
    ContentKind.WEBM: files.video("webm"),
}


def _really_is(kind: ContentKind, data: bytes) -> bool:
    """An independent decoder agrees that ``data`` is ``kind``."""
    try:
        if kind is ContentKind.PDF:
            document = pypdfium2.PdfDocument(data)
            ok = len(document) > 0
            document.close()
            return ok
        if kind in IMAGE_KINDS:
            with Image.open(io.BytesIO(data)) as picture:
                picture.load()
            return True
        if kind in VIDEO_KINDS:
            with av.open(io.BytesIO(data)) as container:
                return bool(container.streams.video)
        if kind is ContentKind.PPTX:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return archive.read("ppt/presentation.xml").startswith(b"<")
    except Exception:
        return False
    return False


@given(
    st.one_of(
        st.binary(max_size=2048),
        st.tuples(st.sampled_from(MAGICS), st.binary(max_size=2048)).map(b"".join),
        st.tuples(st.sampled_from(MAGICS), st.binary(max_size=512), st.just(b"\n%%EOF\n")).map(
            b"".join
        ),
    )
)
def test_random_bytes_never_crash_and_are_refused_unless_real(data: bytes) -> None:
    finding = identify(data)
    assert finding.description
    if finding.kind is not None:
        assert _really_is(finding.kind, data), finding
    else:
        with pytest.raises(InvalidInput):
            require_kind(data, list(ContentKind))


@given(
    st.sampled_from(sorted(SAMPLES)),
    st.integers(min_value=0, max_value=1 << 30),
    st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=8),
)
def test_damaged_real_files_never_crash_and_what_passes_still_decodes(
    kind: ContentKind, cut: int, flips: list[tuple[int, int]]
) -> None:
    data = bytearray(SAMPLES[kind])
    for position, value in flips:
        data[position % len(data)] = value
    damaged = bytes(data[: max(1, cut % (len(data) + 1))])
    finding = identify(damaged)
    assert finding.description
    if finding.kind is not None:
        assert _really_is(finding.kind, damaged), finding
