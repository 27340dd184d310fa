"""The whiteboard core: per-author undo, erase, clear, sharing, convergence, garbage."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.whiteboard.core import (
    AddStroke,
    Board,
    BoardView,
    ClearPage,
    DocumentKind,
    Erase,
    OpenShare,
    OpRejected,
    PageSize,
    Redo,
    SetPresenter,
    SharedDocument,
    Stroke,
    Tool,
    TurnPage,
    Undo,
    VideoAction,
    VideoControl,
)
from zhanye_sdk.whiteboard.wire import (
    OP_TYPES,
    applied_data,
    applied_from_data,
    op_from_message,
    view_data,
    view_from_data,
)

HOST, ANN, BOB = "host", "ann", "bob"
DOC = SharedDocument("d1", DocumentKind.FILE, "保险合同.pdf", (PageSize(1280, 720),) * 3, "m1")


def stroke(sid: str, author: str, page: int = 1, colour: str = "#ff0000") -> Stroke:
    return Stroke(sid, author, "d1", page, Tool.PEN, colour, 4, (10, 10, 500, 200, 120, 500))


class Harness:
    def __init__(self) -> None:
        self.board = Board(HOST)
        self.n = 0
        self.do(HOST, OpenShare(DOC))

    def do(self, author: str, op: Any) -> Any:
        self.n += 1
        return self.board.apply(op, author, self.n * 10, f"op{self.n}")

    def visible(self, page: int = 1) -> list[str]:
        return [s.id for s in self.board.view().page_strokes("d1", page)]


def test_undo_removes_only_the_authors_own_stroke() -> None:
    h = Harness()
    h.do(ANN, AddStroke(stroke("a1", ANN)))
    h.do(BOB, AddStroke(stroke("b1", BOB)))
    h.do(ANN, Undo())
    assert h.visible() == ["b1"]
    h.do(ANN, Redo())
    assert h.visible() == ["a1", "b1"]  # back in its original place, under b1
    h.do(BOB, Undo())
    assert h.visible() == ["a1"]
    with pytest.raises(OpRejected) as caught:
        h.do(HOST, Undo())
    assert caught.value.code == "nothing_to_undo"


def test_clear_page_is_undone_by_whoever_cleared() -> None:
    h = Harness()
    h.do(ANN, AddStroke(stroke("a1", ANN)))
    h.do(BOB, AddStroke(stroke("b1", BOB)))
    h.do(ANN, AddStroke(stroke("a2", ANN, page=2)))
    h.do(HOST, ClearPage("d1", 1))
    assert h.visible() == [] and h.visible(2) == ["a2"]
    # Ann's undo reverts Ann's last action (a2), not the host's clear.
    h.do(ANN, Undo())
    assert h.visible() == [] and h.visible(2) == []
    h.do(HOST, Undo())
    assert h.visible() == ["a1", "b1"]


def test_erase_and_undo_erase() -> None:
    h = Harness()
    h.do(ANN, AddStroke(stroke("a1", ANN)))
    applied = h.do(BOB, Erase(("a1",)))
    assert h.visible() == []
    assert [type(e).__name__ for e in applied.effects] == ["StrokesHidden"]
    # Ann undoes her stroke while Bob's erase hides it: nothing visible changes...
    assert h.do(ANN, Undo()).effects == ()
    # ...and when Bob undoes his erase, Ann's undone stroke stays away.
    h.do(BOB, Undo())
    assert h.visible() == []
    h.do(ANN, Redo())
    assert h.visible() == ["a1"]


def test_new_action_forgets_redo() -> None:
    h = Harness()
    h.do(ANN, AddStroke(stroke("a1", ANN)))
    h.do(ANN, Undo())
    h.do(ANN, AddStroke(stroke("a2", ANN)))
    with pytest.raises(OpRejected):
        h.do(ANN, Redo())
    assert h.visible() == ["a2"]


def test_presenter_ops_and_video() -> None:
    h = Harness()
    with pytest.raises(OpRejected) as caught:
        h.do(ANN, TurnPage("d1", 2))
    assert caught.value.code == "not_presenter"
    h.do(HOST, TurnPage("d1", 2))
    assert h.board.view().pages["d1"] == 2
    with pytest.raises(OpRejected):
        h.do(HOST, TurnPage("d1", 4))
    h.do(HOST, SetPresenter(ANN))
    h.do(ANN, TurnPage("d1", 3))
    video = SharedDocument("v1", DocumentKind.VIDEO, "介绍.mp4", (PageSize(1280, 720),), "m2")
    h.do(ANN, OpenShare(video))
    h.do(ANN, VideoControl(VideoAction.PLAY, 1000))
    state = h.board.view().video
    assert state is not None and state.playing
    assert state.position_at(state.at_ms + 500) == 1500
    h.do(ANN, VideoControl(VideoAction.SEEK, 9000))
    h.do(ANN, VideoControl(VideoAction.PAUSE, 9100))
    state = h.board.view().video
    assert state is not None and not state.playing
    assert state.position_at(state.at_ms + 5000) == 9100
    # Reopening the file returns to the page it was left on.
    h.do(ANN, OpenShare(DOC))
    assert h.board.view().current == "d1" and h.board.view().pages["d1"] == 3


PEOPLE = (HOST, ANN, BOB)
PRESENTER_OPS = st.lists(
    st.tuples(
        st.sampled_from(PEOPLE),
        st.sampled_from(("hand", "turn")),
        st.sampled_from(PEOPLE),
        st.integers(1, 3),
    ),
    max_size=40,
)


@given(PRESENTER_OPS)
def test_only_the_host_moves_the_presenter_role_and_can_always_take_it_back(
    steps: list[tuple[str, str, str, int]],
) -> None:
    """切换操作方: whoever presents, only the host's ``SetPresenter`` moves the role; a
    customer's attempt (for themselves or anyone) changes nothing; page turns count
    from the presenter only; and the host can take the role back at any point."""
    h = Harness()
    presenter = HOST
    for author, kind, target, page in steps:
        before = (h.board.seq, view_data(h.board.view()))
        op = SetPresenter(target) if kind == "hand" else TurnPage("d1", page)
        allowed = (
            (author == HOST and target != presenter) if kind == "hand" else author == presenter
        )
        try:
            h.do(author, op)
        except OpRejected as exc:
            assert not allowed, (author, kind, target, exc.code)
            expected = {"hand": "not_host" if author != HOST else "already_presenter"}
            assert exc.code == expected.get(kind, "not_presenter")
            assert (h.board.seq, view_data(h.board.view())) == before
            continue
        assert allowed, (author, kind, target, presenter)
        if kind == "hand":
            presenter = target
        assert h.board.presenter == presenter
    if presenter != HOST:
        h.do(HOST, SetPresenter(HOST))
    assert h.board.presenter == HOST == h.board.host
    h.do(HOST, TurnPage("d1", 1))


def test_a_customer_presenter_cannot_hand_the_role_on() -> None:
    h = Harness()
    h.do(HOST, SetPresenter(ANN))
    for target in (BOB, HOST, ANN):
        with pytest.raises(OpRejected) as caught:
            h.do(ANN, SetPresenter(target))
        assert caught.value.code == "not_host"
    assert h.board.presenter == ANN
    h.do(HOST, SetPresenter(HOST))  # taken back without the presenter's consent
    with pytest.raises(OpRejected) as caught:
        h.do(ANN, TurnPage("d1", 2))
    assert caught.value.code == "not_presenter"


def test_duplicate_op_ids_and_stroke_ids_are_refused() -> None:
    h = Harness()
    h.board.apply(AddStroke(stroke("a1", ANN)), ANN, 1, "x")
    with pytest.raises(OpRejected, match="applied already"):
        h.board.apply(AddStroke(stroke("a2", ANN)), ANN, 1, "x")
    with pytest.raises(OpRejected, match="exists already"):
        h.do(ANN, AddStroke(stroke("a1", ANN)))
    with pytest.raises(OpRejected, match="author"):
        h.do(BOB, AddStroke(stroke("a3", ANN)))


def test_malformed_stroke_lists_every_problem() -> None:
    h = Harness()
    bad = Stroke("s 1", ANN, "d1", 1, Tool.PEN, "red", 0, (1, 2))
    with pytest.raises(InvalidInput) as caught:
        h.do(ANN, AddStroke(bad))
    message = str(caught.value)
    assert "id must be" in message and "colour" in message and "width" in message
    assert "points" in message


# ---- property: convergence -------------------------------------------------------------

AUTHORS = [HOST, ANN, BOB]


@st.composite
def client_ops(draw: st.DrawFn) -> list[tuple[str, dict[str, Any]]]:
    """Ops as clients send them (message type and data), some of them nonsense."""
    ops: list[tuple[str, dict[str, Any]]] = []
    for i in range(draw(st.integers(1, 40))):
        kind = draw(
            st.sampled_from(
                ["stroke", "stroke", "stroke", "erase", "clear", "undo", "undo", "redo", "turn"]
            )
        )
        sid = f"s{draw(st.integers(0, 30))}"
        page = draw(st.integers(0, 4))
        if kind == "stroke":
            data: dict[str, Any] = {
                "stroke": {
                    "id": sid,
                    "document": "d1",
                    "page": page,
                    "tool": draw(st.sampled_from(["pen", "highlighter"])),
                    "colour": "#00aa00",
                    "width": draw(st.integers(1, 8)),
                    "points": draw(st.lists(st.integers(0, 1280), min_size=3, max_size=9)),
                }
            }
        elif kind == "erase":
            data = {"strokes": [sid]}
        elif kind in ("clear", "turn"):
            data = {"document": "d1", "page": page}
        else:
            data = {}
        data["op_id"] = f"c{i}"
        area = "share" if kind == "turn" else "whiteboard"
        ops.append((f"{area}.{kind}", data))
    return ops


@given(
    streams=st.lists(client_ops(), min_size=2, max_size=3),
    order=st.lists(st.integers(0, 2), max_size=150),
    joins=st.lists(st.integers(0, 150), min_size=1, max_size=3),
)
def test_any_interleaving_converges_everywhere(
    streams: list[list[tuple[str, dict[str, Any]]]], order: list[int], joins: list[int]
) -> None:
    board = Board(HOST)
    board.apply(OpenShare(DOC), HOST, 0, "share")
    late: list[BoardView] = []
    early = view_from_data(json.loads(json.dumps(view_data(board.snapshot()))))
    log: list[dict[str, Any]] = []
    accepted: list[tuple[Any, str, int, str]] = []
    queues = [list(s) for s in streams]
    picks = order + [i for i, q in enumerate(queues) for _ in q]
    for step, pick in enumerate(picks):
        client = pick % len(queues)
        if not queues[client]:
            continue
        kind, data = queues[client].pop(0)
        author = AUTHORS[client]
        data = dict(data, op_id=f"{author}-{data['op_id']}")
        before = view_data(board.view())
        try:
            op_id, op = op_from_message(kind, data, author)
            applied = board.apply(op, author, step, op_id)
        except InvalidInput:
            # A refused op (garbage, or no longer fitting) leaves the board as it was.
            assert view_data(board.view()) == before
            continue
        log.append(json.loads(json.dumps(applied_data(applied))))
        accepted.append((op, author, step, op_id))
        if step in joins:
            late.append(view_from_data(json.loads(json.dumps(view_data(board.snapshot())))))
    for entry in log:
        early.apply(applied_from_data(entry))
        for view in late:
            view.apply(applied_from_data(entry))
    final = board.view()
    for view in [early, *late]:
        assert view == final
        assert view.page_strokes("d1", 1) == final.page_strokes("d1", 1)
    # Replaying the accepted ops on a fresh board gives the same picture (restart).
    replica = Board(HOST)
    replica.apply(OpenShare(DOC), HOST, 0, "share")
    for op, author, at, op_id in accepted:
        replica.apply(op, author, at, op_id)
    assert replica.view() == final


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=12,
)
KEYS = st.sampled_from(["op_id", "stroke", "strokes", "document", "page", "action", "x"])


@given(
    st.dictionaries(KEYS | st.text(max_size=4), JSON, max_size=6), st.sampled_from(sorted(OP_TYPES))
)
def test_garbage_gives_clear_errors_and_changes_nothing(data: dict[str, Any], kind: str) -> None:
    h = Harness()
    h.do(ANN, AddStroke(stroke("a1", ANN)))
    before = view_data(h.board.view())
    try:
        op_id, op = op_from_message(kind, data, ANN)
        h.board.apply(op, ANN, 99, op_id)
    except InvalidInput as exc:
        assert str(exc)
        assert view_data(h.board.view()) == before
