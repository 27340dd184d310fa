"""Which addresses the web host's WebRTC offers: those it serves on, or those it is given."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from zhanye_sdk import DeploymentConfig
from zhanye_sdk.client import join
from zhanye_sdk.media.ice import IcePolicy, candidate_address, ice_policy, limit_host_addresses
from zhanye_sdk.platform import PlatformConfig

from .media_world import media_host

ROOT = Path(__file__).resolve().parents[1]


def test_the_addresses_follow_the_served_address_unless_given() -> None:
    assert ice_policy("127.0.0.1") == IcePolicy(("127.0.0.1",), loopback_only=True)
    assert ice_policy("localhost") == IcePolicy(("127.0.0.1",), loopback_only=True)
    assert ice_policy("10.1.2.3") == IcePolicy(("10.1.2.3",), loopback_only=False)
    assert ice_policy("0.0.0.0") == IcePolicy(None, loopback_only=False)
    assert ice_policy("::") == IcePolicy(None, loopback_only=False)
    given = ice_policy("0.0.0.0", ["192.168.1.20", "10.0.0.5"])
    assert given == IcePolicy(("192.168.1.20", "10.0.0.5"), loopback_only=False)
    with pytest.raises(ValueError):
        ice_policy("0.0.0.0", ["eth0"])


def test_a_bad_ice_address_stops_the_host_with_a_clear_message() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hosts.web", "--ice-address", "not-an-ip"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "--ice-address" in done.stderr, done.stderr


def answer_addresses(sdp: str) -> set[str]:
    return {
        address
        for line in sdp.splitlines()
        if line.startswith("a=candidate:") and (address := candidate_address(line))
    }


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("given", "offered"),
    [((), {"127.0.0.1"}), (("127.0.0.2", "127.0.0.3"), {"127.0.0.2", "127.0.0.3"})],
)
async def test_a_loopback_host_offers_only_its_addresses_and_connects_on_them(
    tmp_path: Path, fast_config: PlatformConfig, given: tuple[str, ...], offered: set[str]
) -> None:
    # As `python -m hosts.web --host 127.0.0.1 [--ice-address …]` configures its media.
    media = DeploymentConfig(ice=ice_policy("127.0.0.1", given)).media_config()
    try:
        async with media_host(tmp_path, fast_config, media) as server:
            async with join(server.host_url, slots=1, loopback_only=True) as host:
                assert answer_addresses(host.answer_sdp) == offered, host.answer_sdp
                peer = server.media.peer(server.session_id, host.participant_id)
                assert peer is not None
                with anyio.fail_after(15):
                    while peer.state != "connected":  # noqa: ASYNC110
                        await anyio.sleep(0.05)
                pair = peer.connection.getTransceivers()[0].sender.transport.transport
                local = pair.iceGatherer.getLocalCandidates()
                assert {c.ip for c in local} == offered
    finally:
        limit_host_addresses(None)  # the setting is process-wide
