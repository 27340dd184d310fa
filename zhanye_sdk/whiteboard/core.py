"""The whiteboard of a session, as a sans-I/O state machine: ops in, effects out.

Theory of operation. One ``Board`` per session lives on the server; it is the only
place where ops are ordered. ``Board.apply(op, author, at_ms)`` checks the op against
the current state and either raises ``OpRejected`` (nothing changes) or returns the
``Applied`` record: the op's sequence number and the *effects* it had, resolved to
plain facts (a stroke added, strokes shown, strokes hidden, a page turned …).
Clients never re-run the rules: they apply effects to a ``BoardView``, so every
client that sees the same effects in the same order holds the same picture. A late
joiner starts from ``Board.snapshot()`` (a ``BoardView`` as data, with the sequence
number it reflects) and applies the effects after it.

Drawing state:

* A finished stroke is an immutable ``Stroke`` (id, author, document, page, tool,
  colour, width, points ``x, y, pressure`` in page units). Adding one is an *action*.
* Erasing (by stroke) and clearing a page are actions too: each hides a set of
  strokes while it is active. A stroke is visible when its add action is active and
  no active erase/clear covers it.
* Undo deactivates the author's most recent active action; redo reactivates the
  author's most recently undone one; a new action forgets the author's redo list. So
  undo and redo only ever touch the author's own actions: undoing my stroke removes
  my stroke, undoing my erase brings back what I erased, and nobody else's work
  disappears because of my undo.

Sharing state: the open document (blank pages, the page images of a material, or a
video), its current page per document, the video's play state (playing, position
at a time), and the presenter — the participant whose page turns, shares and video
controls count, and whose zoom/pan the others follow. The session's host is the
presenter at first and is the only one who hands the role over (``SetPresenter``, 切换
操作方) or takes it back, whoever holds it: a customer presenter cannot pass it on or
keep it. In-progress ink and each user's zoom/pan are transient presence, never
sequenced.

Times are passed in (``at_ms``); nothing here reads a clock or does I/O.
"""

from __future__ import annotations

import enum
import re

import attrs

from zhanye_sdk.errors import AreaRefusal, InvalidInput

__all__ = [
    "MAX_ERASE",
    "MAX_PAGES",
    "MAX_PAGE_SIDE",
    "MAX_POINTS",
    "MAX_STROKES",
    "AddStroke",
    "Applied",
    "Board",
    "BoardView",
    "ClearPage",
    "CloseShare",
    "DocumentClosed",
    "DocumentKind",
    "DocumentShared",
    "Effect",
    "Erase",
    "Op",
    "OpRejected",
    "OpenShare",
    "PageSize",
    "PageTurned",
    "PresenterChanged",
    "Redo",
    "SetPresenter",
    "SharedDocument",
    "Stroke",
    "StrokeAdded",
    "StrokesHidden",
    "StrokesShown",
    "Tool",
    "TurnPage",
    "Undo",
    "VideoAction",
    "VideoChanged",
    "VideoControl",
    "VideoState",
]

#: Most points in one stroke (a client splits longer gestures).
MAX_POINTS = 2000
#: Most strokes one erase names.
MAX_ERASE = 2000
#: Most strokes a board holds, visible or not.
MAX_STROKES = 50_000
#: Most pages of one shared document.
MAX_PAGES = 500
#: Page sides in page units.
MAX_PAGE_SIDE = 16_384
MAX_WIDTH = 256
MAX_PRESSURE = 1000
_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_COLOUR = re.compile(r"^#[0-9a-f]{6}$")


class OpRejected(InvalidInput, AreaRefusal):
    """An op that does not fit the board's state; the board did not change.

    ``code`` (the refusal's ``reason``) is a short machine-readable reason
    (``unknown_stroke``, ``not_presenter`` …).
    """

    def __init__(self, code: str, message: str, *, zh: str | None = None) -> None:
        AreaRefusal.__init__(self, code, message, zh=zh)
        self.code = code


