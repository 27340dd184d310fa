"""PDF pages to PNG files, run as a child process within the conversion limits.

``python -I pdfrender.py PDF OUT_DIR WIDTH MAX_PAGES MAX_PAGE_AREA MAX_TOTAL_PIXELS``

Every page's size is checked before anything is drawn: the page count, each page's area
in square points, and the pixels of all page images together. Then each page is drawn
by pdfium at ``WIDTH`` pixels (a page taller than 8 widths is narrowed to fit) and
written to ``OUT_DIR/NNNN.png``. Standard output carries one JSON object per line:
``{"total": n}``, then ``{"page": i, "width": w, "height": h}`` per page, or at any point
``{"error": code, ...}`` and exit status 2. ``conversion`` turns those into messages.

A script, not a package module: it imports only the standard library, pypdfium2 and
Pillow, so the child starts fast and small.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pypdfium2
from PIL import Image

__all__ = ["bitmap_width", "main"]

# Pages taller than this many widths are scaled down to fit (a 1 pt × 10 m page would
# otherwise ask for a bitmap of gigabytes).
MAX_ASPECT = 8


def bitmap_width(width_pt: float, height_pt: float, page_width: int) -> int:
    """The width in pixels a page of ``width_pt × height_pt`` is drawn at."""
    if height_pt / width_pt > MAX_ASPECT:
        return max(1, math.floor(page_width * MAX_ASPECT * width_pt / height_pt))
    return page_width


def _say(**fields: object) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def _fail(code: str, **fields: object) -> int:
    _say(error=code, **fields)
    return 2


def _render(
    document: pypdfium2.PdfDocument, index: int, target: int, width_pt: float
) -> Image.Image:
    page = document[index]
    try:
        # pdfium sizes the bitmap as ceil(points × scale); stay just under the target.
        bitmap = page.render(scale=(target - 0.01) / width_pt)
        try:
            image: Image.Image = bitmap.to_pil().convert("RGB")
        finally:
            bitmap.close()
    finally:
        page.close()
    return image


def main(argv: list[str]) -> int:
    """Run the conversion the command line describes; the exit status."""
    source, out = Path(argv[0]), Path(argv[1])
    page_width, max_pages = int(argv[2]), int(argv[3])
    max_area, max_pixels = float(argv[4]), int(argv[5])
    try:
        document = pypdfium2.PdfDocument(source.read_bytes())
    except pypdfium2.PdfiumError as exc:
        return _fail("open", reason=str(exc))
    total = len(document)
    if total > max_pages:
        return _fail("too_many_pages", pages=total, limit=max_pages)
    if total == 0:
        return _fail("no_pages")
    sizes = []
    pixels = 0
    for index in range(total):
        try:
            width_pt, height_pt = document.get_page_size(index)
        except pypdfium2.PdfiumError as exc:
            return _fail("render", page=index + 1, reason=str(exc))
        if width_pt <= 0 or height_pt <= 0:
            return _fail("no_area", page=index + 1)
        if width_pt * height_pt > max_area:
            return _fail(
                "page_too_large", page=index + 1, width=width_pt, height=height_pt, limit=max_area
            )
        target = bitmap_width(width_pt, height_pt, page_width)
        pixels += target * math.ceil(height_pt * target / width_pt)
        sizes.append((target, width_pt))
    if pixels > max_pixels:
        return _fail("too_many_pixels", pixels=pixels, limit=max_pixels)
    _say(total=total)
    for index, (target, width_pt) in enumerate(sizes):
        try:
            image = _render(document, index, target, width_pt)
        except pypdfium2.PdfiumError as exc:
            return _fail("render", page=index + 1, reason=str(exc))
        image.save(out / f"{index + 1:04d}.png", "PNG", compress_level=6)
        _say(page=index + 1, width=image.width, height=image.height)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except MemoryError:
        sys.exit(_fail("memory"))
