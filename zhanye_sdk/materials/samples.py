"""Sample documents generated at run time: a PDF drawn with Pillow, a PPTX by python-pptx.

The demo data and the tests use them, so the project ships no binary documents. Chinese
text needs a CJK font (Debian: ``fonts-noto-cjk``); without one Pillow's built-in font
draws boxes instead, and the documents are still valid.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

__all__ = ["cjk_font", "sample_pdf", "sample_pptx"]

_FONT_FOLDERS = (
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/noto-cjk"),
    Path("/usr/share/fonts/google-noto-cjk"),
    Path("/System/Library/Fonts"),
)
_FONT_FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "PingFang.ttc")

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def cjk_font(size: int) -> Font:
    """A font with Chinese glyphs (Noto Sans CJK SC when installed), else Pillow's own."""
    for folder in _FONT_FOLDERS:
        for name in _FONT_FILES:
            path = folder / name
            if not path.is_file():
                continue
            for index in range(10):  # the collection's Simplified Chinese face
                try:
                    font = ImageFont.truetype(str(path), size, index=index)
                except OSError:
                    break
                if "SC" in (font.getname()[0] or ""):
                    return font
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def sample_pdf(
    title: str,
    pages: Sequence[tuple[str, Sequence[str]]],
    *,
    page_size: tuple[int, int] = (842, 595),
) -> bytes:
    """A PDF with one drawn page per (heading, lines); ``page_size`` in points.

    The first page also carries ``title``; every page shows its number.
    """
    zoom = 2  # drawn at 144 dpi, so the pages stay sharp when shown 1280 pixels wide
    width, height = page_size[0] * zoom, page_size[1] * zoom
    heading_font, text_font, small_font = (
        cjk_font(40 * zoom),
        cjk_font(26 * zoom),
        cjk_font(18 * zoom),
    )
    images: list[Image.Image] = []
    for number, (heading, lines) in enumerate(pages, start=1):
        image = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 0, width, 90 * zoom), fill=(176, 31, 36))
        draw.text((40 * zoom, 22 * zoom), title, font=heading_font, fill="white")
        draw.text((40 * zoom, 130 * zoom), heading, font=heading_font, fill=(30, 30, 30))
        for row, line in enumerate(lines):
            position = (60 * zoom, (210 + row * 48) * zoom)
            draw.text(position, f"• {line}", font=text_font, fill=(60, 60, 60))
        draw.text(
            (width - 140 * zoom, height - 40 * zoom),
            f"{number} / {len(pages)}",
            font=small_font,
            fill="gray",
        )
        images.append(image)
    if not images:
        raise ValueError("a PDF needs at least one page")
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=72.0 * zoom)
    return out.getvalue()


def sample_pptx(title: str, slides: Sequence[tuple[str, Sequence[str]]]) -> bytes:
    """A PPTX: a title slide, then one title-and-content slide per (heading, bullets)."""
    from pptx import Presentation
    from pptx.util import Pt

    presentation = Presentation()
    cover = presentation.slides.add_slide(presentation.slide_layouts[0])
    if cover.shapes.title is not None:
        cover.shapes.title.text = title
    for heading, bullets in slides:
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        if slide.shapes.title is not None:
            slide.shapes.title.text = heading
        body = slide.placeholders[1].text_frame
        for index, bullet in enumerate(bullets):
            paragraph = body.paragraphs[0] if index == 0 else body.add_paragraph()
            paragraph.text = bullet
            paragraph.font.size = Pt(24)
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()
