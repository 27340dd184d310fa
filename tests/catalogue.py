"""The web host's message catalogues as tests read them: Chinese (``messages.js``, every
page loads it) and English (``messages-en.js``, loaded only by a page that speaks it)."""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "hosts" / "web" / "static"
CATALOGUES = {"zh-CN": STATIC / "messages.js", "en": STATIC / "messages-en.js"}


def catalogue_text() -> str:
    """Both catalogues' text, Chinese first."""
    return "\n".join(path.read_text(encoding="utf-8") for path in CATALOGUES.values())


def catalogue_keys(language: str) -> list[str]:
    """The keys of one language's catalogue, in order."""
    text = CATALOGUES[language].read_text(encoding="utf-8")
    return re.findall(r'^  "([^"]+)":', text, flags=re.MULTILINE)
