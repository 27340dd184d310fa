"""Draw the staff pages' home-screen icons (hosts/web/static/icons/*.png) with Pillow.

Run from the project root: ``python scripts/make_icons.py``. The PNGs are committed; run
this again only to change them. Each icon is the brand blue with 展 in white, inside the
central 80 % a maskable icon may use (a phone crops the rest to its own shape).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ICONS = Path(__file__).resolve().parents[1] / "hosts" / "web" / "static" / "icons"
BRAND = (31, 111, 235)
FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)


def icon(size: int) -> Image.Image:
    """A square icon of ``size`` pixels."""
    image = Image.new("RGB", (size, size), BRAND)
    draw = ImageDraw.Draw(image)
    font_path = next((f for f in FONTS if Path(f).exists()), None)
    if font_path is None:
        # No CJK font: a white ring still tells the app apart on a home screen.
        r = size * 0.28
        c = size / 2
        draw.ellipse((c - r, c - r, c + r, c + r), outline="white", width=max(2, size // 16))
        return image
    font = ImageFont.truetype(font_path, int(size * 0.5))
    draw.text((size / 2, size / 2), "展", fill="white", font=font, anchor="mm")
    return image


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        icon(size).save(ICONS / f"icon-{size}.png", optimize=True)


if __name__ == "__main__":
    main()
