"""The RTCPeerConnection both ends of the SDK's media use (server and client).

Two things differ from aiortc's own:

- max-bundle: aiortc's default (balanced) leaves a second video m-line on a transport
  that bundling then discards, so its media never flows;
- a connection closed while it is still connecting ends its connecting task quietly.
  aiortc checks for a closed connection only before its first transport starts; one
  closed between two transports (a participant who leaves the moment media connects,
  a peer closed on a loaded machine) made the next start raise ``InvalidStateError``
  in a task nobody awaits: an "exception never retrieved" in the host's log and a
  failure in any test that watches for them.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer, RTCPeerConnection
from aiortc.exceptions import InvalidStateError

__all__ = ["MediaConnection", "media_connection"]


class MediaConnection(RTCPeerConnection):
    """aiortc's connection whose connecting task ends quietly once it is closed."""

    async def _RTCPeerConnection__connect(self) -> None:  # noqa: N802 (aiortc's name)
        try:
            await super()._RTCPeerConnection__connect()  # type: ignore[misc]
        except InvalidStateError:
            if self.signalingState != "closed":  # the first thing ``close()`` sets
                raise


def media_connection(ice_servers: Sequence[str] = ()) -> MediaConnection:
    """A max-bundle connection using ``ice_servers`` (STUN/TURN URLs)."""
    return MediaConnection(
        RTCConfiguration(
            iceServers=[RTCIceServer(urls=url) for url in ice_servers],
            bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
        )
    )
