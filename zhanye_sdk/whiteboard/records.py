"""What a session's board leaves for its record, as typed queries: the documents that
were shared and the annotated pages rendered when it ended.

Other areas (the session record) ask here instead of reading the whiteboard's stored op
JSON; only the whiteboard knows how its ops are stored.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import sqlalchemy as sa

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.store.schema import whiteboard_ops, whiteboard_pages
from zhanye_sdk.whiteboard.core import OpenShare, SharedDocument
from zhanye_sdk.whiteboard.wire import op_from_message

__all__ = ["AnnotatedPage", "BoardRecords"]


@attrs.frozen
class AnnotatedPage:
    """A page that had strokes when the session ended, as stored with its record."""

    document: str
    name: str
    page: int
    width: int
    height: int
    strokes: int
    sha256: str


class BoardRecords:
    """The stored outcome of sessions' boards.

    Args:
        database: the platform's database (``Platform.database``).
    """

    def __init__(self, database: Any) -> None:
        self._db = database

    async def shared_documents(self, session_id: str) -> list[SharedDocument]:
        """Every document (file, video, blank board) shared in the session, once each, in
        the order first shared."""
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(whiteboard_ops.c.author, whiteboard_ops.c.data)
                .where(whiteboard_ops.c.session_id == session_id)
                .where(whiteboard_ops.c.type == "share.open")
                .order_by(whiteboard_ops.c.seq)
            )
            documents: dict[str, SharedDocument] = {}
            for row in rows:
                try:
                    _, op = op_from_message("share.open", json.loads(row.data), row.author)
                except (InvalidInput, ValueError):
                    continue  # stored before a stricter check: not a document to list
                if isinstance(op, OpenShare):
                    documents.setdefault(op.document.id, op.document)
            return list(documents.values())

    async def annotated_pages(self, session_id: str) -> list[AnnotatedPage]:
        """The annotated pages stored with the session's record (empty before its end)."""
        p = whiteboard_pages
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(p.c.document, p.c.name, p.c.page, p.c.width, p.c.height)
                .add_columns(p.c.strokes, p.c.sha256)
                .where(p.c.session_id == session_id)
                .order_by(p.c.document, p.c.page)
            )
            return [
                AnnotatedPage(
                    r.document,
                    r.name,
                    int(r.page),
                    int(r.width),
                    int(r.height),
                    int(r.strokes),
                    r.sha256,
                )
                for r in rows
            ]
