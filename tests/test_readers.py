"""Every area's signaling messages are read one way, and bad ones are refused one way.

Each area has a reader table (message type → attrs form) decoded with the one cattrs
converter: ``room``, ``media``, ``cobrowse``, ``sop``, the whiteboard's transient
messages, and its ops (``OP_TYPES``, ``share.open`` as a client sends it). For every
message type of every table, a field the form does not have and a field of the wrong
type are refused with ``InvalidInput`` — and through a running host the socket answers
``invalid_input`` with the same error object HTTP answers for a bad body. Hypothesis
fuzzes every reader with arbitrary JSON: a form or ``InvalidInput``, never another error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhanye_sdk.cobrowse.messages import READERS as COBROWSE
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.media.messages import READERS as MEDIA
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.rooms.wire import READERS as ROOM
from zhanye_sdk.signaling.envelope import ClientMessage
from zhanye_sdk.signaling.readers import Readers
from zhanye_sdk.sop.messages import READERS as SOP
from zhanye_sdk.whiteboard.wire import OP_TYPES, TRANSIENT_READERS, ShareOpenForm, op_from_message
from zhanye_sdk.wire import structure

from .live_session import Peer, open_live_session
from .platform_world import World, build_world
from .webhost import serving

TABLES: tuple[Readers, ...] = (ROOM, MEDIA, COBROWSE, SOP, TRANSIENT_READERS)

STROKE = {
    "id": "s1",
    "document": "blank-1",
    "page": 1,
    "tool": "pen",
    "colour": "#ff0000",
    "width": 30,
    "points": [100, 100, 500, 200, 300, 500],
}

#: One well-formed message of every type every area reads.
VALID: dict[str, dict[str, Any]] = {
    "room.set_audio": {"target": "p2", "on": False},
    "room.set_video": {"target": "p2", "on": True},
    "room.set_self_unmute": {"allowed": True},
    "room.set_main_view": {"target": "p2"},
    "room.end": {},
    "room.leave": {},
    "room.evaluate": {"score": 5, "comment": "好"},
    "media.offer": {"type": "offer", "sdp": "v=0"},
    "media.candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0"},
    "media.hangup": {},
    "cobrowse.share": {"material_id": "m1"},
    "cobrowse.snapshot": {"share": "s", "snapshot": {"html": "<p>"}},
    "cobrowse.snapshot_chunk": {"share": "s", "id": "c", "index": 0, "total": 1, "text": "{}"},
    "cobrowse.event": {"share": "s", "kind": "scroll", "data": {"y": 1}},
    "cobrowse.control": {"share": "s", "to": "p2"},
    "cobrowse.operate": {"share": "s", "epoch": 1, "kind": "click", "data": {"node": 1}},
    "cobrowse.resync": {"share": "s", "last_seq": 3},
    "cobrowse.end": {"share": "s"},
    "cobrowse.submit": {"share": "s", "answers": [{"name": "q1", "label": "年龄", "value": "30"}]},
    "sop.start": {"template_id": "t1"},
    "sop.page": {"material_id": "m1", "page": 2},
    "sop.segment": {
        "utterance": "u1",
        "text": "您好",
        "start_ms": 0,
        "end_ms": 900,
        "speaker": "sp",
        "role": "salesperson",
        "final": True,
    },
    "sop.finish": {},
    "whiteboard.sync": {},
    "whiteboard.ink": {"stroke": STROKE},
    "whiteboard.view": {"document": "blank-1", "page": 1, "zoom": 1000, "x": 0, "y": 0},
    "whiteboard.stroke": {"op_id": "o1", "stroke": STROKE},
    "whiteboard.erase": {"op_id": "o2", "strokes": ["s1"]},
    "whiteboard.clear": {"op_id": "o3", "document": "blank-1", "page": 1},
    "whiteboard.undo": {"op_id": "o4"},
    "whiteboard.redo": {"op_id": "o5"},
    "share.open": {"op_id": "o6", "kind": "blank", "pages": 2},
    "share.close": {"op_id": "o7"},
    "share.turn": {"op_id": "o8", "document": "blank-1", "page": 1},
    "share.video": {"op_id": "o9", "action": "play", "position_ms": 0},
    "share.presenter": {"op_id": "o10", "participant": "p2"},
}

#: A value of the wrong type for any field a form has (text, number, flag, object, list).
WRONG = [[]]


def read(kind: str, data: Any) -> object:
    """Read one message the way its area does."""
    if kind == "share.open":
        return structure(data, ShareOpenForm)  # the client's form; the service resolves it
    if kind in OP_TYPES:
        return op_from_message(kind, data, "p1")
    [table] = [t for t in TABLES if kind in t.forms]
    return table.read(ClientMessage(kind, data, id="m"))


def test_every_message_type_of_every_area_has_an_example() -> None:
    kinds = {kind for table in TABLES for kind in table.forms} | set(OP_TYPES)
    assert set(VALID) == kinds


@pytest.mark.parametrize("kind", sorted(VALID))
def test_a_well_formed_message_is_read(kind: str) -> None:
    read(kind, VALID[kind])


@pytest.mark.parametrize("kind", sorted(VALID))
def test_an_unknown_field_is_refused(kind: str) -> None:
    with pytest.raises(InvalidInput):
        read(kind, {**VALID[kind], "zz_unknown": 1})


@pytest.mark.parametrize("kind", sorted(VALID))
def test_every_field_of_the_wrong_type_is_refused(kind: str) -> None:
    for field in VALID[kind]:
        with pytest.raises(InvalidInput):
            read(kind, {**VALID[kind], field: WRONG})


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)


@settings(max_examples=400)
@given(kind=st.sampled_from(sorted(VALID)), data=JSON)
def test_any_data_is_a_form_or_invalid_input(kind: str, data: object) -> None:
    try:
        read(kind, data)
    except InvalidInput:
        pass


@settings(max_examples=400)
@given(kind=st.sampled_from(sorted(VALID)), field=st.text(max_size=12), value=JSON)
def test_a_well_formed_message_with_any_field_changed_is_a_form_or_invalid_input(
    kind: str, field: str, value: object
) -> None:
    data = dict(VALID[kind])
    if data:
        field = sorted(data)[len(field) % len(data)] if field == "" else field
    try:
        read(kind, {**data, field: value})
    except InvalidInput:
        pass


@pytest.fixture
async def server(tmp_path: Any, fast_config: PlatformConfig) -> AsyncIterator[tuple[str, World]]:
    world = await build_world(f"sqlite:///{tmp_path}/readers.db", fast_config)
    async with serving(world.platform) as url:
        yield url, world


@pytest.mark.anyio
async def test_every_area_refuses_bad_fields_over_the_socket_as_http_refuses_a_bad_body(
    server: tuple[str, World],
) -> None:
    base, _ = server
    async with aiohttp.ClientSession() as http:
        live = await open_live_session(http, base, "sp-A1", "客户甲")
        response = await http.post(
            f"{base}/api/sessions", json={"template_id": 5}, headers=live.auth
        )
        assert response.status == 400
        http_error = (await response.json())["error"]
        assert http_error["code"] == "invalid_input"
        host = Peer(await http.ws_connect(f"{live.ws_url}?token={live.login['token']}"))
        await host.next("session.welcome")
        refused: dict[str, dict[str, Any]] = {}
        for kind, valid in sorted(VALID.items()):
            bad = [{**valid, "zz_unknown": 1}] + [{**valid, f: WRONG} for f in sorted(valid)[:1]]
            for data in bad:
                reply = await host.reply_to(await host.send(kind, data))
                assert reply["type"] == "error", (kind, data, reply)
                refused[f"{kind} {sorted(data)}"] = reply["data"]
        # Nothing a bad message asked for happened: the session is still live.
        still = await http.get(f"{base}/api/sessions/{live.session_id}", headers=live.auth)
        assert (await still.json())["state"] != "ended"
    assert {error["code"] for error in refused.values()} == {"invalid_input"}, refused
    for error in refused.values():
        # The same object as HTTP's: a code, the English words and the Chinese ones.
        assert set(error) == set(http_error), error
