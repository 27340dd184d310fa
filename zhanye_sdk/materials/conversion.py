"""Documents to page images, for sharing page by page.

PDF pages are rendered by pdfium (pypdfium2) to PNG at a fixed width. PPT, PPTX, DOC
and DOCX are first turned into PDF by LibreOffice headless (``soffice --convert-to
pdf``), each run with its own throw-away profile folder: two runs sharing a profile
make one of them silently produce nothing. All of it runs in worker threads, at most
``max_parallel`` documents at a time, so the event loop never blocks; progress is
reported on the event loop as (pages done, pages total). Caching by content hash is
the material service's job: this module converts whatever it is given.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import anyio
import anyio.from_thread
import anyio.to_thread
import attrs
import pypdfium2
from PIL import Image

from zhanye_sdk.errors import InvalidInput, ZhanyeError
from zhanye_sdk.materials.kinds import OFFICE_KINDS, PDFIUM_LOCK, ContentKind

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
# Pages taller than this many widths are scaled down to fit (a 1 pt × 10 m page would
# otherwise ask for a bitmap of gigabytes).
_MAX_ASPECT = 8


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
        max_pages: documents with more pages are refused.
        timeout_s: how long LibreOffice may take for one document.
        soffice: the LibreOffice program; ``None`` looks for ``soffice`` on the PATH.
        max_parallel: documents converted at the same time.
    """

    def __init__(
        self,
        *,
        page_width: int = 1280,
        max_pages: int = 300,
        timeout_s: float = 180.0,
        soffice: str | None = None,
        max_parallel: int = 2,
    ) -> None:
        if not 16 <= page_width <= 8192:
            raise InvalidInput(f"page width must be 16–8192 pixels, got {page_width}")
        self.page_width = page_width
        self.max_pages = max_pages
        self.timeout_s = timeout_s
        self.soffice = soffice
        self._limiter = anyio.CapacityLimiter(max_parallel)

    async def convert(
        self, data: bytes, kind: ContentKind, progress: PageProgress | None = None
    ) -> list[RenderedPage]:
        """Render a PDF or Office document to PNG pages.

        Raises:
            ConverterMissing: an Office document and LibreOffice is not installed.
            ConversionError: the document could not be converted or rendered.
            InvalidInput: ``kind`` is not a document, or it has too many pages.
        """
        if kind is not ContentKind.PDF and kind not in OFFICE_KINDS:
            raise InvalidInput(f"a {kind.label} is not a document; only documents have pages")
        async with self._limiter:
            if kind in OFFICE_KINDS:
                _notify(progress, 0, 0)
                data = await self.to_pdf(data, kind)
            return await anyio.to_thread.run_sync(
                _render_pdf, data, self.page_width, self.max_pages, progress
            )

    async def to_pdf(self, data: bytes, kind: ContentKind) -> bytes:
        """Convert an Office document to PDF with LibreOffice headless."""
        program = find_soffice(self.soffice)
        if program is None:
            raise ConverterMissing(
                f"converting a {kind.label} needs LibreOffice, which is not installed; "
                + _INSTALL_HINT
            )
        return await anyio.to_thread.run_sync(
            _run_soffice, program, data, kind, self.timeout_s, abandon_on_cancel=False
        )


def _notify(progress: PageProgress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _report_from_thread(progress: PageProgress | None, done: int, total: int) -> None:
    if progress is not None:
        anyio.from_thread.run_sync(progress, done, total)


def _run_soffice(program: str, data: bytes, kind: ContentKind, timeout_s: float) -> bytes:
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
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=work,
                start_new_session=True,  # its own process group, so helpers die with it
            )
        except OSError as exc:
            raise ConverterMissing(
                f"LibreOffice could not be started ({exc}); " + _INSTALL_HINT
            ) from exc
        try:
            _, stderr = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            process.communicate()
            raise ConversionError(
                f"LibreOffice did not convert the {kind.label} within {timeout_s:g} s"
            ) from None
        finally:
            _kill_group(process)
        pdf = out / "source.pdf"
        if not pdf.is_file() or pdf.stat().st_size == 0:
            detail = stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise ConversionError(
                f"LibreOffice could not convert the {kind.label} to PDF "
                f"(exit status {process.returncode}{'; ' + ' '.join(detail) if detail else ''})"
            )
        return pdf.read_bytes()


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    # Our own session leader's group: LibreOffice's helpers, if any outlived it.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if process.poll() is None:
        process.kill()


def _render_pdf(
    pdf: bytes, page_width: int, max_pages: int, progress: PageProgress | None
) -> list[RenderedPage]:
    try:
        with PDFIUM_LOCK:
            document = pypdfium2.PdfDocument(pdf)
            total = len(document)
    except pypdfium2.PdfiumError as exc:
        raise ConversionError(f"the PDF cannot be opened ({exc})") from exc
    pages: list[RenderedPage] = []
    try:
        if total > max_pages:
            raise InvalidInput(
                f"the document has {total} pages; at most {max_pages} can be converted"
            )
        if total == 0:
            raise ConversionError("the document has no pages")
        _report_from_thread(progress, 0, total)
        for index in range(total):
            # The lock is held per page, never while reporting progress to the loop.
            with PDFIUM_LOCK:
                image = _render_page(document, index, page_width)
            buffer = io.BytesIO()
            image.save(buffer, "PNG", compress_level=6)
            pages.append(RenderedPage(index + 1, buffer.getvalue(), image.width, image.height))
            _report_from_thread(progress, index + 1, total)
    finally:
        with PDFIUM_LOCK:
            document.close()
    return pages


def _render_page(document: pypdfium2.PdfDocument, index: int, page_width: int) -> Image.Image:
    try:
        page = document[index]
        try:
            width_pt, height_pt = page.get_size()
            if width_pt <= 0 or height_pt <= 0:
                raise ConversionError(f"page {index + 1} has no area")
            target = page_width
            if height_pt / width_pt > _MAX_ASPECT:
                target = max(1, math.floor(page_width * _MAX_ASPECT * width_pt / height_pt))
            # pdfium sizes the bitmap as ceil(points × scale); stay just under the target.
            scale = (target - 0.01) / width_pt
            bitmap = page.render(scale=scale)
            try:
                image: Image.Image = bitmap.to_pil().convert("RGB")
            finally:
                bitmap.close()
        finally:
            page.close()
    except pypdfium2.PdfiumError as exc:
        raise ConversionError(f"page {index + 1} cannot be rendered ({exc})") from exc
    return image
