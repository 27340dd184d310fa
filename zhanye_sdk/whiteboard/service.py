"""``WhiteboardService``: the boards of live sessions, over the signaling channel.

It handles the ``whiteboard.*`` and ``share.*`` messages (register ``handle`` for both
areas with the signaling endpoint). Under a session's lock an op is read
(``whiteboard.wire``), applied to the session's ``Board``, stored in
``whiteboard_ops`` with the board's sequence number and published on the bus as
``whiteboard.applied``. A board not in memory (a restart, another process) is rebuilt
by replaying its stored ops. Clients ask for ``whiteboard.sync`` after every
(re)connect and get the snapshot; ops published meanwhile carry their ``seq`` so a
client drops those the snapshot already holds.

Sharing a material: the presenter sends ``share.open`` with ``{"kind": "file" |
"video", "source": material id}`` (or ``"blank"`` and a page count); the service looks
the material up as the sharing staff member and fills in its name and page sizes.
Page images, the video and the annotated pages are then served to the session's
participants by ``page_image``, ``video_file``, ``render_png`` and ``export_pdf``.

The record: when a session ends, every page that has strokes is rendered to PNG and
stored with the session (``whiteboard_pages``, marked done in ``whiteboard_records``),
so an auditor sees what was drawn without a replay (``annotated_pages``). The service
learns of the end from the room's lifecycle (``on_lifecycle``: ``SessionEnded``) and
renders in ``run``'s task group; ``recover`` renders the sessions that ended while no
service was running. What the board shows is published as ``ShareChanged`` on the
room's lifecycle after each op that opens, turns or closes a document (the SOP assistant
follows it); the record reads the board through ``whiteboard.records.BoardRecords``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import attrs
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from zhanye_sdk.errors import ConflictError, InvalidInput, NotFound, PermissionDenied
from zhanye_sdk.facade import Platform
from zhanye_sdk.lifecycle import LifecycleEvent, SessionEnded, ShareChanged
from zhanye_sdk.materials.kinds import ContentKind
from zhanye_sdk.materials.storage import digest_of
from zhanye_sdk.platform.roles import Principal, Role
from zhanye_sdk.rooms.core import RoomState
from zhanye_sdk.rooms.service import RoomService, Seat
from zhanye_sdk.signaling.bus import Bus
from zhanye_sdk.signaling.envelope import ClientMessage, ServerMessage
from zhanye_sdk.store.schema import (
    accounts,
    sessions,
    whiteboard_ops,
    whiteboard_pages,
    whiteboard_records,
)
from zhanye_sdk.whiteboard.core import (
    Applied,
    Board,
    BoardView,
    DocumentClosed,
    DocumentKind,
    DocumentShared,
    OpRejected,
    PageTurned,
    SharedDocument,
)
from zhanye_sdk.whiteboard.records import AnnotatedPage, BoardRecords
from zhanye_sdk.whiteboard.render import pdf_bytes, png_bytes, render_page
from zhanye_sdk.whiteboard.wire import (
    OP_TYPES,
    TRANSIENT_READERS,
    InkForm,
    ShareOpenForm,
    ViewForm,
    applied_data,
    op_from_message,
    stroke_data,
    view_data,
)
from zhanye_sdk.wire import structure

__all__ = ["AnnotatedPage", "BoardEvent", "MediaFile", "WhiteboardService"]

BLANK_PAGE = (1280, 720)
MAX_BLANK_PAGES = 20
#: Widest annotated page stored with a record (wider pages are scaled down).
RECORD_WIDTH = 1920

_log = logging.getLogger(__name__)


@attrs.frozen
class BoardEvent:
    """One stored op of a session's board, for the session record's event log."""

    seq: int
    at_ms: int
    author: str
    type: str
    data: dict[str, Any]
    effects: list[dict[str, Any]]


@attrs.frozen
class MediaFile:
    """A file to send: a path on disk (streamed, with ranges) or the bytes themselves."""

    content_type: str
    path: Path | None = None
    data: bytes = b""


def _share_of(
    session_id: str, document: SharedDocument, page: int, at_ms: int, opened: bool
) -> ShareChanged:
    if document.kind is DocumentKind.BLANK or not document.source:
        return ShareChanged(session_id, document.kind.value, None, at_ms, opened=opened)
    video = document.kind is DocumentKind.VIDEO
    return ShareChanged(
        session_id,
        document.kind.value,
        document.source,
        at_ms,
        page=None if video else page,
        name=document.name,
        opened=opened,
    )


def _share_changes(session_id: str, board: Board, applied: Applied) -> list[ShareChanged]:
    """What an applied op changed in what the board shows."""
    out: list[ShareChanged] = []
    for effect in applied.effects:
        if isinstance(effect, DocumentShared):
            out.append(_share_of(session_id, effect.document, effect.page, applied.at_ms, True))
        elif isinstance(effect, PageTurned):
            document = board.snapshot().documents.get(effect.document)
            if document is not None:
                out.append(_share_of(session_id, document, effect.page, applied.at_ms, False))
        elif isinstance(effect, DocumentClosed):
            out.append(ShareChanged(session_id, None, None, applied.at_ms))
    return out


class WhiteboardService:
    """The whiteboards and shared documents of sessions."""

    def __init__(self, platform: Platform, rooms: RoomService, bus: Bus) -> None:
        self._platform = platform
        self._db = platform.database
        self._rooms = rooms
        self._bus = bus
        self._boards: dict[str, Board] = {}
        self._views: dict[str, dict[str, ViewForm]] = {}
        self._locks: dict[str, anyio.Lock] = {}
        self._tasks: anyio.abc.TaskGroup | None = None
        #: The typed record queries (shared documents, annotated pages).
        self.records = BoardRecords(platform.database)

    # ---- the board of a session ----------------------------------------------------------

    async def _board(self, session_id: str) -> Board:
        board = self._boards.get(session_id)
        if board is not None:
            return board
        room = await self._rooms.room(session_id)
        board = Board(room.host_id)
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(whiteboard_ops)
                .where(whiteboard_ops.c.session_id == session_id)
                .order_by(whiteboard_ops.c.seq)
            )
            for row in rows:
                op_id, op = op_from_message(row.type, json.loads(row.data), row.author)
                board.apply(op, row.author, int(row.at_ms), op_id)
        if not self._rooms.elsewhere(session_id):
            # Kept only by the room's owner, where every op is applied; elsewhere (a page
            # image asked of another process) it is read afresh each time.
            self._boards[session_id] = board
        return board

    async def snapshot(self, session_id: str) -> BoardView:
        """The session's board as clients hold it (documents, pages, visible strokes)."""
        async with self._lock(session_id):
            return (await self._board(session_id)).snapshot()

    def _lock(self, session_id: str) -> anyio.Lock:
        return self._locks.setdefault(session_id, anyio.Lock())

    async def apply(
        self, seat: Seat, kind: str, data: dict[str, Any]
    ) -> tuple[int, list[ServerMessage]]:
        """Apply one op message from a seat; store and publish it. Returns its ``seq``.

        Raises:
            InvalidInput: malformed, or ``OpRejected`` (with a ``code``) when the op does
                not fit the board; nothing was stored.
            ConflictError: the session has ended.
        """
        messages = await self.apply_batch(seat, [(kind, data)])
        return int(messages[0].data["seq"]), messages

    async def apply_batch(
        self, seat: Seat, ops: list[tuple[str, dict[str, Any]]]
    ) -> list[ServerMessage]:
        """Apply several op messages from a seat in order, stored in one transaction.

        Ops before a refused one are applied, stored and published; then the refusal is
        raised (``InvalidInput``/``OpRejected``), so a client resending its batch gets
        ``duplicate_op`` for those and carries on.
        """
        room = await self._rooms.room(seat.session_id)
        if room.state is RoomState.ENDED:
            raise ConflictError("the session has ended", zh="会话已结束，不能再共享或标注")
        resolved = [
            (kind, await self._resolve_share(seat, data) if kind == "share.open" else data)
            for kind, data in ops
        ]
        for kind, data in resolved:
            target = (
                data.get("participant")
                if kind == "share.presenter" and isinstance(data, dict)
                else None
            )
            if target is not None and target not in room.participants:
                raise InvalidInput(
                    f"{target!r} is not a participant of this session",
                    zh="该人员不是本次会话的参会人",
                )
        at = self._rooms.now_ms()
        messages: list[ServerMessage] = []
        rows: list[dict[str, Any]] = []
        shares: list[ShareChanged] = []
        refused: InvalidInput | None = None
        async with self._lock(seat.session_id):
            board = await self._board(seat.session_id)
            for kind, data in resolved:
                try:
                    op_id, op = op_from_message(kind, data, seat.participant_id)
                    applied = board.apply(op, seat.participant_id, at, op_id)
                except InvalidInput as exc:
                    refused = exc
                    break
                message = ServerMessage("whiteboard.applied", applied_data(applied))
                messages.append(message)
                shares += _share_changes(seat.session_id, board, applied)
                rows.append(
                    {
                        "session_id": seat.session_id,
                        "seq": applied.seq,
                        "op_id": op_id,
                        "author": seat.participant_id,
                        "type": kind,
                        "data": json.dumps(data, ensure_ascii=False),
                        "effects": json.dumps(message.data["effects"], ensure_ascii=False),
                        "at_ms": at,
                    }
                )
            if rows:
                try:
                    async with self._db.begin() as conn:
                        await conn.execute(whiteboard_ops.insert(), rows)
                except BaseException:
                    # Not stored, so not applied: rebuild the board from what is stored.
                    self._boards.pop(seat.session_id, None)
                    raise
                for message in messages:
                    await self._bus.publish(seat.session_id, message)
        # Outside the board's lock: a subscriber may ask the board what it shows.
        for share in shares:
            await self._rooms.lifecycle.publish(share)
        if refused is not None:
            raise refused
        return messages

    async def shown(self, session_id: str) -> ShareChanged:
        """What the session's board shows now, as the ``ShareChanged`` that led there
        (``kind`` None: nothing is shared)."""
        async with self._lock(session_id):
            board = await self._board(session_id)
            view = board.snapshot()
        document = view.documents.get(view.current) if view.current is not None else None
        if document is None:
            return ShareChanged(session_id, None, None, self._rooms.now_ms())
        page = view.pages.get(document.id, 1)
        return _share_of(session_id, document, page, self._rooms.now_ms(), False)

    async def _resolve_share(self, seat: Seat, data: Any) -> dict[str, Any]:
        form = structure(data, ShareOpenForm)
        kind = form.kind
        if kind == DocumentKind.BLANK.value:
            blank_pages = 1 if form.pages is None else form.pages
            if not 1 <= blank_pages <= MAX_BLANK_PAGES:
                raise InvalidInput(
                    f"a blank board has 1..{MAX_BLANK_PAGES} pages",
                    zh=f"空白白板须为 1–{MAX_BLANK_PAGES} 页",
                )
            document = {
                "id": f"blank-{blank_pages}",
                "kind": kind,
                "name": "白板",
                "pages": [list(BLANK_PAGE)] * blank_pages,
                "source": "",
            }
            return {"op_id": form.op_id, "document": document}
        if kind not in (DocumentKind.FILE.value, DocumentKind.VIDEO.value):
            raise InvalidInput(
                f"share kind must be file, video or blank, got {kind!r}",
                zh="请选择共享文件、视频或空白白板",
            )
        source = form.source
        if not isinstance(source, str) or not 0 < len(source) <= 32:
            raise InvalidInput(
                "share.open of a material needs its id as source", zh="请先选择要共享的资源"
            )
        if seat.account_id is None:
            raise PermissionDenied(
                "only staff share materials from the library", zh="只有业务员可以共享资源库中的资源"
            )
        actor = await self._principal(seat.account_id)
        material = await self._platform.materials.get(actor, source)
        if kind == DocumentKind.VIDEO.value:
            if material.kind.value != "video":
                raise InvalidInput(
                    f"material {material.name!r} is not a video",
                    zh=f"资源“{material.name}”不是视频，请以文件方式共享",
                )
            sizes = [list(BLANK_PAGE)]
        else:
            pages = await self._platform.materials.pages(actor, source)
            sizes = [[p.width, p.height] for p in pages]
        document = {
            "id": f"{kind}-{source}",
            "kind": kind,
            "name": material.name[:200],
            "pages": sizes,
            "source": source,
        }
        return {"op_id": form.op_id, "document": document}

    async def _principal(self, account_id: str) -> Principal:
        """The staff member behind a seat (authenticated when the seat was made)."""
        async with self._db.connect() as conn:
            row = (
                await conn.execute(sa.select(accounts).where(accounts.c.id == account_id))
            ).first()
        if row is None or row.disabled:
            raise PermissionDenied("the account is disabled", zh="该账号已被停用，请联系管理员")
        return Principal(row.id, Role(row.role), row.company_id, row.org_id, row.login)

    # ---- the signaling area handler --------------------------------------------------------

    async def handle(self, seat: Seat, message: ClientMessage) -> list[ServerMessage]:
        """The ``AreaHandler`` for ``whiteboard`` and ``share`` messages."""
        try:
            if message.type in TRANSIENT_READERS.forms:
                form = TRANSIENT_READERS.read(message)
                if isinstance(form, InkForm):
                    return await self._relay_ink(seat, form, message.id)
                if isinstance(form, ViewForm):
                    self._views.setdefault(seat.session_id, {})[seat.participant_id] = form
                    await self._bus.publish(
                        seat.session_id,
                        ServerMessage(
                            "whiteboard.view",
                            {"author": seat.participant_id, **attrs.asdict(form)},
                        ),
                    )
                    return [ServerMessage("ack", {}, re=message.id)]
                view = await self.snapshot(seat.session_id)
                data = view_data(view)
                data["now_ms"] = self._rooms.now_ms()
                data["views"] = {
                    author: attrs.asdict(v)
                    for author, v in self._views.get(seat.session_id, {}).items()
                }
                return [ServerMessage("whiteboard.snapshot", data, re=message.id)]
            if message.type not in OP_TYPES:
                raise InvalidInput(f"unknown message {message.type!r}")
            seq, _ = await self.apply(seat, message.type, message.data)
            return [ServerMessage("ack", {"seq": seq}, re=message.id)]
        except OpRejected as exc:
            return [ServerMessage.refusal(exc, message.id)]

    async def _relay_ink(self, seat: Seat, form: InkForm, re: str | None) -> list[ServerMessage]:
        stroke = form.stroke_by(seat.participant_id)
        await self._bus.publish(
            seat.session_id,
            ServerMessage("whiteboard.ink", {"author": seat.participant_id, **stroke_data(stroke)}),
        )
        return [ServerMessage("ack", {}, re=re)]

    # ---- files and pictures -------------------------------------------------------------------

    async def _document(self, session_id: str, document_id: str) -> SharedDocument:
        view = await self.snapshot(session_id)
        document = view.documents.get(document_id)
        if document is None:
            raise NotFound(f"document {document_id!r} has not been shared in this session")
        return document

    async def _host(self, session_id: str) -> Principal:
        room = await self._rooms.room(session_id)
        return await self._principal(room.host_id)

    async def page_image(self, session_id: str, document_id: str, page: int) -> MediaFile:
        """The image of a shared document's page, for the session's participants.

        Raises:
            NotFound: no such document or page in this session's board.
        """
        document = await self._document(session_id, document_id)
        if document.kind is not DocumentKind.FILE or not 1 <= page <= len(document.pages):
            raise NotFound(f"document {document_id!r} has no page {page}")
        actor = await self._host(session_id)
        pages = await self._platform.materials.pages(actor, document.source)
        data = await self._platform.materials.page_image(actor, document.source, page)
        return MediaFile(pages[page - 1].mime_type, data=data)

    async def video_file(self, session_id: str, document_id: str) -> MediaFile:
        """The shared video's file (a path when stored on local disk, for range requests)."""
        document = await self._document(session_id, document_id)
        if document.kind is not DocumentKind.VIDEO:
            raise NotFound(f"document {document_id!r} is not a video")
        actor = await self._host(session_id)
        material = await self._platform.materials.get(actor, document.source)
        mime = material.mime_type or ContentKind.MP4.mime_type
        storage = self._platform.materials.storage
        path_of = getattr(storage, "path_of", None)
        if path_of is not None and material.sha256 is not None:
            return MediaFile(mime, path=path_of(material.sha256))
        return MediaFile(mime, data=await self._platform.materials.download(actor, material.id))

    async def render_png(
        self, session_id: str, document_id: str, page: int, width: int | None = None
    ) -> bytes:
        """One page with its visible strokes as a PNG (native rasterizer)."""
        picture = await self._render(session_id, document_id, page, width)
        return await anyio.to_thread.run_sync(png_bytes, picture)

    async def export_pdf(
        self, session_id: str, document_id: str, width: int | None = None
    ) -> bytes:
        """Every page of a shared document with its strokes, as one PDF."""
        document = await self._document(session_id, document_id)
        pictures = [
            await self._render(session_id, document_id, n, width)
            for n in range(1, len(document.pages) + 1)
        ]
        return await anyio.to_thread.run_sync(pdf_bytes, pictures)

    async def _render(self, session_id: str, document_id: str, page: int, width: int | None) -> Any:
        if width is not None and not 16 <= width <= 4096:
            raise InvalidInput("width must be 16..4096 pixels")
        document = await self._document(session_id, document_id)
        if document.kind is DocumentKind.VIDEO or not 1 <= page <= len(document.pages):
            raise NotFound(f"document {document_id!r} has no page {page}")
        view = await self.snapshot(session_id)
        image = None
        if document.kind is DocumentKind.FILE:
            image = (await self.page_image(session_id, document_id, page)).data
        strokes = view.page_strokes(document_id, page)
        return await anyio.to_thread.run_sync(
            lambda: render_page(document.pages[page - 1], strokes, image=image, width=width)
        )

    async def events(self, session_id: str) -> list[BoardEvent]:
        """The session's whiteboard and share event log, in order (for its record)."""
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(whiteboard_ops)
                .where(whiteboard_ops.c.session_id == session_id)
                .order_by(whiteboard_ops.c.seq)
            )
            return [
                BoardEvent(
                    int(r.seq),
                    int(r.at_ms),
                    r.author,
                    r.type,
                    json.loads(r.data),
                    json.loads(r.effects),
                )
                for r in rows
            ]

    async def shared_documents(self, session_id: str) -> list[SharedDocument]:
        """Every document shared in the session (files, videos, blank boards)."""
        return list((await self.snapshot(session_id)).documents.values())

    # ---- the record: annotated pages rendered when the session ends -------------------------

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Render ended sessions' annotated pages in the background, until cancelled."""
        try:
            async with anyio.create_task_group() as tasks:
                self._tasks = tasks
                task_status.started()
                await anyio.sleep_forever()
        finally:
            self._tasks = None

    async def recover(self) -> None:
        """Render the sessions that ended with a board while no service ran."""
        for session_id in await self._unrendered():
            await self._finalise_quietly(session_id)

    async def recover_room(self, session_id: str) -> None:
        """This process took the room over: its board is read again from the stored ops
        on next use (a copy kept from an earlier time here may be stale). Not under the
        board's lock: a board op holding it may be what asked for the room."""
        self._boards.pop(session_id, None)

    async def on_lifecycle(self, event: LifecycleEvent) -> None:
        """A session with a board ended: render its annotated pages (in ``run``'s task
        group when it runs, so the end itself does not wait for the pictures)."""
        if not isinstance(event, SessionEnded):
            return
        if self._tasks is not None:
            self._tasks.start_soon(self._finalise_board, event.session_id)
        else:
            await self._finalise_board(event.session_id)

    async def _finalise_board(self, session_id: str) -> None:
        if await self._has_board(session_id):
            await self._finalise_quietly(session_id)

    async def _has_board(self, session_id: str) -> bool:
        if session_id in self._boards:
            return True
        async with self._db.connect() as conn:
            found = await conn.execute(
                sa.select(whiteboard_ops.c.seq)
                .where(whiteboard_ops.c.session_id == session_id)
                .limit(1)
            )
            return found.first() is not None

    async def _unrendered(self) -> list[str]:
        """Ended sessions with a whiteboard whose pages were never rendered."""
        async with self._db.connect() as conn:
            rows = await conn.execute(
                sa.select(sessions.c.id)
                .where(sessions.c.state == RoomState.ENDED.value)
                .where(
                    sa.exists().where(whiteboard_ops.c.session_id == sessions.c.id),
                    ~sa.exists().where(whiteboard_records.c.session_id == sessions.c.id),
                )
            )
            return [r.id for r in rows]

    async def _finalise_quietly(self, session_id: str) -> None:
        try:
            await self.finalise(session_id)
        except Exception:
            _log.exception("rendering the annotated pages of session %s failed", session_id)

    async def finalise(self, session_id: str) -> list[AnnotatedPage]:
        """Render every page with strokes to PNG and store them with the session's record.

        Done once per session (later calls return what was stored).

        Raises:
            ConflictError: the session has not ended yet.
        """
        if (await self._rooms.room(session_id)).state is not RoomState.ENDED:
            raise ConflictError(
                "the session has not ended: its pages may still change",
                zh="会话尚未结束，标注页面仍可能变化，请结束后再查看",
            )
        stored = await self._stored_record(session_id)
        if stored is not None:
            return stored
        view = await self.snapshot(session_id)
        drawn: dict[tuple[str, int], int] = {}
        for stroke in view.strokes.values():
            key = (stroke.document, stroke.page)
            drawn[key] = drawn.get(key, 0) + 1
        rows: list[dict[str, Any]] = []
        for (document_id, page), count in sorted(drawn.items()):
            document = view.documents[document_id]
            size = document.pages[page - 1]
            width = min(size.width, RECORD_WIDTH)
            picture = await self._render(session_id, document_id, page, width)
            png = await anyio.to_thread.run_sync(png_bytes, picture)
            rows.append(
                {
                    "session_id": session_id,
                    "document": document_id,
                    "page": page,
                    "name": document.name,
                    "width": int(picture.shape[1]),
                    "height": int(picture.shape[0]),
                    "strokes": count,
                    "sha256": digest_of(png),
                    "png": png,
                }
            )
        try:
            async with self._db.begin() as conn:
                await conn.execute(
                    whiteboard_records.insert().values(
                        session_id=session_id, seq=view.seq, rendered_ms=self._rooms.now_ms()
                    )
                )
                if rows:
                    await conn.execute(whiteboard_pages.insert(), rows)
        except IntegrityError:
            pass  # another process stored them first: the same pages
        return await self.annotated_pages(session_id)

    async def _stored_record(self, session_id: str) -> list[AnnotatedPage] | None:
        async with self._db.connect() as conn:
            done = (
                await conn.execute(
                    sa.select(whiteboard_records.c.seq).where(
                        whiteboard_records.c.session_id == session_id
                    )
                )
            ).first()
        return None if done is None else await self.annotated_pages(session_id)

    async def annotated_pages(self, session_id: str) -> list[AnnotatedPage]:
        """The annotated pages stored with the session's record (empty before its end)."""
        return await self.records.annotated_pages(session_id)

    async def annotated_png(self, session_id: str, document_id: str, page: int) -> bytes:
        """One stored annotated page's PNG.

        Raises:
            NotFound: the record has no such page.
        """
        p = whiteboard_pages
        async with self._db.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(p.c.png).where(
                        p.c.session_id == session_id, p.c.document == document_id, p.c.page == page
                    )
                )
            ).first()
        if row is None:
            raise NotFound(f"the record has no annotated page {page} of {document_id!r}")
        return bytes(row.png)
