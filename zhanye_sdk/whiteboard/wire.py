"""Whiteboard and share messages on the signaling channel, to and from core types.

Client → server (``data`` of the envelope; every sequenced op carries an ``op_id``,
1–64 of ``A-Za-z0-9_.:-``, unique per op, so a resent op is applied once)::

    whiteboard.stroke  {"op_id", "stroke": {"id", "document", "page", "tool", "colour",
                        "width", "points": [x, y, p, …]}}
    whiteboard.erase   {"op_id", "strokes": ["id", …]}
    whiteboard.clear   {"op_id", "document", "page"}
    whiteboard.undo    {"op_id"}            whiteboard.redo {"op_id"}
    share.open         {"op_id", "document": {"id", "kind", "name", "pages": [[w, h], …],
                        "source"}}
    share.close        {"op_id"}
    share.turn         {"op_id", "document", "page"}
    share.video        {"op_id", "action": "play" | "pause" | "seek", "position_ms"}
    share.presenter    {"op_id", "participant"}   the host only: hand over, take back
    whiteboard.sync    {}                    → reply whiteboard.snapshot
    whiteboard.ink     {"stroke": {…, "points"}}  transient, relayed, never stored
    whiteboard.view    {"document", "page", "zoom", "x", "y"}  transient (zoom in 1/1000)

Server → clients: ``whiteboard.applied`` ``{"seq", "author", "at_ms", "op_id",
"effects": [{"kind": "stroke_added", …}, …]}`` for every accepted op, in ``seq``
order; ``whiteboard.snapshot`` ``{"board": …}``; relayed ``whiteboard.ink`` and
``whiteboard.view`` with the sender as ``author``.
"""

from __future__ import annotations

from typing import Any

import attrs

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.signaling.readers import Empty, Readers, text_of, whole_number_in
from zhanye_sdk.whiteboard.core import (
    MAX_PAGE_SIDE,
    AddStroke,
    Applied,
    BoardView,
    ClearPage,
    CloseShare,
    DocumentClosed,
    DocumentKind,
    DocumentShared,
    Effect,
    Erase,
    Op,
    OpenShare,
    PageSize,
    PageTurned,
    PresenterChanged,
    Redo,
    SetPresenter,
    SharedDocument,
    Stroke,
    StrokeAdded,
    StrokesHidden,
    StrokesShown,
    Tool,
    TurnPage,
    Undo,
    VideoAction,
    VideoChanged,
    VideoControl,
    VideoState,
)
from zhanye_sdk.wire import structure

#: Deepest zoom of a participant's view, in 1/1000.
MAX_ZOOM = 8000

__all__ = [
    "MAX_ZOOM",
    "OP_TYPES",
    "TRANSIENT_READERS",
    "TRANSIENT_TYPES",
    "InkForm",
    "ShareOpenForm",
    "ViewForm",
    "applied_data",
    "applied_from_data",
    "op_from_message",
    "stroke_data",
    "view_data",
    "view_from_data",
]


@attrs.frozen
class _StrokeForm:
    id: str
    document: str
    page: int
    tool: Tool
    colour: str
    width: int
    points: list[int]


@attrs.frozen
class _StrokeMessage:
    op_id: str
    stroke: _StrokeForm


@attrs.frozen
class _EraseMessage:
    op_id: str
    strokes: list[str]


@attrs.frozen
class _PageMessage:
    op_id: str
    document: str
    page: int


@attrs.frozen
class _Plain:
    op_id: str


@attrs.frozen
class _DocumentForm:
    id: str
    kind: DocumentKind
    name: str
    pages: list[list[int]]
    source: str = ""


@attrs.frozen
class _OpenMessage:
    op_id: str
    document: _DocumentForm


@attrs.frozen
class _VideoMessage:
    op_id: str
    action: VideoAction
    position_ms: int


@attrs.frozen
class _PresenterMessage:
    op_id: str
    participant: str


def _stroke(form: _StrokeForm, author: str) -> Stroke:
    stroke = Stroke(
        form.id,
        author,
        form.document,
        form.page,
        form.tool,
        form.colour,
        form.width,
        tuple(form.points),
    )
    stroke.check()
    return stroke


def _document(form: _DocumentForm) -> SharedDocument:
    if any(len(p) != 2 for p in form.pages):
        raise InvalidInput("document: pages must be [width, height] pairs")
    return SharedDocument(
        form.id, form.kind, form.name, tuple(PageSize(w, h) for w, h in form.pages), form.source
    )


def _stroke_op(data: Any, author: str) -> tuple[str, Op]:
    m = structure(data, _StrokeMessage)
    return m.op_id, AddStroke(_stroke(m.stroke, author))