class Tool(enum.StrEnum):
    """Drawing tools: an opaque pen or a translucent (multiplying) highlighter."""

    PEN = "pen"
    HIGHLIGHTER = "highlighter"


class DocumentKind(enum.StrEnum):
    """What is shared: a blank board, a document's page images, or a video."""

    BLANK = "blank"
    FILE = "file"
    VIDEO = "video"


class VideoAction(enum.StrEnum):
    PLAY = "play"
    PAUSE = "pause"
    SEEK = "seek"


def _check_id(what: str, value: str) -> None:
    if not _ID.match(value):
        raise InvalidInput(f"{what} must be 1–64 letters, digits or _.:-, got {value!r}")


@attrs.frozen
class PageSize:
    """A page's size in page units (a page image's pixels; 1280 × 720 for a blank page)."""

    width: int
    height: int


@attrs.frozen
class Stroke:
    """A finished stroke. ``points`` is flat: ``x0, y0, p0, x1, y1, p1, …`` in page units,
    pressure in 0..1000."""

    id: str
    author: str
    document: str
    page: int
    tool: Tool
    colour: str
    width: int
    points: tuple[int, ...]

    def check(self) -> None:
        """Raise ``InvalidInput`` listing every malformed field."""
        problems = []
        if not _ID.match(self.id):
            problems.append(f"id must be 1–64 letters, digits or _.:-, got {self.id!r}")
        if not _COLOUR.match(self.colour):
            problems.append(f"colour must look like #1a2b3c (lower case), got {self.colour!r}")
        if not 1 <= self.width <= MAX_WIDTH:
            problems.append(f"width must be 1..{MAX_WIDTH} page units, got {self.width}")
        n = len(self.points)
        if n == 0 or n % 3 or n // 3 > MAX_POINTS:
            problems.append(
                f"points must hold 1..{MAX_POINTS} (x, y, pressure) triples, got {n} numbers"
            )
        else:
            xy = [v for i, v in enumerate(self.points) if i % 3 != 2]
            if any(not -MAX_PAGE_SIDE <= v <= 2 * MAX_PAGE_SIDE for v in xy):
                problems.append(
                    f"point coordinates must be in {-MAX_PAGE_SIDE}..{2 * MAX_PAGE_SIDE}"
                )
            if any(not 0 <= p <= MAX_PRESSURE for p in self.points[2::3]):
                problems.append(f"pressure must be in 0..{MAX_PRESSURE}")
        if problems:
            raise InvalidInput("stroke: " + "; ".join(problems))


@attrs.frozen
class SharedDocument:
    """A shared document. ``source`` names the material (or is empty for a blank board)."""

    id: str
    kind: DocumentKind
    name: str
    pages: tuple[PageSize, ...]
    source: str = ""

    def check(self) -> None:
        problems = []
        if not _ID.match(self.id):
            problems.append(f"id must be 1–64 letters, digits or _.:-, got {self.id!r}")
        if not 0 < len(self.name) <= 200:
            problems.append("name must be 1–200 characters")
        if not 1 <= len(self.pages) <= MAX_PAGES:
            problems.append(f"a document has 1..{MAX_PAGES} pages, got {len(self.pages)}")
        if any(
            not (1 <= p.width <= MAX_PAGE_SIDE and 1 <= p.height <= MAX_PAGE_SIDE)
            for p in self.pages
        ):
            problems.append(f"page sides must be 1..{MAX_PAGE_SIDE}")
        if len(self.source) > 200:
            problems.append("source must be at most 200 characters")
        if problems:
            raise InvalidInput("document: " + "; ".join(problems))


@attrs.frozen
class VideoState:
    """A shared video: playing or not, at ``position_ms`` as of ``at_ms``."""

    playing: bool
    position_ms: int
    at_ms: int

    def position_at(self, now_ms: int) -> int:
        """Where the video is at ``now_ms``."""
        return self.position_ms + (max(0, now_ms - self.at_ms) if self.playing else 0)


