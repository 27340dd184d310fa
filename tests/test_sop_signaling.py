"""The SOP assistant over real WebSockets, seen from both seats: the host gets cards, ticks,
alerts and the summary; a customer connection gets none of them and cannot drive it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import pytest

from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.platform.config import MaterialSettings
from zhanye_sdk.signaling.endpoint import SignalingConfig

from .live_session import Peer, connect_both, open_live_session
from .platform_world import World, build_world
from .sop_world import CARD_INTRO, SopLibrary, build_sop_library
from .webhost import serving

pytestmark = pytest.mark.anyio


@pytest.fixture
async def server(
    tmp_path: Path, fast_config: PlatformConfig
) -> AsyncIterator[tuple[str, World, SopLibrary]]:
    config = attrs.evolve(fast_config, materials=MaterialSettings(storage_root=tmp_path / "m"))
    world = await build_world(f"sqlite:///{tmp_path}/sop.db", config)
    library = await build_sop_library(world)
    signaling = SignalingConfig(idle_timeout_s=5, leave_grace_s=0.3, tick_interval_s=0.1)
    async with serving(world.platform, signaling_config=signaling) as url:
        yield url, world, library


async def segment(host: Peer, uid: str, text: str, role: str) -> dict[str, Any]:
    speaker = "sales" if role == "salesperson" else "cust"
    data = {"utterance": uid, "text": text, "start_ms": 0, "end_ms": 1000}
    return await host.reply_to(
        await host.send("sop.segment", {**data, "speaker": speaker, "role": role})
    )


async def test_a_customer_never_receives_the_assistant_and_cannot_drive_it(
    server: tuple[str, World, SopLibrary],
) -> None:
    base, _world, library = server
    async with aiohttp.ClientSession() as http:
        live = await open_live_session(http, base, "sp-A1", "客户甲")
        host, customer = await connect_both(http, live)

        # The customer tries every SOP message: each is refused, nothing starts.
        for kind, data in (
            ("sop.start", {"template_id": library.template.id}),
            ("sop.segment", {"utterance": "x", "text": "保本保息", "start_ms": 0, "end_ms": 1}),
            ("sop.page", {"material_id": library.material_id, "page": 1}),
            ("sop.finish", {}),
        ):
            refused = await customer.reply_to(await customer.send(kind, data))
            assert refused["type"] == "error" and refused["data"]["code"] == "permission_denied"

        checklist = await host.reply_to(
            await host.send("sop.start", {"template_id": library.template.id})
        )
        assert checklist["type"] == "sop.checklist"
        # The host shares the brochure on the board: the server moves the assistant.
        share = {"op_id": "open-1", "kind": "file", "source": library.material_id}
        assert (await host.reply_to(await host.send("share.open", share)))["type"] == "ack"
        card = await host.next("sop.card")
        assert card["data"]["content"] == CARD_INTRO
        assert (await segment(host, "u1", "您好，今天介绍一款保险产品", "salesperson"))[
            "type"
        ] == "ack"
        assert (await host.next("sop.node"))["data"]["node_id"] == "intro"
        await segment(host, "u2", "放心，保本保息", "salesperson")
        alert = await host.next("sop.alert")
        assert alert["data"]["rule_name"] == "承诺保本"

        # A board op after all that reaches the customer: by then they have had the
        # chance to receive any of it, and they received none.
        turn = {"op_id": "turn-1", "document": f"file-{library.material_id}", "page": 2}
        await host.reply_to(await host.send("share.turn", turn))
        while True:
            frame = await customer.next("whiteboard.applied")
            if frame["data"]["op_id"] == "turn-1":
                break
        await host.reply_to(await host.send("room.end"))
        summary = await host.next("sop.summary")
        assert summary["data"]["qa"]["passed"] is False
        await customer.next("room.ended")
        leaked = [f["type"] for f in customer.frames if f["type"].startswith("sop.")]
        assert leaked == []
        assert {f["type"] for f in host.frames} >= {"sop.card", "sop.node", "sop.alert"}
