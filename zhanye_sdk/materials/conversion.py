"""Documents to page images, for sharing page by page.

PDF pages are rendered by pdfium (pypdfium2) to PNG at a fixed width. PPT, PPTX, DOC
and DOCX are first turned into PDF by LibreOffice headless (``soffice --convert-to
pdf``), each run with its own throw-away profile folder: two runs sharing a profile
make one of them silently produce nothing. Both run as child processes within
``ConversionLimits`` (memory, CPU time, wall time; see ``limits``): a hostile document
costs at most that, and is refused with a message saying which limit it hit. Before
LibreOffice sees a PPTX or DOCX every part of it is measured (``archives``); before pdfium
draws anything every page's size is (``pdfrender``). Worker threads wait on the
children, at most ``max_parallel`` documents at a time, so the event loop never blocks;
progress is reported on the event loop as (pages done, pages total). Caching by content
hash is the material service's job: this module converts whatever it is given.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
import attrs

from zhanye_sdk.errors import InvalidInput, ZhanyeError
from zhanye_sdk.materials import pdfrender
from zhanye_sdk.materials.archives import check_archive
from zhanye_sdk.materials.kinds import OFFICE_KINDS, ContentKind
from zhanye_sdk.materials.limits import ConversionLimits, LimitedRun, run_limited

__all__ = [
    "ConversionError",
    "ConverterMissing",
    "DocumentConverter",
    "PageProgress",
    "RenderedPage",
    "find_soffice",
]

#: Called with (pages done, pages total) while a document is converted; runs in the
#: event loop. Office documents report (0, 0) while LibreOffice works.
PageProgress = Callable[[int, int], None]

_INSTALL_HINT = (
    "install LibreOffice: apt-get install --no-install-recommends "
    "libreoffice-impress-nogui libreoffice-writer-nogui (and fonts-noto-cjk for Chinese text)"
)
_ZIP_KINDS = frozenset({ContentKind.PPTX, ContentKind.DOCX})


class ConversionError(ZhanyeError):
    """A document could not be turned into page images; the message says why."""


class ConverterMissing(ConversionError):
    """The program a conversion needs (LibreOffice) is not installed."""


@attrs.frozen
class RenderedPage:
    """One page as a PNG image."""

    number: int  # from 1
    png: bytes
    width: int
    height: int


def find_soffice(configured: str | None = None) -> str | None:
    """The LibreOffice program to run: ``configured``, else ``soffice`` on the PATH."""
    candidates = [configured] if configured else ["soffice", "libreoffice"]
    if not configured:
        candidates += [
            "/usr/lib/libreoffice/program/soffice",
            "/opt/libreoffice/program/soffice",
            "/Applications/LibreOffice.app/Contents/MacOS/soffice",
        ]
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    return None


class DocumentConverter:
    """Turns PDF and Office documents into PNG pages.

    Args:
        page_width: width of every page image in pixels (height follows the page).
        max_pages: documents with more pages are refused (overrides ``limits``).
        timeout_s: how long one conversion may take (overrides ``limits.wall_s``).
        soffice: the LibreOffice program; ``None`` looks for ``soffice`` on the PATH.
        max_parallel: documents converted at the same time.
        limits: what one conversion may cost.
    """

    def __init__(
        self,
        *,
        page_width: int = 1280,
        max_pages: int | None = None,
        timeout_s: float | None = None,
        soffice: str | None = None,
        max_parallel: int = 2,
        limits: ConversionLimits | None = None,
    ) -> None:
        if not 16 <= page_width <= 8192:
            raise InvalidInput(f"page width must be 16–8192 pixels, got {page_width}")
        limits = limits or ConversionLimits()
        if max_pages is not None:
            limits = attrs.evolve(limits, max_pages=max_pages)
        if timeout_s is not None:
            limits = attrs.evolve(limits, wall_s=timeout_s)
        self.page_width = page_width
        self.limits = limits
        self.soffice = soffice
        self._limiter = anyio.CapacityLimiter(max_parallel)

    @property
    def max_pages(self) -> int:
        """Documents with more pages are refused."""
        return self.limits.max_pages

    async def convert(
        self, data: bytes, kind: ContentKind, progress: PageProgress | None = None
    ) -> list[RenderedPage]:
        """Render a PDF or Office document to PNG pages.

        Raises:
            ConverterMissing: an Office document and LibreOffice is not installed.
            ConversionError: the document could not be converted or rendered, or its
                conversion went past a limit.
            InvalidInput: ``kind`` is not a document; it has too many pages, too large
                pages, or (a PPTX or DOCX) parts that inflate too far.
        """
        if kind is not ContentKind.PDF and kind not in OFFICE_KINDS:
            raise InvalidInput(f"a {kind.label} is not a document; only documents have pages")
        async with self._limiter:
            if kind in OFFICE_KINDS:
                _notify(progress, 0, 0)
                data = await self.to_pdf(data, kind)
            return await anyio.to_thread.run_sync(
                _render_pdf, data, self.page_width, self.limits, progress
            )

    async def to_pdf(self, data: bytes, kind: ContentKind) -> bytes:
        """Convert an Office document to PDF with LibreOffice headless."""
        if kind in _ZIP_KINDS:
            await anyio.to_thread.run_sync(check_archive, data, self.limits)
        program = find_soffice(self.soffice)
        if program is None:
            raise ConverterMissing(
                f"converting a {kind.label} needs LibreOffice, which is not installed; "
                + _INSTALL_HINT
            )
        return await anyio.to_thread.run_sync(
            _run_soffice, program, data, kind, self.limits, abandon_on_cancel=False
        )


def _notify(progress: PageProgress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _report_from_thread(progress: PageProgress | None, done: int, total: int) -> None:
    if progress is not None:
        anyio.from_thread.run_sync(progress, done, total)


def _gib(n: int) -> str:
    return f"{n / 1024**3:g} GiB"


def _over_limit(run: LimitedRun, limits: ConversionLimits, what: str) -> ConversionError | None:
    """The error for a run stopped by a limit, if it was."""
    if run.timed_out:
        return ConversionError(
            f"the {what} was stopped: it took longer than {limits.wall_s:g} s",
            zh=f"文档转换超过 {limits.wall_s:g} 秒仍未完成，已停止；"
            "请精简文档（减少页数或图片）后重新上传",
        )
    if run.out_of_cpu:
        return ConversionError(
            f"the {what} was stopped: it used more than {limits.cpu_s:g} s of CPU time",
            zh=f"文档转换耗用的计算时间超过 {limits.cpu_s:g} 秒，已停止；"
            "该文档可能过于复杂或已损坏，请另存后重新上传",
        )
    return None


def _run_soffice(program: str, data: bytes, kind: ContentKind, limits: ConversionLimits) -> bytes:
    with tempfile.TemporaryDirectory(prefix="zhanye-soffice-") as tmp:
        work = Path(tmp)
        source = work / f"source.{kind.extension}"
        source.write_bytes(data)
        out = work / "out"
        command = [
            program,
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            "--nodefault",
            "--nolockcheck",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            str(source),
        ]
        env = {**os.environ, "HOME": str(work), "TMPDIR": str(work)}
        try:
            run = run_limited(command, limits, cwd=work, env=env)
        except OSError as exc:
            raise ConverterMissing(
                f"LibreOffice could not be started ({exc}); " + _INSTALL_HINT
            ) from exc
        stopped = _over_limit(run, limits, f"conversion of the {kind.label}")
        if stopped is not None:
            raise stopped
        pdf = out / "source.pdf"
        if not pdf.is_file() or pdf.stat().st_size == 0:
            detail = run.stderr.strip().splitlines()[-3:]
            raise ConversionError(
                f"LibreOffice could not convert the {kind.label} to PDF "
                f"(exit status {run.returncode}{'; ' + ' '.join(detail) if detail else ''}); "
                f"it may be damaged, or need more than {_gib(limits.memory_bytes)} of memory",
                zh=f"LibreOffice 无法转换这个{kind.label}：文件可能已损坏，或转换所需内存超过"
                f"上限 {_gib(limits.memory_bytes)}；请另存后重新上传",
            )
        return pdf.read_bytes()


def _worker_error(message: dict[str, Any], limits: ConversionLimits) -> ZhanyeError:
    code = message.get("error")
    if code == "too_many_pages":
        return InvalidInput(
            f"the document has {message['pages']} pages; at most {message['limit']} "
            "can be converted",
            zh=f"文档共 {message['pages']} 页，最多只能转换 {message['limit']} 页，请拆分后再上传",
        )
    if code == "page_too_large":
        width, height = round(message["width"]), round(message["height"])
        return InvalidInput(
            f"page {message['page']} is {width} × {height} pt, larger than "
            f"{message['limit']:.0f} square points (4 × A0)",
            zh=f"第 {message['page']} 页尺寸为 {width} × {height} 磅，"
            "超过上限（4 张 A0 纸的面积），请调整页面大小后再上传",
        )
    if code == "too_many_pixels":
        return InvalidInput(
            f"the page images would have {message['pixels']} pixels, at most {message['limit']}",
            zh=f"文档各页图片合计 {message['pixels']} 像素，超过上限 {message['limit']}，"
            "请减少页数或缩小页面后再上传",
        )
    if code == "open":
        return ConversionError(
            f"the PDF cannot be opened ({message.get('reason')})",
            zh="PDF 文件无法打开，可能已损坏或加密，请另存后重新上传",
        )
    if code == "no_pages":
        return ConversionError("the document has no pages", zh="文档没有任何页面")
    if code == "no_area":
        return ConversionError(
            f"page {message['page']} has no area",
            zh=f"第 {message['page']} 页的尺寸为零，无法显示",
        )
    if code == "memory":
        return ConversionError(
            f"rendering the pages needs more than {_gib(limits.memory_bytes)} of memory",
            zh=f"渲染页面所需内存超过上限 {_gib(limits.memory_bytes)}，已停止；"
            "该文档可能过于复杂或已损坏",
        )
    return ConversionError(
        f"page {message.get('page')} cannot be rendered ({message.get('reason')})",
        zh=f"第 {message.get('page')} 页无法渲染，文档可能已损坏",
    )


def _render_pdf(
    pdf: bytes, page_width: int, limits: ConversionLimits, progress: PageProgress | None
) -> list[RenderedPage]:
    with tempfile.TemporaryDirectory(prefix="zhanye-pdfium-") as tmp:
        work = Path(tmp)
        (work / "source.pdf").write_bytes(pdf)
        (work / "pages").mkdir()
        said: list[dict[str, Any]] = []

        def heard(line: str) -> None:
            try:
                message = json.loads(line)
            except ValueError:
                return
            if not isinstance(message, dict):
                return
            said.append(message)
            if "total" in message:
                _report_from_thread(progress, 0, message["total"])
            elif "page" in message and "error" not in message:
                _report_from_thread(progress, message["page"], said[0]["total"])

        command = [
            sys.executable,
            "-I",
            pdfrender.__file__,
            str(work / "source.pdf"),
            str(work / "pages"),
            str(page_width),
            str(limits.max_pages),
            repr(limits.max_page_area_pt2),
            str(limits.max_total_pixels),
        ]
        run = run_limited(command, limits, cwd=work, on_line=heard)
        stopped = _over_limit(run, limits, "rendering of the PDF")
        if stopped is not None:
            raise stopped
        errors = [m for m in said if "error" in m]
        if errors:
            raise _worker_error(errors[0], limits)
        pages = [m for m in said if "page" in m]
        if run.returncode != 0 or not said or len(pages) != said[0].get("total"):
            raise ConversionError(
                f"rendering the PDF stopped (exit status {run.returncode}); it may be damaged, "
                f"or need more than {_gib(limits.memory_bytes)} of memory",
                zh=f"PDF 页面渲染中途停止：文件可能已损坏，或所需内存超过上限 "
                f"{_gib(limits.memory_bytes)}；请另存后重新上传",
            )
        return [
            RenderedPage(
                m["page"],
                (work / "pages" / f"{m['page']:04d}.png").read_bytes(),
                m["width"],
                m["height"],
            )
            for m in pages
        ]
