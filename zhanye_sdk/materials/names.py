"""Material names as people will see them: no invisible characters that lie.

An uploaded file's name is shown to everyone its material is shared with and offered
back as a download name. ``clean_material_name`` drops what would make that name show
something other than what it is: bidirectional controls (U+202E RIGHT-TO-LEFT OVERRIDE
turns ``报价单\u202efdp.exe`` into "报价单exe.pdf" on screen), zero-width and other
format characters (Unicode category Cf), control characters (Cc) and line or paragraph
separators; it then trims, and checks the length like any other name.
"""

from __future__ import annotations

import unicodedata

from zhanye_sdk.platform.validation import check_name

__all__ = ["clean_material_name"]

_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp"})


def clean_material_name(name: str, *, what: str = "material name", limit: int = 128) -> str:
    """``name`` without invisible or direction-changing characters, trimmed.

    Raises:
        InvalidInput: not text, or empty or longer than ``limit`` once cleaned.
    """
    if isinstance(name, str):
        name = "".join(c for c in name if unicodedata.category(c) not in _INVISIBLE)
    return check_name(name, what=what, limit=limit)