# ---- ops (what a participant asks for) ------------------------------------------------


@attrs.frozen
class AddStroke:
    stroke: Stroke


@attrs.frozen
class Erase:
    """Erase whole strokes (the eraser tool)."""

    strokes: tuple[str, ...]


@attrs.frozen
class ClearPage:
    """Hide every visible stroke of a page (undoable by whoever cleared)."""

    document: str
    page: int


@attrs.frozen
class Undo:
    pass


@attrs.frozen
class Redo:
    pass


@attrs.frozen
class TurnPage:
    document: str
    page: int


@attrs.frozen
class OpenShare:
    document: SharedDocument


@attrs.frozen
class CloseShare:
    pass


@attrs.frozen
class VideoControl:
    action: VideoAction
    position_ms: int


@attrs.frozen
class SetPresenter:
    participant: str


Op = (
    AddStroke
    | Erase
    | ClearPage
    | Undo
    | Redo
    | TurnPage
    | OpenShare
    | CloseShare
    | VideoControl
    | SetPresenter
)

#: Ops only the presenter may send (``SetPresenter`` is the host's, see ``Board.apply``).
_PRESENTER_OPS = (TurnPage, OpenShare, CloseShare, VideoControl)

# ---- effects (what happened, resolved) -----------------------------------------------------


@attrs.frozen
class StrokeAdded:
    """A new stroke; ``z`` orders strokes for drawing (higher on top)."""

    stroke: Stroke
    z: int


@attrs.frozen
class StrokesShown:
    """Strokes back on the board (undo of an erase, redo of a stroke), with full data
    and their ``z``, so a client that joined after they were hidden can draw them."""

    strokes: tuple[Stroke, ...]
    z: tuple[int, ...]


@attrs.frozen
class StrokesHidden:
    strokes: tuple[str, ...]


@attrs.frozen
class PageTurned:
    document: str
    page: int


@attrs.frozen
class DocumentShared:
    document: SharedDocument
    page: int


@attrs.frozen
class DocumentClosed:
    pass


@attrs.frozen
class VideoChanged:
    video: VideoState


@attrs.frozen
class PresenterChanged:
    participant: str


Effect = (
    StrokeAdded
    | StrokesShown
    | StrokesHidden
    | PageTurned
    | DocumentShared
    | DocumentClosed
    | VideoChanged
    | PresenterChanged
)


@attrs.frozen
class Applied:
    """An op the board accepted: its sequence number, who sent it and what it did."""

    seq: int
    author: str
    at_ms: int
    op_id: str
    effects: tuple[Effect, ...]


# ---- what every client holds -----------------------------------------------------------------


@attrs.define
class BoardView:
    """The picture as clients hold it: documents, current page, visible strokes.

    Built from a snapshot plus ``Applied`` effects; equal views draw the same picture.
    """

    seq: int = 0
    presenter: str = ""
    documents: dict[str, SharedDocument] = attrs.field(factory=dict)
    pages: dict[str, int] = attrs.field(factory=dict)
    current: str | None = None
    video: VideoState | None = None
    #: Visible strokes by id, and each one's drawing order (higher on top).
    strokes: dict[str, Stroke] = attrs.field(factory=dict)
    z: dict[str, int] = attrs.field(factory=dict)

    def apply(self, applied: Applied) -> None:
        """Apply an accepted op's effects (in sequence order; older ones are ignored)."""
        if applied.seq <= self.seq:
            return
        for effect in applied.effects:
            self._effect(effect)
        self.seq = applied.seq

    def _effect(self, effect: Effect) -> None:
        if isinstance(effect, StrokeAdded):
            self.strokes[effect.stroke.id] = effect.stroke
            self.z[effect.stroke.id] = effect.z
        elif isinstance(effect, StrokesShown):
            for stroke, z in zip(effect.strokes, effect.z, strict=True):
                self.strokes[stroke.id] = stroke
                self.z[stroke.id] = z
        elif isinstance(effect, StrokesHidden):
            for stroke_id in effect.strokes:
                self.strokes.pop(stroke_id, None)
                self.z.pop(stroke_id, None)
        elif isinstance(effect, PageTurned):
            self.pages[effect.document] = effect.page
        elif isinstance(effect, DocumentShared):
            self.documents[effect.document.id] = effect.document
            self.pages[effect.document.id] = effect.page
            self.current = effect.document.id
            self.video = (
                VideoState(False, 0, 0) if effect.document.kind is DocumentKind.VIDEO else None
            )
        elif isinstance(effect, DocumentClosed):
            self.current = None
            self.video = None
        elif isinstance(effect, VideoChanged):
            self.video = effect.video
        elif isinstance(effect, PresenterChanged):
            self.presenter = effect.participant

    def page_strokes(self, document: str, page: int) -> list[Stroke]:
        """The visible strokes of one page, bottom first."""
        on_page = [s for s in self.strokes.values() if s.document == document and s.page == page]
        return sorted(on_page, key=lambda s: self.z[s.id])


