"""One error table for HTTP and WebSocket: the same bad input gets the same code.

A field the message does not have, or a field of the wrong type, is ``invalid_input``
whether it came in an HTTP body or in any area's signaling message; the HTTP status and
the code come from ``zhanye_sdk.error_codes``, and every code has its words in the
pages' message catalogue.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from zhanye_sdk.api.http import error_response
from zhanye_sdk.error_codes import ERROR_CODES, describe
from zhanye_sdk.errors import (
    AccountDisabled,
    AtCapacity,
    ConflictError,
    InvalidInput,
    LoginThrottled,
    NotFound,
    RateLimited,
    ZhanyeError,
)
from zhanye_sdk.platform import NotAccessible, PlatformConfig
from zhanye_sdk.signaling.envelope import ServerMessage

from .catalogue import catalogue_text
from .live_session import Peer, open_live_session
from .platform_world import World, build_world
from .webhost import serving


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (InvalidInput("bad", zh="坏"), "invalid_input", 400),
        (NotAccessible("session", "x"), "not_found", 404),
        (NotFound("gone"), "not_found", 404),
        (ConflictError("ended"), "conflict", 409),
        (AccountDisabled("off"), "account_disabled", 403),
        (LoginThrottled(90), "login_throttled", 429),
        (RateLimited("slow down", retry_after_s=0.2), "rate_limited", 429),
        (AtCapacity("full", retry_after_s=0.4, zh="服务器当前已满"), "at_capacity", 503),
        (ZhanyeError("other"), "error", 400),
    ],
)
def test_an_error_reads_the_same_over_http_and_websocket(
    error: ZhanyeError, code: str, status: int
) -> None:
    response = error_response(error)
    frame = ServerMessage.refusal(error, "c-1")
    assert response.status == status
    assert response.json()["error"] == frame.data
    assert frame.data["code"] == code and frame.re == "c-1"
    if error.zh:
        assert frame.data["message_zh"] == error.zh
    if isinstance(error, RateLimited | AtCapacity):
        assert frame.data["retry_after_s"] == 1


def test_every_code_has_words_on_the_pages_in_both_languages() -> None:
    text = catalogue_text()
    for _, row in ERROR_CODES:
        found = re.findall(rf'"error\.{row.code}":', text)
        assert len(found) >= 2, f"error.{row.code} is missing from a catalogue (zh and en)"


def test_the_table_is_most_specific_first() -> None:
    kinds = [kind for kind, _ in ERROR_CODES]
    for i, kind in enumerate(kinds):
        for later in kinds[i + 1 :]:
            assert not issubclass(later, kind), f"{later.__name__} is shadowed by {kind.__name__}"
    assert describe(NotAccessible("material", "m")).code == "not_found"


@pytest.fixture
async def server(tmp_path: Any, fast_config: PlatformConfig) -> AsyncIterator[tuple[str, World]]:
    world = await build_world(f"sqlite:///{tmp_path}/codes.db", fast_config)
    async with serving(world.platform) as url:
        yield url, world


#: Per area, a message with a field it does not have and one with a field of the wrong type.
BAD_MESSAGES = [
    ("room.set_audio", {"target": "x", "on": False, "volume": 3}),
    ("room.set_audio", {"target": "x", "on": "yes"}),
    ("room.evaluate", {"score": "five", "comment": ""}),
    ("media.offer", {"sdp": 5}),
    ("media.candidate", {"candidate": 5}),
    ("share.turn", {"page": "two"}),
    ("whiteboard.stroke", {"stroke": "not a stroke"}),
    ("whiteboard.view", {"page": 1, "zoom": "big", "extra": 1}),
    ("sop.page", {"page": "three"}),
    ("sop.segment", {"text": 5}),
]

#: Per HTTP area, a body with an unknown field and a body with a wrong type.
BAD_BODIES = [
    ("POST", "/api/login", {"login": "sp-A1", "password": 5}),
    ("POST", "/api/login", {"login": "sp-A1", "password": "x", "remember": True}),
    ("POST", "/api/sessions", {"topic": "x"}),
    ("POST", "/api/sessions", {"template_id": 5}),
]


@pytest.mark.anyio
async def test_the_same_bad_input_gets_the_same_code_over_http_and_websocket(
    server: tuple[str, World],
) -> None:
    base, _ = server
    async with aiohttp.ClientSession() as http:
        live = await open_live_session(http, base, "sp-A1", "客户甲")
        codes: dict[str, str] = {}
        for method, path, body in BAD_BODIES:
            response = await http.request(method, base + path, json=body, headers=live.auth)
            error = (await response.json())["error"]
            codes[f"HTTP {path} {sorted(body)}"] = error["code"]
            assert response.status == 400, (path, body, error)
        host = Peer(await http.ws_connect(f"{live.ws_url}?token={live.login['token']}"))
        await host.next("session.welcome")
        for kind, data in BAD_MESSAGES:
            reply = await host.reply_to(await host.send(kind, data))
            assert reply["type"] == "error", (kind, data, reply)
            codes[f"WS {kind} {sorted(data)}"] = reply["data"]["code"]
            assert reply["data"].get("message_zh") or reply["data"]["message"]
    assert set(codes.values()) == {"invalid_input"}, codes
