"""An upload's content as the checks read it: bytes in memory, or a file mapped read-only.

A large upload stays in the file the host spooled it to; mapping it lets the type and
archive checks slice and seek it like bytes while the kernel pages in only what they
touch (headers, trailers, a zip's directory), never the whole file.
"""

from __future__ import annotations

import io
import mmap
from typing import BinaryIO

__all__ = ["Content", "as_file"]

#: What the checks take: the bytes, or a read-only ``mmap`` of the spooled file.
Content = bytes | mmap.mmap


def as_file(data: Content) -> BinaryIO:
    """``data`` as a seekable file positioned at its start (a mapping is its own file)."""
    if isinstance(data, mmap.mmap):
        data.seek(0)
        return data  # type: ignore[return-value]
    return io.BytesIO(data)
