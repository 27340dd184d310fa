"""Real files of every accepted kind, generated at test time (no binary fixtures)."""

from __future__ import annotations

import io
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from zhanye_sdk.materials.samples import sample_pdf, sample_pptx

PAGE_POINTS = (595, 842)  # A4 portrait, in points


def pdf(pages: int = 3) -> bytes:
    return sample_pdf(
        "测试文档",
        [(f"第{n}页", [f"内容 {n}"]) for n in range(1, pages + 1)],
        page_size=PAGE_POINTS,
    )


def pptx(slides: int = 2) -> bytes:
    """A presentation of ``slides`` slides (a title slide and ``slides - 1`` more)."""
    return sample_pptx("测试演示", [(f"要点{n}", ["稳健", "灵活"]) for n in range(1, slides)])


def docx() -> bytes:
    import docx as python_docx

    document = python_docx.Document()
    document.add_heading("投保须知", level=1)
    document.add_paragraph("请仔细阅读保险条款。")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def image(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    picture = Image.new("RGB", size, (200, 30, 40))
    out = io.BytesIO()
    picture.save(out, fmt)
    return out.getvalue()


def video(container: str) -> bytes:
    """A real, tiny video: MP4 (H.264) or WebM (VP8), five 64×64 frames."""
    codec = {"mp4": "libx264", "webm": "libvpx"}[container]
    out = io.BytesIO()
    with av.open(out, "w", format=container) as output:
        stream = output.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        stream.time_base = Fraction(1, 10)
        for n in range(5):
            frame = av.VideoFrame.from_ndarray(
                np.full((64, 64, 3), n * 40, dtype=np.uint8), format="rgb24"
            )
            frame.pts = n
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return out.getvalue()


def legacy_office() -> dict[str, bytes]:
    """A PPT and a DOC, converted from generated PPTX/DOCX by LibreOffice (in parallel)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "deck.pptx").write_bytes(pptx())
        (work / "note.docx").write_bytes(docx())
        jobs = []
        for source, target in (("deck.pptx", "ppt"), ("note.docx", "doc")):
            profile = (work / f"profile-{target}").as_uri()
            jobs.append(
                subprocess.Popen(
                    [
                        "soffice",
                        f"-env:UserInstallation={profile}",
                        "--headless",
                        "--norestore",
                        "--convert-to",
                        target,
                        "--outdir",
                        str(work / "out"),
                        str(work / source),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env={"HOME": str(work), "PATH": "/usr/bin:/bin"},
                )
            )
        for job in jobs:
            assert job.wait(timeout=120) == 0
        return {
            "ppt": (work / "out" / "deck.ppt").read_bytes(),
            "doc": (work / "out" / "note.doc").read_bytes(),
        }