def _erase_op(data: Any, _: str) -> tuple[str, Op]:
    m = structure(data, _EraseMessage)
    return m.op_id, Erase(tuple(m.strokes))


def _clear_op(data: Any, _: str) -> tuple[str, Op]:
    m = structure(data, _PageMessage)
    return m.op_id, ClearPage(m.document, m.page)


def _turn_op(data: Any, _: str) -> tuple[str, Op]:
    m = structure(data, _PageMessage)
    return m.op_id, TurnPage(m.document, m.page)


def _undo_op(data: Any, _: str) -> tuple[str, Op]:
    return structure(data, _Plain).op_id, Undo()


def _redo_op(data: Any, _: str) -> tuple[str, Op]:
    return structure(data, _Plain).op_id, Redo()


def _close_op(data: Any, _: str) -> tuple[str, Op]:
    return structure(data, _Plain).op_id, CloseShare()


def _open_op(data: Any, _: str) -> tuple[str, Op]:
    m = structure(data, _OpenMessage)
    document = _document(m.document)
    document.check()
    return m.op_id, OpenShare(document)


def _video_op(data: Any, _: str) -> tuple[str, Op]:
    m = structure(data, _VideoMessage)
    return m.op_id, VideoControl(m.action, m.position_ms)


def _presenter_op(data: Any, _: str) -> tuple[str, Op]:
    m = structure(data, _PresenterMessage)
    return m.op_id, SetPresenter(m.participant)


@attrs.frozen
class InkForm:
    """``whiteboard.ink``: a stroke being drawn, relayed live and never stored."""

    stroke: _StrokeForm

    def stroke_by(self, author: str) -> Stroke:
        """The stroke drawn by ``author``, checked as a stored stroke is.

        Raises:
            InvalidInput: the stroke does not fit the board's rules.
        """
        return _stroke(self.stroke, author)


@attrs.frozen
class ViewForm:
    """``whiteboard.view``: where a participant looks (document, page, zoom and offset)."""

    document: str = attrs.field(validator=text_of(64))
    page: int = attrs.field(validator=whole_number_in(1, 10_000))
    zoom: int = attrs.field(validator=whole_number_in(100, MAX_ZOOM))
    x: int = attrs.field(validator=whole_number_in(-4 * MAX_PAGE_SIDE, 4 * MAX_PAGE_SIDE))
    y: int = attrs.field(validator=whole_number_in(-4 * MAX_PAGE_SIDE, 4 * MAX_PAGE_SIDE))


@attrs.frozen
class ShareOpenForm:
    """``share.open`` as a client sends it: a material (``file`` / ``video``, by id) or a
    blank board of ``pages`` pages; the service fills in the document."""

    kind: str = attrs.field(validator=text_of(16))
    op_id: str | None = attrs.field(default=None, validator=text_of(64))
    source: str | None = None
    pages: int | None = None


#: The whiteboard's messages that carry no op: what each is read into.
TRANSIENT_READERS = Readers(
    "whiteboard", {"whiteboard.sync": Empty, "whiteboard.ink": InkForm, "whiteboard.view": ViewForm}
)

#: Message types that carry a sequenced op, and how each is read.
OP_TYPES = {
    "whiteboard.stroke": _stroke_op,
    "whiteboard.erase": _erase_op,
    "whiteboard.clear": _clear_op,
    "whiteboard.undo": _undo_op,
    "whiteboard.redo": _redo_op,
    "share.open": _open_op,
    "share.close": _close_op,
    "share.turn": _turn_op,
    "share.video": _video_op,
    "share.presenter": _presenter_op,
}
TRANSIENT_TYPES = ("whiteboard.ink", "whiteboard.view")


def op_from_message(kind: str, data: Any, author: str) -> tuple[str, Op]:
    """``(op_id, op)`` from a client message of type ``kind`` sent by ``author``.

    Raises:
        InvalidInput: an unknown type or malformed data (the message lists every bad field).
    """
    reader = OP_TYPES.get(kind)
    if reader is None:
        raise InvalidInput(f"{kind!r} is not a whiteboard op; expected one of {sorted(OP_TYPES)}")
    return reader(data, author)


# ---- server → client ---------------------------------------------------------------------


def stroke_data(stroke: Stroke) -> dict[str, Any]:
    """A stroke as JSON data."""
    return {
        "id": stroke.id,
        "author": stroke.author,
        "document": stroke.document,
        "page": stroke.page,
        "tool": stroke.tool.value,
        "colour": stroke.colour,
        "width": stroke.width,
        "points": list(stroke.points),
    }


