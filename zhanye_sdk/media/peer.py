"""``MediaPeer``: the server's RTCPeerConnection with one participant.

The participant offers; the server answers. What the offer's m-lines mean:

* the first audio m-line the participant sends on is their microphone; if it also
  receives, the server sends that participant's mix-minus back on it;
* a video m-line the participant sends on is their camera;
* every video m-line the participant receives on is a *slot*: the server relays one
  other participant's video into it and says which one in ``media.slots``.

So adding or removing a participant never needs a renegotiation: a client offers as
many receive slots as it can show.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Iterable, Sequence
from typing import Any

import anyio
import attrs
from aiortc import (
    MediaStreamTrack,
    RTCSessionDescription,
    rtcrtpsender,
)
from aiortc.sdp import SessionDescription, candidate_from_sdp

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.media import playout
from zhanye_sdk.media.budget import VideoBudget
from zhanye_sdk.media.connection import media_connection
from zhanye_sdk.media.direct_receive import DirectAudioReceiver, open_direct_receiver
from zhanye_sdk.media.direct_send import open_direct_sender
from zhanye_sdk.media.ice import candidate_address, filter_sdp_candidates, is_loopback
from zhanye_sdk.media.impair import LinkChannel, NetworkImpairment, impair_ice_transport
from zhanye_sdk.media.opus import ResilientOpusEncoder
from zhanye_sdk.media.playout import Playout
from zhanye_sdk.media.tracks import MixedAudioTrack, RelayVideoTrack

__all__ = ["CLOSE_LIMIT_S", "InboundTrack", "MediaPeer"]

#: Audio codecs whose packets the mixing tick encodes (aiortc's packetizer only copies
#: their payloads through ``pack``).
_TICK_ENCODED = ("audio/opus", "audio/red")

#: The longest a peer connection's close may take before it is abandoned.
CLOSE_LIMIT_S = 5.0
#: How many network reports the audio's loss hint remembers (it follows their maximum).
_LOSS_MEMORY = 4


@attrs.frozen
class InboundTrack:
    """A track the participant sends to the server."""

    kind: str
    mid: str
    track: MediaStreamTrack
    #: The adaptive jitter buffer of received audio (with ``resilience``).
    playout: Playout | None = None


def _sends(direction: str | None) -> bool:
    return direction in (None, "sendrecv", "sendonly")


def _receives(direction: str | None) -> bool:
    return direction in (None, "sendrecv", "recvonly")


def _with_bandwidth(sdp: str, kbps_by_kind: dict[str, int]) -> str:
    """Add ``b=AS`` caps to the m-sections of the given kinds (after their ``c=`` line)."""
    out: list[str] = []
    kind: str | None = None
    for line in sdp.splitlines():
        out.append(line)
        if line.startswith("m="):
            kind = line[2:].split(" ", 1)[0]
        elif line.startswith("c=") and kind in kbps_by_kind:
            out.append(f"b=AS:{kbps_by_kind[kind]}")
    return "\r\n".join(out) + "\r\n"


def _dtls_passive(sdp: str) -> str:
    """The answer with the server as the DTLS server (``a=setup:passive``).

    The offerer left the role open (``actpass``); aiortc would take the client's role,
    which starts the handshake only once its own ICE has completed (the offerer's
    nomination, half a round trip after the offerer's check succeeded) and needs two
    more round trips after that. As the server it answers the browser's ClientHello,
    sent the moment the browser's check succeeds, and sends media after 1.5 round trips:
    the customer sees the salesperson one round trip sooner.
    """
    return sdp.replace("a=setup:active", "a=setup:passive")


class MediaPeer:
    """The server side of one participant's WebRTC connection.

    Args:
        participant: the participant's id in the room.
        ice_servers: STUN/TURN URLs (none on a LAN or in tests).
        loopback_only: ignore remote candidates that are not loopback addresses (tests).
        sample_rate: the rate of the mixed audio sent back.
        audio_kbps, video_kbps: send caps asked of the participant (``b=AS``).
        impairment: loss and jitter injected on this peer's media (tests, benchmarks).
        tick_encoding: the mixing tick encodes the audio sent (see ``MixedAudioTrack``);
            False: aiortc's sender encodes every frame itself.
        resilience: receive audio through the adaptive jitter buffer, and prefer RED
            (RFC 2198) for audio both ways when the participant offers it (its Opus FEC,
            DTX and concealment are process-wide: ``zhanye_sdk.media.opus``).
        opus_complexity: the complexity (0–10) of the Opus the mixing tick encodes (None:
            libopus's 10).
        clean_link_complexity: its complexity while the listener reports no loss (CELT
            alone; None: ``opus_complexity``).
        direct_send: once the connection is up, the tick's payloads go straight to the
            socket (``zhanye_sdk.media.direct_send``) rather than through aiortc's sender
            (with ``tick_encoding``, and without ``impairment``, which wraps aiortc's
            transport).
        direct_receive: once the connection is up, the tick reads the participant's audio
            off the socket itself (``zhanye_sdk.media.direct_receive``) rather than
            through aiortc's receive path (with ``resilience``; not with ``impairment``).
    """

    def __init__(
        self,
        participant: str,
        *,
        ice_servers: Sequence[str] = (),
        loopback_only: bool = False,
        sample_rate: int = 48_000,
        audio_kbps: int = 64,
        video_kbps: int = 1_900,
        impairment: NetworkImpairment | None = None,
        tick_encoding: bool = True,
        resilience: bool = False,
        opus_complexity: int | None = None,
        clean_link_complexity: int | None = None,
        direct_send: bool = True,
        direct_receive: bool = True,
    ) -> None:
        self.participant = participant
        self.resilience = resilience
        #: The adaptive jitter buffers of the audio received (with ``resilience``).
        self.playouts: list[Playout] = []
        #: The share of the video cap the participant's reported loss leaves.
        self.video_budget = VideoBudget()
        #: Audio packets the participant asked for again (NACK); and, at the last
        #: ``follow_reports``, the audio packets sent and that count.
        self.audio_repeats_asked = 0
        self._audio_sent_mark = (0, 0)
        self._uplink_mark = (0, 0)
        self._audio_losses: collections.deque[float] = collections.deque(maxlen=_LOSS_MEMORY)
        self.impairment = impairment
        #: The impairment's channels once the connection is set up (tests read their counters).
        self.impaired: list[LinkChannel] = []
        #: Audio frames read from this participant, and how many of them were concealed
        #: (neither received nor rebuilt from FEC); the mark is the last assessment's.
        self.audio_frames = 0
        self.audio_concealed = 0
        self.audio_mark = (0, 0)
        self.loopback_only = loopback_only
        self.connection = media_connection(ice_servers)
        self.audio_out = MixedAudioTrack(sample_rate)
        self.slots: dict[str, RelayVideoTrack] = {}
        self.inbound: list[InboundTrack] = []
        self._caps = {"audio": audio_kbps, "video": video_kbps}
        self._closing = False
        self._tick_encoding = tick_encoding
        self._opus_complexity = opus_complexity
        self._clean_link_complexity = clean_link_complexity
        self._direct_send = direct_send and impairment is None
        self._direct_receive = direct_receive and impairment is None
        #: The direct reader of the participant's audio, once open (``open_direct``).
        self.direct_in: DirectAudioReceiver | None = None
        self._direct_pending = True

    @property
    def state(self) -> str:
        """The connection state (``new``, ``connecting``, ``connected``, ``failed``, ``closed``)."""
        return str(self.connection.connectionState)

    async def answer(self, offer_sdp: str) -> str:
        """Take the participant's offer; return the answer SDP.

        Raises:
            InvalidInput: the offer is not SDP aiortc accepts.
        """
        sdp = filter_sdp_candidates(offer_sdp, loopback_only=self.loopback_only)
        try:
            offered = SessionDescription.parse(sdp)
            await self.connection.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        except (ValueError, AssertionError, KeyError, IndexError) as exc:
            raise InvalidInput(f"media.offer needs a valid SDP offer: {exc}") from exc
        directions = {m.rtp.muxId: m.direction for m in offered.media}
        offered_red = {
            m.rtp.muxId: c
            for m in offered.media
            for c in m.rtp.codecs
            if c.mimeType.lower() == "audio/red"
        }
        audio_sent = False
        for transceiver in self.connection.getTransceivers():
            mid = str(transceiver.mid)
            direction = directions.get(mid)
            buffer: Playout | None = None
            if transceiver.kind == "audio":
                self._choose_red(transceiver, offered_red.get(mid))
                if self.resilience and _sends(direction):
                    buffer = playout.install(transceiver.receiver)
                    self.playouts.append(buffer)
            if _sends(direction):
                track = transceiver.receiver.track
                self.inbound.append(InboundTrack(transceiver.kind, mid, track, buffer))
            if not _receives(direction):
                continue
            if transceiver.kind == "audio" and not audio_sent:
                transceiver.sender.replaceTrack(self.audio_out)
                transceiver.direction = "sendrecv"
                audio_sent = True
                self._count_repeats(transceiver.sender)
            elif transceiver.kind == "video":
                slot = RelayVideoTrack(mid, transceiver.sender)
                self.slots[mid] = slot
                transceiver.sender.replaceTrack(slot)
                transceiver.direction = "sendrecv"
        answer = await self.connection.createAnswer()
        if all(m.dtls is not None and m.dtls.role == "auto" for m in offered.media):
            answer = RTCSessionDescription(_dtls_passive(answer.sdp), "answer")
        await self.connection.setLocalDescription(answer)
        self._encode_on_tick()
        if self.impairment is not None and not self.impaired:
            transports = {
                id(t.sender.transport.transport): t.sender.transport.transport
                for t in self.connection.getTransceivers()
                if t.sender.transport is not None
            }
            for transport in transports.values():
                self.impaired += impair_ice_transport(transport, self.impairment)
        return _with_bandwidth(self.connection.localDescription.sdp, self._caps)

    def _encode_on_tick(self) -> None:
        """Give the mixed-audio track its own encoder of the negotiated codec when that is
        Opus (or RED over Opus, whose encoder hands out finished RED payloads too), so the
        mixing tick encodes and aiortc's sender only packetizes; another codec (G.711)
        stays with aiortc's per-frame encoding."""
        if not self._tick_encoding:
            return
        for transceiver in self.connection.getTransceivers():
            if transceiver.sender.track is self.audio_out:
                codecs = transceiver._codecs  # what the sender will send, in order
                if codecs and codecs[0].mimeType.lower() in _TICK_ENCODED:
                    # Through the module: opus.install() replaces it there.
                    codec = codecs[0]
                    self.audio_out.encode_with(
                        self._tick_encoder(codec), functools.partial(self._tick_encoder, codec)
                    )
                    self.audio_out.direct_wanted = self._direct_send
                return

    def _tick_encoder(self, codec: Any) -> Any:
        # Through the module: opus.install() replaces it there.
        sender: Any = rtcrtpsender
        encoder = sender.get_encoder(codec)
        if isinstance(encoder, ResilientOpusEncoder):
            # The mix is mono: code one channel, at the configured cost.
            encoder.shape(
                channels=1,
                complexity=self._opus_complexity,
                clean_complexity=self._clean_link_complexity,
            )
        return encoder

    def open_direct(self) -> None:
        """Open the direct sender of the mixed audio and the direct reader of the
        participant's once the connection is up (the tick calls it until then); where
        this connection cannot have them, aiortc sends and reads as before."""
        if not self._direct_pending or self.state != "connected":
            return
        self._open_direct()
        track = self.audio_out
        # Both tried (opened, or left to aiortc): later ticks need not look again.
        self._direct_pending = (track.direct_wanted and track.direct is None) or (
            self._direct_receive and self.direct_in is None
        )

    def _open_direct(self) -> None:
        track = self.audio_out
        if track.direct_wanted and track.direct is None:
            for transceiver in self.connection.getTransceivers():
                if transceiver.sender.track is track:
                    track.direct = open_direct_sender(transceiver)
                    break
            if track.direct is None:
                track.direct_wanted = False
        if self._direct_receive and self.direct_in is None:
            self._direct_receive = False  # one attempt: aiortc reads on where it fails
            if sum(1 for t in self.inbound if t.kind == "audio") != 1:
                return  # the reader takes audio by payload type: one sending m-line only
            for transceiver in self.connection.getTransceivers():
                for buffer in self.playouts:
                    if buffer.receiver is transceiver.receiver:
                        self.direct_in = open_direct_receiver(transceiver, buffer)
                        return

    def drain_audio(self) -> None:
        """Read the participant's audio waiting on the socket (with a direct reader)."""
        if self.direct_in is not None:
            self.direct_in.drain()

    def _choose_red(self, transceiver: Any, offered: Any) -> None:
        """RED first (both sides then send it) with the participant's own parameters
        (its Opus payload type), or no RED at all."""
        codecs = transceiver._codecs
        ours = [c for c in codecs if c.mimeType.lower() == "audio/red"]
        rest = [c for c in codecs if c.mimeType.lower() != "audio/red"]
        if not ours or offered is None or not self.resilience:
            transceiver._codecs = rest
            return
        ours[0].parameters = dict(offered.parameters)
        transceiver._codecs = [ours[0], *rest]

    def audio_encoder(self) -> ResilientOpusEncoder | None:
        """The resilient Opus encoder of the audio this peer sends, once it runs."""
        if isinstance(self.audio_out.encoder, ResilientOpusEncoder):
            return self.audio_out.encoder
        for transceiver in self.connection.getTransceivers():
            if transceiver.kind == "audio":
                # aiortc creates the encoder on the first frame and keeps it private.
                encoder = getattr(transceiver.sender, "_RTCRtpSender__encoder", None)
                if isinstance(encoder, ResilientOpusEncoder):
                    return encoder
        return None

    def repaired(self) -> int:
        """Audio packets lost on the way in that came back when asked for again (NACK)."""
        return sum(p.retransmitted for p in self.playouts)

    def residual_loss(self) -> float | None:
        """Concealed audio frames since the last call, as a share of those read."""
        frames, concealed = self.audio_frames, self.audio_concealed
        before = self.audio_mark
        self.audio_mark = (frames, concealed)
        if frames <= before[0]:
            return None
        return (concealed - before[1]) / (frames - before[0])

    def _count_repeats(self, sender: Any) -> None:
        """Count the audio packets the participant asks for again (NACK), as aiortc's
        sender repeats them."""
        repeat = sender._retransmit

        async def counted(sequence_number: int) -> None:
            self.audio_repeats_asked += 1
            direct = self.audio_out.direct
            if direct is not None:
                direct.retransmit(sequence_number)
            else:
                await repeat(sequence_number)

        sender._retransmit = counted

    def follow_reports(self, stats: Iterable[Any]) -> None:
        """Follow what the participant reports of the media sent to them (``getStats``):
        the audio's FEC and redundancy are sized for its loss, and the share of the video
        budget used backs off under loss on either stream (``VideoBudget``).

        The audio's loss is the larger of the receiver report's and the share of packets
        the participant asked for again since the last call, over the share of requests
        its uplink delivers (a repeat that arrives counts
        as received in the report, yet it may come too late to be played, and the wire
        lost the packet all the same); the hint is the largest of the last four.
        """
        lost = {"audio": 0.0, "video": 0.0}
        sent = self._audio_sent_mark[0]
        for s in stats:
            kind = getattr(s, "kind", None)
            if getattr(s, "type", None) == "remote-inbound-rtp" and kind in lost:
                # aiortc passes the report's 8-bit fixed-point fraction through as it is.
                fraction = float(getattr(s, "fractionLost", 0) or 0) / 256
                lost[kind] = max(lost[kind], fraction)
            elif getattr(s, "type", None) == "outbound-rtp" and kind == "audio":
                sent = int(getattr(s, "packetsSent", 0) or 0)
        before_sent, before_asked = self._audio_sent_mark
        self._audio_sent_mark = (sent, self.audio_repeats_asked)
        if sent > before_sent:
            asked = (self.audio_repeats_asked - before_asked) / (sent - before_sent)
            # The requests cross the participant's uplink, and are lost as often as their
            # audio is on the way in: 30 % each way made 21 % asked for, not 30 %.
            kept = max(0.5, 1.0 - self._uplink_loss())
            lost["audio"] = max(lost["audio"], min(1.0, asked / kept))
        # Up at once, down only after a few calm reports: loss comes in spells, and each
        # new hint restarts the encoder.
        self._audio_losses.append(lost["audio"])
        encoder = self.audio_encoder()
        if encoder is not None:
            encoder.set_loss_hint(max(self._audio_losses))
        self.video_budget.update(lost["audio"], lost["video"])

    def _uplink_loss(self) -> float:
        """The share of the participant's audio packets lost on the way in since the
        last call: the gaps asked for again among the packets first sent."""
        gaps = sum(p.nacks for p in self.playouts)
        firsts = sum(sum(p.payload_types.values()) - p.retransmitted for p in self.playouts)
        before_gaps, before_firsts = self._uplink_mark
        self._uplink_mark = (gaps, firsts)
        expected = (gaps - before_gaps) + (firsts - before_firsts)
        return (gaps - before_gaps) / expected if expected > 0 else 0.0

    def cap_video(self, kbps: int) -> None:
        """Share ``kbps`` of relayed video (times the share the loss leaves,
        ``video_budget``) among the slots that show someone."""
        showing = [slot for slot in self.slots.values() if slot.source is not None]
        share = int(kbps * 1000 * self.video_budget.share) // max(1, len(showing))
        for slot in self.slots.values():
            slot.max_bitrate = share

    async def add_candidate(self, candidate: str, sdp_mid: str | None, index: int | None) -> bool:
        """Add a trickled remote candidate; False when it was ignored (loopback-only mode).

        Raises:
            InvalidInput: the candidate line cannot be parsed.
        """
        text = candidate.strip()
        if not text:
            return False  # end of candidates
        if self.loopback_only and not is_loopback(candidate_address(text) or ""):
            return False
        try:
            parsed = candidate_from_sdp(text.removeprefix("a=").removeprefix("candidate:"))
        except (ValueError, IndexError) as exc:
            raise InvalidInput(f"media.candidate is not an ICE candidate: {exc}") from exc
        parsed.sdpMid = sdp_mid
        parsed.sdpMLineIndex = index
        await self.connection.addIceCandidate(parsed)
        return True

    async def close(self) -> None:
        """Stop the tracks and close the connection (once; later calls return at once)."""
        if self._closing:
            return
        self._closing = True
        if self.direct_in is not None:
            self.direct_in.close()
            self.direct_in = None
        for buffer in self.playouts:
            buffer.close()
        self.audio_out.stop()
        for slot in self.slots.values():
            slot.stop()
        # aiortc's close waits, without a limit, for every sender's and transport's task
        # to wind down; one that is stuck must not hold the room or the host up.
        with anyio.move_on_after(CLOSE_LIMIT_S):
            await self.connection.close()
