"""The SDK's Python participant client (``zhanye_sdk.client.join``) against the web host."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from zhanye_sdk.client import join, open_invite
from zhanye_sdk.platform import PlatformConfig
from zhanye_sdk.rooms.core import Terminal
from zhanye_sdk.signaling.endpoint import SignalingConfig

from .media_world import invite_url, media_host

pytestmark = pytest.mark.anyio


async def test_the_client_keeps_its_connection_alive_past_the_idle_timeout(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    # A server that drops a connection silent for 1 s (the default is 45 s).
    signaling = SignalingConfig(idle_timeout_s=1.0, leave_grace_s=0.3, tick_interval_s=0.2)
    async with media_host(tmp_path, fast_config, signaling=signaling) as server:
        customer_url = await server.customer_url("客户甲")
        async with (
            join(server.host_url, slots=0, loopback_only=True) as host,
            join(customer_url, slots=0, loopback_only=True) as customer,
        ):
            await anyio.sleep(4.0)  # four idle timeouts, with nothing else to say
            room = await server.rooms.room(server.session_id)
            assert {p.id for p in room.present} == {host.participant_id, customer.participant_id}
            assert not [m for m in host.messages if m["type"] == "room.participant_left"]
            reply = await customer.request(
                "room.set_audio", {"target": customer.participant_id, "on": False}
            )
            assert reply["type"] == "ack", reply
            assert host.welcome["heartbeat_s"] == pytest.approx(1.0 / 3)


async def test_a_program_on_the_sdk_is_recorded_as_the_app_terminal(
    tmp_path: Path, fast_config: PlatformConfig
) -> None:
    async with media_host(tmp_path, fast_config) as server:
        async with join(server.host_url, slots=0, loopback_only=True):
            grant = await open_invite(await invite_url(server), name="客户甲")
            async with join(grant.ws_url, slots=0, loopback_only=True) as customer:
                room = await server.rooms.room(server.session_id)
                assert room.participants[customer.participant_id].terminal is Terminal.APP