def _stroke_from(data: dict[str, Any]) -> Stroke:
    return Stroke(
        data["id"],
        data["author"],
        data["document"],
        data["page"],
        Tool(data["tool"]),
        data["colour"],
        data["width"],
        tuple(data["points"]),
    )


def _document_data(document: SharedDocument) -> dict[str, Any]:
    return {
        "id": document.id,
        "kind": document.kind.value,
        "name": document.name,
        "pages": [[p.width, p.height] for p in document.pages],
        "source": document.source,
    }


def _document_from(data: dict[str, Any]) -> SharedDocument:
    return SharedDocument(
        data["id"],
        DocumentKind(data["kind"]),
        data["name"],
        tuple(PageSize(w, h) for w, h in data["pages"]),
        data["source"],
    )


def _video_data(video: VideoState) -> dict[str, Any]:
    return {"playing": video.playing, "position_ms": video.position_ms, "at_ms": video.at_ms}


def _effect_data(effect: Effect) -> dict[str, Any]:
    if isinstance(effect, StrokeAdded):
        return {"kind": "stroke_added", "stroke": stroke_data(effect.stroke), "z": effect.z}
    if isinstance(effect, StrokesShown):
        return {
            "kind": "strokes_shown",
            "strokes": [stroke_data(s) for s in effect.strokes],
            "z": list(effect.z),
        }
    if isinstance(effect, StrokesHidden):
        return {"kind": "strokes_hidden", "strokes": list(effect.strokes)}
    if isinstance(effect, PageTurned):
        return {"kind": "page_turned", "document": effect.document, "page": effect.page}
    if isinstance(effect, DocumentShared):
        return {
            "kind": "document_shared",
            "document": _document_data(effect.document),
            "page": effect.page,
        }
    if isinstance(effect, DocumentClosed):
        return {"kind": "document_closed"}
    if isinstance(effect, VideoChanged):
        return {"kind": "video_changed", "video": _video_data(effect.video)}
    return {"kind": "presenter_changed", "participant": effect.participant}


def _effect_from(data: dict[str, Any]) -> Effect:
    kind = data["kind"]
    if kind == "stroke_added":
        return StrokeAdded(_stroke_from(data["stroke"]), data["z"])
    if kind == "strokes_shown":
        return StrokesShown(tuple(_stroke_from(s) for s in data["strokes"]), tuple(data["z"]))
    if kind == "strokes_hidden":
        return StrokesHidden(tuple(data["strokes"]))
    if kind == "page_turned":
        return PageTurned(data["document"], data["page"])
    if kind == "document_shared":
        return DocumentShared(_document_from(data["document"]), data["page"])
    if kind == "document_closed":
        return DocumentClosed()
    if kind == "video_changed":
        return VideoChanged(VideoState(**data["video"]))
    if kind == "presenter_changed":
        return PresenterChanged(data["participant"])
    raise InvalidInput(f"unknown effect {kind!r}")


def applied_data(applied: Applied) -> dict[str, Any]:
    """The ``whiteboard.applied`` message data of an accepted op."""
    return {
        "seq": applied.seq,
        "author": applied.author,
        "at_ms": applied.at_ms,
        "op_id": applied.op_id,
        "effects": [_effect_data(e) for e in applied.effects],
    }


def applied_from_data(data: dict[str, Any]) -> Applied:
    """Read ``whiteboard.applied`` data back (clients, tests, the record's replay)."""
    return Applied(
        data["seq"],
        data["author"],
        data["at_ms"],
        data["op_id"],
        tuple(_effect_from(e) for e in data["effects"]),
    )


def view_data(view: BoardView) -> dict[str, Any]:
    """A board snapshot as JSON data (``whiteboard.snapshot``)."""
    return {
        "seq": view.seq,
        "presenter": view.presenter,
        "documents": [_document_data(d) for d in view.documents.values()],
        "pages": dict(view.pages),
        "current": view.current,
        "video": None if view.video is None else _video_data(view.video),
        "strokes": [
            stroke_data(s) | {"z": view.z[s.id]}
            for s in sorted(view.strokes.values(), key=lambda s: view.z[s.id])
        ],
    }


def view_from_data(data: dict[str, Any]) -> BoardView:
    """A ``BoardView`` from snapshot data."""
    strokes = {s["id"]: _stroke_from(s) for s in data["strokes"]}
    return BoardView(
        seq=data["seq"],
        presenter=data["presenter"],
        documents={d["id"]: _document_from(d) for d in data["documents"]},
        pages=dict(data["pages"]),
        current=data["current"],
        video=None if data["video"] is None else VideoState(**data["video"]),
        strokes=strokes,
        z={s["id"]: s["z"] for s in data["strokes"]},
    )
