"""Content-addressed storage of material bytes: a blob's name is its SHA-256.

``MaterialStorage`` is what the material service needs from a store; ``LocalStorage``
keeps blobs in a folder (``ab/abcdef….blob``). An S3-compatible store implements the
same methods. ``put_file`` stores a file (an upload the host spooled to disk) by copying it
in pieces while hashing them, so a file of any size costs a piece of memory, not its size.
Writes are atomic: a temporary file in the same folder, flushed and
fsynced, then renamed over the final name, so a crash leaves no half-written blob
under a real name. Storing the same bytes twice stores them once.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import anyio
import anyio.from_thread
import anyio.to_thread

from zhanye_sdk.errors import InvalidInput, NotFound

__all__ = ["ByteProgress", "LocalStorage", "MaterialStorage", "digest_of"]

#: Called with (bytes done, bytes total) as a blob is written; runs in the event loop.
ByteProgress = Callable[[int, int], None]

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


def digest_of(data: bytes) -> str:
    """The SHA-256 of ``data`` as 64 lower-case hex digits (a blob's name)."""
    return hashlib.sha256(data).hexdigest()


def _check_digest(digest: str) -> str:
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise InvalidInput(f"{digest!r} is not a SHA-256 digest (64 lower-case hex digits)")
    return digest


class MaterialStorage(Protocol):
    """Where material bytes live, addressed by their SHA-256."""

    async def put(self, data: bytes, progress: ByteProgress | None = None) -> str:
        """Store ``data`` (once, whatever the number of calls) and return its digest."""
        ...

    async def put_file(self, path: Path, progress: ByteProgress | None = None) -> str:
        """Store the file at ``path`` like ``put``, without holding it in memory."""
        ...

    async def get(self, digest: str) -> bytes:
        """The bytes of a stored blob; raises ``NotFound`` if there is none."""
        ...

    async def contains(self, digest: str) -> bool:
        """Whether a blob is stored."""
        ...

    async def delete(self, digest: str) -> None:
        """Remove a blob (a missing one is ignored)."""
        ...


class LocalStorage:
    """Blobs in a local folder, two hex digits of fan-out: ``root/ab/abcd….blob``.

    The folder is created on the first write, so refusing an upload leaves no trace.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def path_of(self, digest: str) -> Path:
        """Where the blob ``digest`` is (or would be) kept."""
        digest = _check_digest(digest)
        return self.root / digest[:2] / f"{digest}.blob"

    async def put(self, data: bytes, progress: ByteProgress | None = None) -> str:
        """Store ``data`` atomically; ``progress`` sees (done, total) bytes as it is written."""
        return await anyio.to_thread.run_sync(self._put, bytes(data), progress)

    def _put(self, data: bytes, progress: ByteProgress | None) -> str:
        digest = digest_of(data)
        target = self.path_of(digest)
        total = len(data)
        if target.exists():
            _report(progress, total, total)
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".incoming-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                view = memoryview(data)
                for start in range(0, total, _CHUNK):
                    out.write(view[start : start + _CHUNK])
                    _report(progress, min(total, start + _CHUNK), total)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)
        if total == 0:
            _report(progress, 0, 0)
        return digest

    async def put_file(self, path: Path, progress: ByteProgress | None = None) -> str:
        """Store the file at ``path``: copied in pieces, hashed as it goes, then renamed
        to its digest (atomically; an already stored blob is kept and the copy dropped)."""
        return await anyio.to_thread.run_sync(self._put_file, Path(path), progress)

    def _put_file(self, path: Path, progress: ByteProgress | None) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        # The copy is written before its name (the digest) is known: in the root, then
        # renamed into its fan-out folder on the same file system.
        fd, temporary = tempfile.mkstemp(prefix=".incoming-", dir=self.root)
        try:
            hasher = hashlib.sha256()
            with open(path, "rb") as source, os.fdopen(fd, "wb") as out:
                total = os.fstat(source.fileno()).st_size
                done = 0
                while piece := source.read(_CHUNK):
                    hasher.update(piece)
                    out.write(piece)
                    done += len(piece)
                    _report(progress, done, total)
                out.flush()
                os.fsync(out.fileno())
            digest = hasher.hexdigest()
            target = self.path_of(digest)
            if target.exists():
                Path(temporary).unlink()
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temporary, target)
                _fsync_dir(target.parent)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        if done == 0:
            _report(progress, 0, 0)
        return digest

    async def get(self, digest: str) -> bytes:
        """The bytes of blob ``digest``."""
        path = self.path_of(digest)
        try:
            return await anyio.Path(path).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"blob {digest} is not stored") from None

    async def contains(self, digest: str) -> bool:
        """Whether blob ``digest`` is stored."""
        return await anyio.Path(self.path_of(digest)).exists()

    async def delete(self, digest: str) -> None:
        """Remove blob ``digest`` if it is there."""
        await anyio.Path(self.path_of(digest)).unlink(missing_ok=True)


def _report(progress: ByteProgress | None, done: int, total: int) -> None:
    if progress is not None:
        anyio.from_thread.run_sync(progress, done, total)


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not every platform can open a directory.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
