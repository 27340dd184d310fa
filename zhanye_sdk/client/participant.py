"""``join``: a participant on the client side -- signaling over WebSocket plus WebRTC media.

Used by the app host and by tests as a real peer. It offers one audio m-line
(its microphone out, its mix-minus in), one camera m-line when it has a camera, and
``slots`` receive-only video m-lines the server relays the others' video into.

When the socket drops (the server process died, the network blinked) it reconnects
by itself and resumes from the last sequence number it saw; when the welcome comes
from another server process (``instance`` changed), or the room says it moved
(``media.renegotiate`` from a process other than the one that answered), it offers
its media again. So it does when the server asks it by name (back in the room after
leaving it), and when its media connection fails or is closed under it (a changed
network, whose consent checks go unanswered), as the browser page does.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
import anyio
import attrs
import av
import numpy as np
import numpy.typing as npt
from aiortc import (
    MediaStreamTrack,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from anyio.abc import TaskGroup

from zhanye_sdk.errors import AtCapacity, ProtocolError
from zhanye_sdk.media import opus, playout
from zhanye_sdk.media.connection import media_connection
from zhanye_sdk.media.frames import audio_frame_to_mono, video_frame_to_i420
from zhanye_sdk.media.ice import filter_sdp_candidates
from zhanye_sdk.media.peer import CLOSE_LIMIT_S
from zhanye_sdk.signaling.handshake import PROTOCOL

__all__ = ["ReceivedVideo", "SessionParticipant", "join"]

#: How often to ping a server whose welcome does not say (the browser client's interval).
DEFAULT_HEARTBEAT_S = 15.0
#: How long the first welcome may take.
WELCOME_LIMIT_S = 30.0
#: Waits between reconnection attempts (the last one repeats), as the browser client.
RECONNECT_DELAYS_S = (0.2, 0.5, 1.0, 2.0)
#: WebSocket close codes after which reconnecting is pointless (refused, removed, ended).
FINAL_CLOSE_CODES = frozenset({1000, 4401, 4403})
#: How long after its media connection failed the client offers again (the page's wait).
MEDIA_RETRY_S = 1.0


@attrs.define
class ReceivedVideo:
    """What arrived on one video slot: frame count and the last frame's mean luma."""

    frames: int = 0
    mean_luma: float = 0.0
    size: tuple[int, int] = (0, 0)


