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


class _MappedFile(io.RawIOBase):
    """A read-only mapping as a real ``io`` file: readers that accept only ``io``
    objects (pypdfium2 refuses a bare ``mmap``) read it in place, without a copy."""

    def __init__(self, mapped: mmap.mmap) -> None:
        super().__init__()
        self._mapped = mapped
        self._at = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._at

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._at, io.SEEK_END: len(self._mapped)}[whence]
        self._at = max(0, base + offset)
        return self._at

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = self._mapped[self._at : self._at + len(buffer)]
        buffer[: len(chunk)] = chunk
        self._at += len(chunk)
        return len(chunk)


def as_file(data: Content) -> BinaryIO:
    """``data`` as a seekable file positioned at its start (a mapping is read in place)."""
    if isinstance(data, mmap.mmap):
        return io.BufferedReader(_MappedFile(data))
    return io.BytesIO(data)
