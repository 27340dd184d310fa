"""The ledger of stored bytes: which blobs are still used, and the page-image cache.

A blob (a material's content or a rendered page) stays in storage while a material uses
it or a cached page points at it; ``collect`` removes the rest. Converted pages are
remembered per (content digest, page width): a rendition row marks a finished
conversion, so converting the same content again does no work. ``lock`` serialises
"is this blob still used?" against "a new row now uses it" within this process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from zhanye_sdk.materials.models import PageImage
from zhanye_sdk.materials.storage import MaterialStorage
from zhanye_sdk.store.database import Database
from zhanye_sdk.store.schema import material_pages, material_renditions, materials

__all__ = ["BlobLedger"]


class BlobLedger:
    """What in a ``MaterialStorage`` is in use, over the platform's database."""

    def __init__(self, db: Database, storage: MaterialStorage) -> None:
        self._db = db
        self.storage = storage
        self.lock = anyio.Lock()
        self._converting: dict[str, tuple[anyio.Lock, int]] = {}

    async def collect(self, digests: Iterable[str]) -> None:
        """Remove the blobs (and page images) that no material uses any more."""
        async with self.lock:
            doomed: set[str] = set()
            async with self._db.begin() as conn:
                for digest in set(digests):
                    if await self.used_by_materials(conn, digest):
                        continue
                    page_digests = [
                        r.image_sha256
                        for r in await conn.execute(
                            sa.select(material_pages.c.image_sha256).where(
                                material_pages.c.source_sha256 == digest
                            )
                        )
                    ]
                    await conn.execute(
                        material_pages.delete().where(material_pages.c.source_sha256 == digest)
                    )
                    await conn.execute(
                        material_renditions.delete().where(
                            material_renditions.c.source_sha256 == digest
                        )
                    )
                    doomed.update([digest, *page_digests])
                doomed = {d for d in doomed if not await self._used_anywhere(conn, d)}
            for digest in sorted(doomed):
                await self.storage.delete(digest)

    async def used_by_materials(self, conn: Any, digest: str) -> bool:
        """Whether a material's content is ``digest``."""
        query = sa.select(materials.c.id).where(materials.c.sha256 == digest).limit(1)
        return (await conn.execute(query)).first() is not None

    async def _used_anywhere(self, conn: Any, digest: str) -> bool:
        if await self.used_by_materials(conn, digest):
            return True
        query = (
            sa.select(material_pages.c.number)
            .where(material_pages.c.image_sha256 == digest)
            .limit(1)
        )
        return (await conn.execute(query)).first() is not None

    @asynccontextmanager
    async def converting(self, digest: str) -> AsyncIterator[None]:
        """Hold while converting ``digest``: one conversion per content at a time, so
        later callers find the pages cached."""
        lock, users = self._converting.get(digest, (anyio.Lock(), 0))
        self._converting[digest] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._converting[digest]
            if users <= 1:
                del self._converting[digest]
            else:
                self._converting[digest] = (lock, users - 1)

    async def cached_pages(self, digest: str, width: int) -> list[PageImage] | None:
        """The pages of ``digest`` converted at ``width``, if a conversion finished."""
        async with self._db.connect() as conn:
            rendition = (
                await conn.execute(
                    sa.select(material_renditions.c.page_count)
                    .where(material_renditions.c.source_sha256 == digest)
                    .where(material_renditions.c.width == width)
                )
            ).first()
            if rendition is None:
                return None
            rows = list(
                await conn.execute(
                    sa.select(material_pages)
                    .where(material_pages.c.source_sha256 == digest)
                    .where(material_pages.c.width == width)
                    .order_by(material_pages.c.number)
                )
            )
        if len(rows) != rendition.page_count:
            return None
        return [PageImage(r.number, r.image_sha256, width, r.height) for r in rows]

    async def remember_pages(
        self, digest: str, width: int, pages: list[PageImage], now_ms: int
    ) -> None:
        """Record a finished conversion (or drop its pages if the content went away)."""
        try:
            async with self.lock:
                async with self._db.begin() as conn:
                    if not await self.used_by_materials(conn, digest):
                        # The material went away while it was being converted.
                        orphaned = True
                    else:
                        orphaned = False
                        await conn.execute(
                            material_renditions.insert().values(
                                source_sha256=digest,
                                width=width,
                                page_count=len(pages),
                                created_ms=now_ms,
                            )
                        )
                        await conn.execute(
                            material_pages.insert(),
                            [
                                {
                                    "source_sha256": digest,
                                    "width": width,
                                    "number": page.number,
                                    "image_sha256": page.sha256,
                                    "height": page.height,
                                }
                                for page in pages
                            ],
                        )
        except IntegrityError:
            return  # another process converted the same content first; its pages stand
        if orphaned:
            await self.collect([digest, *(page.sha256 for page in pages)])