class SessionParticipant:
    """A joined participant; created by ``join``."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse, tasks: TaskGroup) -> None:
        self._socket = socket
        self._tasks = tasks
        self._media: tuple[MediaStreamTrack | None, MediaStreamTrack | None, int] = (None, None, 0)
        self._ice: tuple[Sequence[str], bool] = ((), False)
        self._leaving = False
        self._ids = itertools.count(1)
        self._replies: dict[str, dict[str, Any]] = {}
        self._reply_ready = anyio.Event()
        #: Sockets ended so far: a request sent on one that ended gets no reply.
        self._drops = 0
        self.participant_id = ""
        self.welcome: dict[str, Any] = {}
        self.messages: list[dict[str, Any]] = []
        self.slots: dict[str, str | None] = {}
        self.audio: list[tuple[float, npt.NDArray[np.int16]]] = []
        self.video: dict[str, ReceivedVideo] = {}
        self.connection: RTCPeerConnection | None = None
        self._playout: playout.Playout | None = None
        self._camera: MediaStreamTrack | None = None
        self._camera_sender: Any = None
        self._camera_on = True
        #: The server's answer SDP as it was sent (aiortc re-serialises what it parsed).
        self.answer_sdp = ""
        #: Set when the session ends.
        self.ended = anyio.Event()
        #: The last room event's sequence number (what a reconnection resumes from).
        self.last_seq = 0
        #: Reconnections so far, and when the latest welcome came (``time.monotonic()``).
        self.reconnections = 0
        self.welcomed_at = 0.0
        #: Media offers answered (1 after joining; one more per server process change).
        self.negotiations = 0
        #: The media process that answered the last offer (``owner`` in the answer).
        self.media_owner: str | None = None
        self._negotiating = anyio.Lock()
        #: A renegotiation that failed (its socket dropped): the next socket offers again.
        self._offer_lost = False

    def _welcome(self, data: dict[str, Any]) -> None:
        self.welcome = data
        self.participant_id = data["participant_id"]
        self.welcomed_at = time.monotonic()
        if not data.get("resumed"):
            self.last_seq = int(data.get("seq", 0))

    # ---- signaling -------------------------------------------------------------------

    async def request(
        self, kind: str, data: dict[str, Any] | None = None, *, limit_s: float = 10
    ) -> dict[str, Any]:
        """Send a message and return the server's reply to it (``ack``, an answer, an error).

        Raises:
            TimeoutError: no reply within ``limit_s``.
            ConnectionError: the socket it was sent on ended first (the reply will
                never come; the client reconnects by itself, send it again then).
        """
        frame_id = f"c{next(self._ids)}"
        frame = {"v": 1, "type": kind, "id": frame_id, "data": data or {}}
        drops = self._drops
        await self._socket.send_str(json.dumps(frame))
        with anyio.fail_after(limit_s):
            while frame_id not in self._replies:
                if self._drops != drops:
                    raise ConnectionError(f"the connection dropped before {kind} was answered")
                await self._reply_ready.wait()
        return self._replies.pop(frame_id)

    def _wake_requests(self) -> None:
        self._reply_ready.set()
        self._reply_ready = anyio.Event()

    async def _heartbeat(self, interval_s: float) -> None:
        """Ping the server (``session.ping``) so it keeps the connection, like the browser."""
        while True:
            await anyio.sleep(interval_s)
            frame = {"v": 1, "type": "session.ping", "id": f"c{next(self._ids)}", "data": {}}
            try:
                await self._socket.send_str(json.dumps(frame))
            except (aiohttp.ClientError, ConnectionError, RuntimeError):
                pass  # the socket is being replaced: the next ping goes on the new one

    async def _read(self) -> None:
        async for message in self._socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            frame = json.loads(message.data)
            if frame.get("type") == "session.pong":
                continue
            if frame.get("re") is not None:
                self._replies[frame["re"]] = frame
                self._wake_requests()
                continue
            if isinstance(frame.get("seq"), int):
                if frame["seq"] <= self.last_seq:
                    continue  # already had it (sent again on resuming)
                self.last_seq = frame["seq"]
            self.messages.append(frame)
            data = frame.get("data", {})
            if frame["type"] == "room.ended":
                self.ended.set()
            if frame["type"] == "media.renegotiate" and self.connection is not None:
                if data.get("participant") == self.participant_id:
                    # Back after leaving: the server closed our media meanwhile.
                    self._tasks.start_soon(self._renegotiate, None, self.negotiations)
                elif data.get("participant") is None:
                    # The room moved to another process: its media is there now.
                    self._tasks.start_soon(self._renegotiate, data.get("owner"))
            if frame["type"] == "media.slots" and data.get("participant") == self.participant_id:
                self.slots = dict(data["slots"])
            if frame["type"] == "room.video_changed" and data.get("participant") == (
                self.participant_id
            ):
                self._send_camera(bool(data.get("on")))

    async def _stay_connected(
        self, http: aiohttp.ClientSession, url: str, protocols: tuple[str, ...]
    ) -> None:
        """Read the socket; when it drops, reconnect and resume, until the session ends
        or the block is left. A welcome from another server process renegotiates media."""
        while True:
            await self._read()
            # What was asked on this socket is answered on no other: say so now rather
            # than at the request's time limit (a renegotiation waits on it).
            self._drops += 1
            self._wake_requests()
            close_code = self._socket.close_code
            if self._leaving or self.ended.is_set() or close_code in FINAL_CLOSE_CODES:
                return
            instance = self.welcome.get("instance")
            await self._reconnect(http, url, protocols)
            moved = self.welcome.get("instance") != instance
            if (moved or self._offer_lost) and self.connection is not None:
                self._tasks.start_soon(self._renegotiate, None, self.negotiations)

    async def _reconnect(
        self, http: aiohttp.ClientSession, url: str, protocols: tuple[str, ...]
    ) -> None:
        for attempt in itertools.count():
            await anyio.sleep(RECONNECT_DELAYS_S[min(attempt, len(RECONNECT_DELAYS_S) - 1)])
            resume = _with_query(url, resume=str(self.last_seq))
            try:
                socket = await http.ws_connect(resume, protocols=protocols)
            except (aiohttp.ClientError, OSError):
                continue
            welcome = await _welcome_from(socket)
            if welcome is None:
                await socket.close()
                if socket.close_code in (4401, 4403):
                    return  # no longer admitted: the caller sees the socket closed
                continue
            self._socket = socket
            self._welcome(welcome)
            self.reconnections += 1
            return

    async def _renegotiate(self, owner: str | None, since: int | None = None) -> None:
        """Offer media again: the room moved to another server process (``owner``, when
        the room said so; ``None`` when the socket found another process), or the
        connection answered ``since`` (the count of negotiations) is no good any more."""
        async with self._negotiating:
            if owner is not None and owner == self.media_owner:
                return  # already offered to that process (after the welcome)
            if since is not None and since != self.negotiations:
                return  # offered again meanwhile (one loss, seen twice: closed, then asked)
            old = self.connection
            if old is not None:
                with anyio.move_on_after(CLOSE_LIMIT_S):
                    await old.close()
            microphone, camera, slots = self._media
            ice_servers, loopback_only = self._ice
            try:
                await self._negotiate(microphone, camera, slots, ice_servers, loopback_only)
            except (ProtocolError, TimeoutError, aiohttp.ClientError, ConnectionError):
                # The socket dropped again meanwhile: the next welcome renegotiates.
                self._offer_lost = True
                return
            self._offer_lost = False

    def _lost_media(self, pc: RTCPeerConnection) -> bool:
        """Whether ``pc`` ended under us: still ours, not closed by a renegotiation
        or by leaving, the session not over."""
        return (
            pc is self.connection
            and not self._leaving
            and not self.ended.is_set()
            and not self._negotiating.locked()
        )

    async def _recover_media(self, dead: RTCPeerConnection) -> None:
        """The media connection failed or was closed under us: offer again."""
        since = self.negotiations
        await anyio.sleep(MEDIA_RETRY_S)
        if self._lost_media(dead):
            await self._renegotiate(None, since)

    def _send_camera(self, on: bool) -> None:
        """Camera off (by us or the host) stops sending it, as the browser page does."""
        self._camera_on = on
        if self._camera_sender is not None:
            self._camera_sender.replaceTrack(self._camera if on else None)

    # ---- media ----------------------------------------------------------------------------

    async def _negotiate(
        self,
        microphone: MediaStreamTrack | None,
        camera: MediaStreamTrack | None,
        slots: int,
        ice_servers: Sequence[str],
        loopback_only: bool,
    ) -> None:
        self._media = (microphone, camera, slots)
        self._ice = (ice_servers, loopback_only)
        pc = media_connection(ice_servers)
        self.connection = pc
        opus.install()  # FEC, DTX and RED offered; what the server answers is used
        audio = pc.addTransceiver(
            microphone or "audio", direction="sendrecv" if microphone else "recvonly"
        )
        # Audio the server relays through a lossy link must not pile up (aiortc#543).
        self._playout = playout.install(audio.receiver) if opus.enabled() else None
        if camera is not None:
            self._camera = camera
            self._camera_sender = pc.addTransceiver(camera, direction="sendonly").sender
        self.video = {}
        for _ in range(slots):
            pc.addTransceiver("video", direction="recvonly")

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState in ("failed", "closed") and self._lost_media(pc):
                self._tasks.start_soon(self._recover_media, pc)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            mid = next(str(t.mid) for t in pc.getTransceivers() if t.receiver.track is track)
            if track.kind == "audio":
                self._tasks.start_soon(self._receive_audio, track)
            else:
                self.video[mid] = ReceivedVideo()
                self._tasks.start_soon(self._receive_video, mid, track)

        await pc.setLocalDescription(await pc.createOffer())
        reply = await self.request("media.offer", {"type": "offer", "sdp": pc.localDescription.sdp})
        if reply["type"] != "media.answer":
            refusal = reply.get("data") or {}
            if refusal.get("code") == "at_capacity":
                told = refusal.get("message_zh")  # the server's own Chinese message
                raise AtCapacity(
                    str(refusal.get("message", "the server is full")),
                    retry_after_s=float(refusal.get("retry_after_s", 5)),
                    zh=told,
                )
            raise ProtocolError(f"the server refused the media offer: {refusal}")
        self.answer_sdp = reply["data"]["sdp"]
        self.media_owner = reply["data"].get("owner")
        self.negotiations += 1
        sdp = filter_sdp_candidates(self.answer_sdp, loopback_only=loopback_only)
        await pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
        self._send_camera(self._camera_on)  # it may have gone off meanwhile

    async def _receive_audio(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                assert isinstance(frame, av.AudioFrame)
                self.audio.append((time.monotonic(), audio_frame_to_mono(frame).copy()))
        except MediaStreamError:
            return

    async def _receive_video(self, mid: str, track: MediaStreamTrack) -> None:
        received = self.video[mid]
        try:
            while True:
                frame = await track.recv()
                assert isinstance(frame, av.VideoFrame)
                y, _, _ = video_frame_to_i420(frame)
                received.frames += 1
                received.mean_luma = float(y.mean())
                received.size = (frame.width, frame.height)
        except MediaStreamError:
            return

    def audio_between(self, start: float, end: float) -> npt.NDArray[np.int16]:
        """Received audio whose frames arrived between two ``time.monotonic()`` instants."""
        chunks = [samples for at, samples in self.audio if start <= at < end]
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)

    def video_of(self, participant: str) -> ReceivedVideo | None:
        """What arrived on the slot that shows ``participant``."""
        for mid, source in self.slots.items():
            if source == participant:
                return self.video.get(mid)
        return None


@asynccontextmanager
async def join(
    ws_url: str,
    *,
    microphone: MediaStreamTrack | None = None,
    camera: MediaStreamTrack | None = None,
    slots: int = 2,
    ice_servers: Sequence[str] = (),
    loopback_only: bool = False,
    reconnect: bool = True,
) -> AsyncIterator[SessionParticipant]:
    """Join a session's signaling at ``ws_url`` (with ``?token=`` or ``?seat=``) and its media.

    The credential is taken out of the URL and sent in the handshake's subprotocol
    header, so it never appears in the server's access log. The connection is kept
    alive with ``session.ping`` at the interval the welcome gives (``heartbeat_s``)
    and, unless ``reconnect`` is false, comes back by itself when the socket drops
    (media offered again when another server process answers).
    Leaves (``room.leave``) and closes everything when the block ends.

    Raises:
        AtCapacity: the server takes no more media participants now (its Chinese
            message in ``zh``; try again after ``retry_after_s`` or elsewhere).
        ProtocolError: the server refused the media offer otherwise.
    """
    url, protocols = _handshake(ws_url)
    async with aiohttp.ClientSession() as http:
        socket = await http.ws_connect(url, protocols=protocols)
        # The server may be taking the room over from a process that died: it waits out
        # that process's lease (two TTLs at most) before it welcomes.
        first = await socket.receive_json(timeout=WELCOME_LIMIT_S)
        if first.get("type") != "session.welcome":
            await socket.close()
            raise ProtocolError(f"expected session.welcome, got {first}")
        async with anyio.create_task_group() as tasks:
            participant = SessionParticipant(socket, tasks)
            participant._welcome(first["data"])
            me = first["data"]["room"]["participants"].get(participant.participant_id)
            participant._camera_on = me is None or bool(me.get("video_on", True))
            if reconnect:
                tasks.start_soon(participant._stay_connected, http, url, protocols)
            else:
                tasks.start_soon(participant._read)
            heartbeat_s = first["data"].get("heartbeat_s", DEFAULT_HEARTBEAT_S)
            tasks.start_soon(participant._heartbeat, float(heartbeat_s))
            try:
                async with participant._negotiating:  # a media.renegotiate waits for it
                    await participant._negotiate(
                        microphone, camera, slots, ice_servers, loopback_only
                    )
                yield participant
            finally:
                participant._leaving = True
                with anyio.CancelScope(shield=True):
                    if participant.connection is not None:
                        with anyio.move_on_after(CLOSE_LIMIT_S):  # see MediaPeer.close
                            await participant.connection.close()
                    for track in (microphone, camera):
                        if track is not None:
                            track.stop()
                    tasks.cancel_scope.cancel()
                    with anyio.move_on_after(CLOSE_LIMIT_S):  # a dead server never answers
                        await participant._socket.close()


async def _welcome_from(socket: aiohttp.ClientWebSocketResponse) -> dict[str, Any] | None:
    """The welcome's data, skipping a refused resume's error; ``None`` when the server
    closed or refused instead (the room is still moving: try again)."""
    with anyio.move_on_after(WELCOME_LIMIT_S):
        async for message in socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                return None
            frame = json.loads(message.data)
            if frame.get("type") == "session.welcome":
                data: dict[str, Any] = frame["data"]
                return data
            if frame.get("type") == "error" and frame.get("data", {}).get("code") == (
                "invalid_resume"
            ):
                continue
            return None
    return None


def _with_query(url: str, **values: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in values]
    return urlunsplit(parts._replace(query=urlencode([*query, *values.items()])))


def _handshake(ws_url: str) -> tuple[str, tuple[str, ...]]:
    """The socket URL without its credential, and the subprotocols that carry it."""
    parts = urlsplit(ws_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in query if k not in ("token", "seat")]
    found = dict(query)
    if found.get("token"):
        credential = f"bearer.{found['token']}"
    elif found.get("seat"):
        credential = f"seat.{found['seat']}"
    else:
        return ws_url, ()
    return urlunsplit(parts._replace(query=urlencode(kept))), (PROTOCOL, credential)