@attrs.define
class _Action:
    author: str
    strokes: tuple[str, ...]
    adds: bool  # True: adds its strokes; False: hides them (erase, clear)
    active: bool = True


class Board:
    """The server's whiteboard of one session. See the module docstring."""

    def __init__(self, presenter: str) -> None:
        """A new board whose host (and first presenter) is ``presenter``."""
        _check_id("presenter", presenter)
        self._host = presenter
        self._seq = 0
        self._view = BoardView(presenter=presenter)
        self._all: dict[str, Stroke] = {}
        self._order: dict[str, int] = {}
        self._actions: dict[str, _Action] = {}
        self._adder: dict[str, str] = {}  # stroke id -> its add action
        self._hidden: dict[str, int] = {}  # stroke id -> active hiding actions
        self._undo: dict[str, list[str]] = {}
        self._redo: dict[str, list[str]] = {}
        self._op_ids: set[str] = set()

    @property
    def seq(self) -> int:
        """Sequence number of the last accepted op (0 before any)."""
        return self._seq

    @property
    def presenter(self) -> str:
        """Who presents now: whose page turns, shares and zoom/pan count."""
        return self._view.presenter

    @property
    def host(self) -> str:
        """The session's host: the only one who hands the presenter role over."""
        return self._host

    def view(self) -> BoardView:
        """The current picture (a copy)."""
        return _copy_view(self._view)

    def snapshot(self) -> BoardView:
        """What a late joiner needs: the current picture and its sequence number."""
        return self.view()

    def can_undo(self, author: str) -> bool:
        return bool(self._undo.get(author))

    def can_redo(self, author: str) -> bool:
        return bool(self._redo.get(author))

    # ---- applying ops --------------------------------------------------------------------

    def apply(self, op: Op, author: str, at_ms: int, op_id: str) -> Applied:
        """Check ``op`` from ``author`` and apply it; ``op_id`` makes the op idempotent.

        Raises:
            OpRejected: the op does not fit the current state (nothing changed).
            InvalidInput: the op or an id is malformed (nothing changed).
        """
        _check_id("author", author)
        _check_id("op id", op_id)
        if op_id in self._op_ids:
            raise OpRejected("duplicate_op", f"op {op_id!r} was applied already")
        if isinstance(op, _PRESENTER_OPS) and author != self._view.presenter:
            raise OpRejected(
                "not_presenter",
                "only the presenter shares, turns pages and plays",
                zh="只有主讲人可以共享、翻页和播放；请先请主持人把主讲人交给您",
            )
        if isinstance(op, SetPresenter) and author != self._host:
            raise OpRejected(
                "not_host",
                "only the host hands the presenter role over",
                zh="只有主持人可以指定主讲人",
            )
        effects = self._effects(op, author, at_ms, op_id)
        self._seq += 1
        self._op_ids.add(op_id)
        applied = Applied(self._seq, author, at_ms, op_id, tuple(effects))
        self._view.apply(applied)
        return applied

    def _effects(self, op: Op, author: str, at_ms: int, op_id: str) -> list[Effect]:
        # Checks first, then changes: every path that raises has changed nothing.
        if isinstance(op, AddStroke):
            return self._add_stroke(op.stroke, author, op_id)
        if isinstance(op, Erase):
            return self._erase(op.strokes, author, op_id)
        if isinstance(op, ClearPage):
            self._check_page(op.document, op.page)
            visible = tuple(s.id for s in self._view.page_strokes(op.document, op.page))
            if not visible:
                raise OpRejected(
                    "nothing_to_clear",
                    "the page has no strokes to clear",
                    zh="这一页没有可清除的笔迹",
                )
            return self._hide(visible, author, op_id)
        if isinstance(op, Undo):
            return self._undo_one(author)
        if isinstance(op, Redo):
            return self._redo_one(author)
        if isinstance(op, TurnPage):
            self._check_page(op.document, op.page)
            return [PageTurned(op.document, op.page)]
        if isinstance(op, OpenShare):
            op.document.check()
            known = self._view.documents.get(op.document.id)
            if known is not None and known != op.document:
                raise OpRejected(
                    "document_mismatch", f"document {op.document.id!r} was shared differently"
                )
            return [DocumentShared(op.document, self._view.pages.get(op.document.id, 1))]
        if isinstance(op, CloseShare):
            if self._view.current is None:
                raise OpRejected(
                    "nothing_shared", "nothing is being shared", zh="当前没有正在共享的内容"
                )
            return [DocumentClosed()]
        if isinstance(op, VideoControl):
            return [self._video(op, at_ms)]
        if isinstance(op, SetPresenter):
            _check_id("participant", op.participant)
            if op.participant == self._view.presenter:
                raise OpRejected(
                    "already_presenter",
                    f"{op.participant!r} presents already",
                    zh="该参会人已经是主讲人",
                )
            return [PresenterChanged(op.participant)]
        raise InvalidInput(f"not a whiteboard op: {type(op).__name__}")

    def _check_page(self, document: str, page: int) -> None:
        shared = self._view.documents.get(document)
        if shared is None:
            raise OpRejected(
                "unknown_document",
                f"document {document!r} has not been shared",
                zh="该文档尚未共享，请先共享再操作",
            )
        if shared.kind is DocumentKind.VIDEO:
            raise OpRejected(
                "not_pages",
                f"document {document!r} is a video and has no pages",
                zh="该资源是视频，没有页面可翻",
            )
        if not 1 <= page <= len(shared.pages):
            raise OpRejected(
                "unknown_page",
                f"page {page} does not exist; the document has {len(shared.pages)}",
                zh=f"第 {page} 页不存在，该文档共 {len(shared.pages)} 页",
            )

    def _add_stroke(self, stroke: Stroke, author: str, op_id: str) -> list[Effect]:
        stroke.check()
        if stroke.author != author:
            raise OpRejected("not_author", "a stroke's author is the participant who sends it")
        if stroke.id in self._all:
            raise OpRejected("duplicate_stroke", f"stroke {stroke.id!r} exists already")
        if len(self._all) >= MAX_STROKES:
            raise OpRejected(
                "board_full",
                f"a board holds at most {MAX_STROKES} strokes",
                zh=f"白板最多容纳 {MAX_STROKES} 笔，请先清除部分笔迹",
            )
        self._check_page(stroke.document, stroke.page)
        self._forget_redo(author)
        self._all[stroke.id] = stroke
        self._order[stroke.id] = len(self._order)
        self._adder[stroke.id] = op_id
        self._actions[op_id] = _Action(author, (stroke.id,), adds=True)
        self._undo.setdefault(author, []).append(op_id)
        return [StrokeAdded(stroke, self._order[stroke.id])]

    def _erase(self, strokes: tuple[str, ...], author: str, op_id: str) -> list[Effect]:
        if not strokes or len(strokes) > MAX_ERASE:
            raise InvalidInput(f"erase names 1..{MAX_ERASE} strokes")
        missing = [s for s in strokes if s not in self._view.strokes]
        if missing:
            raise OpRejected("unknown_stroke", f"strokes not on the board: {missing[:5]}")
        return self._hide(tuple(dict.fromkeys(strokes)), author, op_id)

    def _hide(self, strokes: tuple[str, ...], author: str, op_id: str) -> list[Effect]:
        self._forget_redo(author)
        self._actions[op_id] = _Action(author, strokes, adds=False)
        self._undo.setdefault(author, []).append(op_id)
        return self._set_active(op_id, True)

    def _forget_redo(self, author: str) -> None:
        for action_id in self._redo.pop(author, []):
            del self._actions[action_id]

    def _undo_one(self, author: str) -> list[Effect]:
        stack = self._undo.get(author)
        if not stack:
            raise OpRejected("nothing_to_undo", "you have nothing to undo", zh="没有可撤销的操作")
        action_id = stack.pop()
        self._redo.setdefault(author, []).append(action_id)
        return self._set_active(action_id, False)

    def _redo_one(self, author: str) -> list[Effect]:
        stack = self._redo.get(author)
        if not stack:
            raise OpRejected("nothing_to_redo", "you have nothing to redo", zh="没有可重做的操作")
        action_id = stack.pop()
        self._undo.setdefault(author, []).append(action_id)
        return self._set_active(action_id, True)

    def _visible(self, stroke_id: str) -> bool:
        # An add action forgotten from the redo list takes its stroke away for good.
        adder = self._actions.get(self._adder.get(stroke_id, ""))
        return adder is not None and adder.active and self._hidden.get(stroke_id, 0) == 0

    def _set_active(self, action_id: str, active: bool) -> list[Effect]:
        action = self._actions[action_id]
        before = {s: self._visible(s) for s in action.strokes}
        action.active = active
        if not action.adds:
            step = 1 if active else -1
            for s in action.strokes:
                self._hidden[s] = self._hidden.get(s, 0) + step
        shown = [self._all[s] for s in action.strokes if not before[s] and self._visible(s)]
        hidden = [s for s in action.strokes if before[s] and not self._visible(s)]
        # Undoing a stroke someone else erased shows and hides nothing, but the action
        # still moves between the stacks so undo and redo stay in step.
        effects: list[Effect] = []
        if shown:
            effects.append(StrokesShown(tuple(shown), tuple(self._order[s.id] for s in shown)))
        if hidden:
            effects.append(StrokesHidden(tuple(hidden)))
        return effects

    def _video(self, op: VideoControl, at_ms: int) -> Effect:
        current = self._view.documents.get(self._view.current or "")
        if current is None or current.kind is not DocumentKind.VIDEO or self._view.video is None:
            raise OpRejected("not_video", "no video is being shared", zh="当前没有正在共享的视频")
        if not 0 <= op.position_ms <= 24 * 3600 * 1000:
            raise InvalidInput("position_ms must be 0..86400000")
        was = self._view.video
        if op.action is VideoAction.PLAY:
            return VideoChanged(VideoState(True, op.position_ms, at_ms))
        if op.action is VideoAction.PAUSE:
            return VideoChanged(VideoState(False, op.position_ms, at_ms))
        return VideoChanged(VideoState(was.playing, op.position_ms, at_ms))


def _copy_view(view: BoardView) -> BoardView:
    return BoardView(
        seq=view.seq,
        presenter=view.presenter,
        documents=dict(view.documents),
        pages=dict(view.pages),
        current=view.current,
        video=view.video,
        strokes=dict(view.strokes),
        z=dict(view.z),
    )
