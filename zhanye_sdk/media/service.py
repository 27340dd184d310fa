"""``MediaService``: the rooms' WebRTC media on the server.

One ``MediaPeer`` per participant, negotiated over the session's signaling
(``media.offer`` → ``media.answer``, ``media.candidate`` both ways); per room one
mixing task on a drift-free 20 ms ``TickClock`` that feeds every listener the
mix-minus of the others (gain 0 for whoever the room has muted) and relays video
frames into the other participants' slots -- never those of a participant whose camera
the room has off (by themselves or the host): that is checked on every frame, so the
picture stops for every listener at once, in every layout and after a rejoin. The
tick calls the native mixer, then encodes each listener's mix-minus in Opus itself
(``MixedAudioTrack``): aiortc's senders only packetize, with no executor hop or
pure-Python audio-level loop per frame. Decoding what arrives, and video, run in
aiortc's threads.

A process at capacity (``MediaConfig.max_participants``, ``overload_lateness_ms``)
refuses a new participant's offer with ``AtCapacity`` (HTTP 503) rather than degrading
every room's audio; ``load()`` says how full it is (the scale-out registry publishes it).

Messages to clients go out on the room's bus channel: ``media.slots`` (which
participant each of a listener's video slots shows; clients keep their own), sent on
every change and again every ``slots_refresh_s`` (it has no sequence number, so a socket
that was away would otherwise miss a change for good); ``media.renegotiate`` naming the
room's media process (the room moved: everyone offers again) or also a ``participant``
(back in the room after leaving it, their media closed meanwhile: they offer again).

Recording (when configured): every tick hands the full mix, and at the recording
frame rate the latest frame of every participant, to the room's ``Recorder``
thread; finished segments are chained into the manifest stored in
``session_media``. Status: recording → processing (the room ended) → ready /
failed. A participant dropping changes only the tiles. When this process stops
mid-session the current segment is closed and the status stays ``recording``; the
next start finalises such recordings (ready with the segments so far) and a room
that goes on continues the same hash chain.
"""

from __future__ import annotations

import collections
import functools
import itertools
import logging
import secrets
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import anyio
import attrs
import av
import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import MediaStreamError
from anyio.abc import TaskGroup

from zhanye_sdk._backend import Resampler
from zhanye_sdk.errors import AtCapacity, ConflictError, InvalidInput
from zhanye_sdk.heap import freeze_startup_heap
from zhanye_sdk.lifecycle import LifecycleEvent, SessionEnded
from zhanye_sdk.media import opus
from zhanye_sdk.media.direct_send import ntp_now
from zhanye_sdk.media.finishing import RecordingJobs
from zhanye_sdk.media.frames import audio_frame_to_mono
from zhanye_sdk.media.ice import limit_host_addresses
from zhanye_sdk.media.impair import NetworkImpairment
from zhanye_sdk.media.manifest import SegmentEntry
from zhanye_sdk.media.messages import READERS, CandidateForm, OfferForm
from zhanye_sdk.media.mixer import UNITY_GAIN_Q15, AudioMixer, MixedTick
from zhanye_sdk.media.monitor import NetworkSummary, StatsSnapshot, assess
from zhanye_sdk.media.pacing import TickClock, spread_phase
from zhanye_sdk.media.peer import MediaPeer
from zhanye_sdk.media.recorder import Recorder, RecordingConfig, RecordingTick
from zhanye_sdk.media.records import MediaRecord, MediaRecords, RecordingStatus
from zhanye_sdk.media.sharing import QuietListeners, quiet_peaks, shared_mix
from zhanye_sdk.media.tracks import MixedAudioTrack, SharedEncoder
from zhanye_sdk.rooms.core import Room, RoomState
from zhanye_sdk.rooms.service import RoomService, Seat
from zhanye_sdk.signaling.bus import Bus
from zhanye_sdk.signaling.envelope import ClientMessage, ServerMessage

__all__ = ["AudioTap", "MediaConfig", "MediaLoad", "MediaService", "VideoFilter"]

_log = logging.getLogger(__name__)

#: Ticks (per room) the overload check and ``MediaLoad`` look back on: about 2 s.
_RECENT_TICKS = 100

_VIDEO_HZ = 90_000

#: A resumed recording's shortfall below this is the tick count drifting from the
#: wall clock (the encoder starting, a late tick), not time lost.
_GAP_NOISE_MS = 1000
_VIDEO_TIME_BASE = Fraction(1, _VIDEO_HZ)

#: A host's video filter (美颜…): takes the participant id and a frame, returns a frame.
#: It runs in a worker thread, never on the event loop.
VideoFilter = Callable[[str, av.VideoFrame], av.VideoFrame]

#: A listener to what each participant says (speech recognition for the SOP assistant):
#: called on the mixing tick with the participant id, the tick's samples (int16 mono at
#: the mixing rate) and the tick's start in milliseconds on the service clock, for every
#: participant the others hear. It runs on the tick, so it must only queue the audio.
AudioTap = Callable[[str, npt.NDArray[np.int16], int], None]


@attrs.frozen
class MediaConfig:
    """Media settings.

    Attributes:
        ice_host_addresses: the only local addresses ICE gathers on (None: every
            interface). Process-wide, see ``zhanye_sdk.media.ice``. Tests: ``("127.0.0.1",)``.
        ice_servers: STUN/TURN URLs handed to every peer.
        loopback_only: ignore remote candidates that are not loopback (tests).
        tick_ms: the mixing period.
        sample_rate: the mixing rate.
        audio_kbps, video_kbps: send caps asked of each participant (``b=AS``); the manual's
            budget is about 1 Mbit/s per participant without video, 2 Mbit/s with.
            ``video_kbps`` also caps the video the server relays to each participant, shared
            among the slots that show someone.
        video_filter: optional hook applied to every received video frame.
        recording: record rooms (mixed audio, composited video) when set.
        network_interval_s: how often each participant's network is assessed and pushed
            to the room as ``media.network``.
        network_record_s: how often a room's network summary (the session record's) is
            written to the database: at the first report, then at most this often, and
            once more when the room's media ends. A process that dies loses at most this
            long of it. Every 2 s per room the writes cost about 7 % of a core at 24
            participants (``benchmarks/results/media_capacity_profile.md``).
        audio_resilience: Opus in-band FEC sized for the loss each participant reports, DTX,
            RED (RFC 2198) with peers that offer it, the redundancy following the loss, FEC
            and RED decoding with concealment of what is still missing (see
            ``zhanye_sdk.media.opus``; process-wide for aiortc), and the adaptive jitter
            buffer on the audio received (``zhanye_sdk.media.jitter``). On by default
            (measured: ``benchmarks/results/audio_loss.md``); off: aiortc's plain Opus.
        impairment: loss, bursts, delay and jitter injected on every peer's media packets
            (tests and benchmarks; see ``zhanye_sdk.media.impair``). None in production.
        tick_encoding: each room's tick encodes every listener's Opus itself and aiortc's
            senders only packetize: no executor hop or per-frame audio-level loop
            (``benchmarks/bench_media_capacity.py``); False: aiortc's senders encode
            each frame.
        opus_complexity: the libopus complexity (0–10) of the mix-minus each room's tick
            encodes for its listeners (mono Opus); lower costs less CPU per listener.
            Measured (``benchmarks/bench_opus_complexity.py``): on a clean link (CELT
            alone, about 80 µs a frame at 10) every complexity codes speech alike; once a
            listener reports loss (SILK+CELT with FEC, about 3× the CPU) 7–10 code it
            alike, and at 6 and below libopus's voice detection takes soft speech for
            silence and DTX drops it (ESTOI −0.06 on the AISHELL sentence at 10 % loss).
        clean_link_complexity: the complexity of a listener's mix-minus while it reports
            no loss, when CELT codes alone. Measured (``benchmarks/bench_opus_mode.py``):
            at 5, CELT costs about a fifth less CPU than at 10 and codes the AISHELL
            sentence and a two-talker mix as well (wideband PESQ −0.03 / −0.06, ESTOI
            alike, through loss before a report as well); at 4 and below PESQ falls by
            about 0.3. None: ``opus_complexity``.
        direct_audio_send: once a listener's connection is up, the tick's Opus payloads go
            straight to its socket in one native call each (RTP, SRTP, send;
            ``zhanye_sdk.media.direct_send``) instead of through aiortc's sender and its
            per-packet Python; aiortc still sends the RTCP. Needs ``tick_encoding``; not
            with ``impairment``.
        direct_audio_receive: once a participant's connection is up, each tick reads their
            audio off the socket in one native call (SRTP, RTP, kernel arrival times;
            ``zhanye_sdk.media.direct_receive``) instead of aiortc's per-packet receive
            path; other datagrams (STUN, RTCP, video) still go to aiortc. Needs
            ``audio_resilience``; not with ``impairment``.
        tick_release: each participant's jitter buffer releases its due frames on the
            room's mixing tick, just before the mix (``Playout.release_on_tick``), instead
            of on a timer callback of its own per packet; a frame reaches the mix on the
            same tick either way.
        share_encoders: the quiet listeners of a room (muted, or silent for 500 ms) hear
            one mix of the others, encoded once for all of them (``zhanye_sdk.media.sharing``):
            in a conversation, two encodes a tick in a room of four instead of four.
        quiet_peak: the loudest sample (of 32767) of a tick that still counts as quiet.
        max_participants: the most participants with media this process serves; a new one
            beyond it is refused (``AtCapacity``, HTTP 503) rather than degrading everyone's
            audio. Size it from ``benchmarks/bench_media_capacity.py`` on the deployment's
            hardware. None: no fixed limit.
        overload_lateness_ms: also refuse new participants while the p99 lateness of the
            recent mixing ticks (about 2 s, every room) is above this: the process is
            already too busy to keep its rooms on time. None: not checked.
        arrival_grace_s: how long the peer of a participant who offered before they are
            in the room (a customer's offer sent with the join) waits for them to arrive
            (their socket to open) before it is dropped; until then they are not heard.
        slots_refresh_s: how often each listener is told its video slots again though they
            did not change. ``media.slots`` carries no room sequence number, so a socket
            that reconnects (or a bus that dropped it) misses a change made meanwhile and
            would show a slot's video under nobody's name for the rest of the session.
    """

    ice_host_addresses: tuple[str, ...] | None = None
    ice_servers: tuple[str, ...] = ()
    loopback_only: bool = False
    tick_ms: int = 20
    sample_rate: int = 48_000
    audio_kbps: int = 64
    video_kbps: int = 1_900
    video_filter: VideoFilter | None = None
    recording: RecordingConfig | None = None
    network_interval_s: float = 2.0
    network_record_s: float = 30.0
    impairment: NetworkImpairment | None = None
    audio_resilience: bool = True
    tick_encoding: bool = True
    opus_complexity: int = attrs.field(
        default=10, validator=attrs.validators.and_(attrs.validators.ge(0), attrs.validators.le(10))
    )
    clean_link_complexity: int | None = attrs.field(default=5)
    direct_audio_send: bool = True
    direct_audio_receive: bool = True
    tick_release: bool = True
    share_encoders: bool = True
    quiet_peak: int = attrs.field(default=64, validator=attrs.validators.ge(0))
    max_participants: int | None = None
    overload_lateness_ms: float | None = None
    arrival_grace_s: float = 15.0
    slots_refresh_s: float = attrs.field(default=3.0, validator=attrs.validators.gt(0))

    @clean_link_complexity.validator
    def _check_clean_link_complexity(self, _attribute: object, value: int | None) -> None:
        if value is not None and not 0 <= value <= 10:
            raise ValueError(f"clean_link_complexity must be 0–10 or None, got {value}")


@attrs.frozen
class _Encoding:
    """One encode of a tick: ``samples`` for ``tracks``, by the one track's own encoder
    (``shared`` None) or by a shared encoder whose packets all of them are sent."""

    tracks: tuple[MixedAudioTrack, ...]
    samples: npt.NDArray[np.int16]
    shared: SharedEncoder | None = None
    key: tuple[Any, ...] = ()


def _encode(track: MixedAudioTrack, samples: npt.NDArray[np.int16], ntp: int) -> None:
    """Encode a listener's tick and send it (``MixedAudioTrack.deliver``).

    Inline, not in a worker thread: a 20 ms Opus frame costs about 0.2 ms, less than the
    thread hop and wake-ups it would take (``benchmarks/bench_media_capacity.py``). An
    encoder that fails is replaced by a new one while the tick sends directly (aiortc's
    sender must not start a second sequence series on the same stream), else hands
    that listener back to aiortc's own encoding; the room and the other listeners go on.
    """
    try:
        if track.encode_send(samples, ntp):
            return
        payloads = track.encode(samples)
    except (av.FFmpegError, ValueError, RuntimeError) as exc:
        renew = track.renew_encoder
        if track.direct_wanted and renew is not None:
            _log.warning("a listener's Opus encoder failed; it gets a new one: %s", exc)
            try:
                track.encoder = renew()
            except (av.FFmpegError, ValueError, RuntimeError):
                _log.exception("no new Opus encoder: the listener hears nothing")
                track.renew_encoder = None
            return
        _log.warning("a listener's Opus encoder failed; aiortc encodes for it now: %s", exc)
        track.encoder = None
        track.direct_wanted = False
        track.feed(samples)
        return
    track.deliver(payloads, samples.shape[0], ntp)


def _encode_shared(job: _Encoding, shared: SharedEncoder, ntp: int) -> bool:
    """Encode the shared mix once and queue its packets for every listener of ``job``;
    False when the shared encoder failed (each listener's own encoder then codes it)."""
    try:
        payloads = shared.encode(job.samples)
    except (av.FFmpegError, ValueError, RuntimeError) as exc:
        _log.warning("a shared Opus encoder failed; its listeners encode their own: %s", exc)
        for track in job.tracks:
            _encode(track, job.samples, ntp)
        return False
    for track in job.tracks:
        track.deliver(payloads, job.samples.shape[0], ntp)
    return True


@attrs.frozen
class MediaLoad:
    """How busy this process's media is, for the scale-out node selector and monitoring.

    Attributes:
        rooms: rooms with media here.
        participants: participants with a media connection.
        capacity: ``MediaConfig.max_participants`` (None: not limited).
        tick_lateness_p99_ms: p99 lateness of the recent mixing ticks (about 2 s).
        share: 0–1, how full the process is: participants over capacity, or 1 while
            overloaded (0 when nothing limits it and it is on time).
        full: whether a new participant would be refused, and ``reason`` why.
    """

    rooms: int
    participants: int
    capacity: int | None
    tick_lateness_p99_ms: float
    share: float
    full: bool
    reason: str | None = None


@attrs.define(eq=False)
class _MediaRoom:
    session_id: str
    mixer: AudioMixer
    clock: TickClock
    peers: dict[str, MediaPeer] = attrs.field(factory=dict)
    published_slots: dict[str, dict[str, str | None]] = attrs.field(factory=dict)
    #: The tick at which each listener was last told its slots.
    slots_told_at: dict[str, int] = attrs.field(factory=dict)
    max_lateness_s: float = 0.0
    lateness_s: collections.deque[float] = attrs.field(
        factory=lambda: collections.deque(maxlen=3000)
    )
    ticks: int = 0
    #: Who has been quiet long enough to hear the shared mix, and its encoders by key.
    quiet: QuietListeners = attrs.field(factory=QuietListeners)
    shared_encoders: dict[tuple[Any, ...], SharedEncoder] = attrs.field(factory=dict)
    sharing: frozenset[str] = frozenset()
    latest_video: dict[str, av.VideoFrame] = attrs.field(factory=dict)
    recorder: Recorder | None = None
    saved_segments: int = 0
    failed: bool = False
    save_lock: anyio.Lock = attrs.field(factory=anyio.Lock)
    network: NetworkSummary = attrs.field(factory=NetworkSummary)
    #: The network summary was written for the last time (the session ended): the
    #: session record's figure is final before its recording is finished.
    network_closed: bool = False
    network_lock: anyio.Lock = attrs.field(factory=anyio.Lock)
    snapshots: dict[str, tuple[MediaPeer, StatsSnapshot]] = attrs.field(factory=dict)
    started_ms: int = 0
    last_video_pts: int = 0
    #: The session ended (``SessionEnded``): the next tick stops the room's media.
    ended: bool = False
    #: Another process took the room: the next tick stops it, its recording unsaved.
    lost: bool = False
    #: Participants whose peer came before they did (an offer sent with the join), and
    #: the tick by which they must be in the room.
    arriving: dict[str, int] = attrs.field(factory=dict)
    #: Participants whose peer was closed because they left the room or because it failed
    #: here: one who is (or comes back) in the room is asked to offer again.
    gone: set[str] = attrs.field(factory=set)


class MediaService:
    """Serves the ``media.*`` signaling area and runs the rooms' mixing ticks."""

    def __init__(
        self,
        rooms: RoomService,
        bus: Bus,
        config: MediaConfig | None = None,
        *,
        database: Any = None,
    ) -> None:
        self.config = config or MediaConfig()
        if self.config.audio_resilience:
            opus.install()
        opus.set_enabled(self.config.audio_resilience)
        if self.config.recording is not None and database is None:
            raise ValueError("recording needs the database its manifests are stored in")
        self.records = MediaRecords(database) if database is not None else None
        if self.config.ice_host_addresses is not None:
            limit_host_addresses(self.config.ice_host_addresses)
        self._rooms = rooms
        self._bus = bus
        self._media_rooms: dict[str, _MediaRoom] = {}
        self._tasks: TaskGroup | None = None
        self._audio_taps: dict[str, list[AudioTap]] = {}
        self._finishing: dict[str, Recorder] = {}
        #: This process's media (in every answer): a ``media.renegotiate`` naming another
        #: tells a client its peer connection leads to a process that lost the room.
        self.instance = secrets.token_hex(8)
        #: Post-processing of ended rooms' recordings, claimed by this process (named by
        #: ``instance``) so that one process finishes each, and another when it dies.
        settings = self.config.recording
        self.recording_jobs = (
            RecordingJobs(
                self.records,
                self.instance,
                rooms.now_ms,
                claim_s=settings.claim_s,
                renew_s=settings.renew_s,
            )
            if self.records is not None and settings is not None
            else None
        )
        self._frame_samples = self.config.sample_rate * self.config.tick_ms // 1000

    # ---- running ----------------------------------------------------------------------

    async def run(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        """Background work (mixing ticks, track readers). Run it in the host's task group,
        after ``recover``. Signals ``task_status`` once media messages can be served.
        """
        # Full collector passes scan only what comes after: with 24 participants one
        # took 129 ms (every room skipped 6 ticks), after this 14 ms
        # (``benchmarks/bench_media_capacity.py``).
        freeze_startup_heap()
        try:
            async with anyio.create_task_group() as tasks:
                self._tasks = tasks
                if self.recording_jobs is not None and self.config.recording is not None:
                    tasks.start_soon(self._sweep_recordings, self.config.recording.sweep_s)
                task_status.started()
                await anyio.sleep_forever()
        finally:
            self._tasks = None
            with anyio.CancelScope(shield=True):
                for media_room in list(self._media_rooms.values()):
                    for peer in list(media_room.peers.values()):
                        await peer.close()
                    await self._stop_recorder(media_room, room_ended=False)
                self._media_rooms.clear()

    async def on_lifecycle(self, event: LifecycleEvent) -> None:
        """A session ended: its room's mixing stops on the next tick, and its recording
        is finished (ready or failed)."""
        if isinstance(event, SessionEnded):
            media_room = self._media_rooms.get(event.session_id)
            if media_room is not None:
                media_room.ended = True

    async def recover(self) -> None:
        """Finalise recordings a stopped process left ``recording`` or ``processing``:
        keep their segments. Await it before serving (no session's record is read
        half-finished). In a cluster a live room's recording goes on where the room
        runs, and a recording another process is finishing (its claim holds) is left
        to it; the periodic sweep takes it over if that process dies."""
        jobs = self.recording_jobs
        if self.records is None:
            return
        if jobs is None:
            jobs = RecordingJobs(self.records, self.instance, self._rooms.now_ms)
        lone = not self._rooms.clustered
        for record in await self.records.unfinished():
            if not lone and await self._rooms.is_live(record.session_id):
                continue  # another process's room: its recording goes on where it runs
            status = record.recording_status or RecordingStatus.RECORDING
            if not await jobs.take(record.session_id, status=status, force=lone):
                continue  # being finished by another process, or taken by one just now
            taken = await self.records.get(record.session_id)
            if taken is not None:
                await jobs.finalise(taken)

    async def _sweep_recordings(self, every_s: float) -> None:
        """Finish recordings whose post-processing another process abandoned."""
        assert self.recording_jobs is not None
        while True:
            await anyio.sleep(every_s)
            try:
                await self.recording_jobs.sweep()
            except Exception:  # the database may be briefly away: the next sweep may do
                _log.exception("sweeping abandoned recordings failed")

    def lose_room(self, session_id: str) -> None:
        """Another process took the room over: its media here stops on the next tick,
        and the segment being written is dropped unsaved (the owner records now)."""
        media_room = self._media_rooms.pop(session_id, None)
        if media_room is not None and not media_room.ended:
            media_room.lost = True

    async def _discard_recorder(self, media_room: _MediaRoom) -> None:
        recorder = media_room.recorder
        media_room.recorder = None
        if recorder is not None:
            await anyio.to_thread.run_sync(recorder.stop)

    async def recover_room(self, session_id: str) -> None:
        """This process took the room over: every client's media led to the process
        that had it, so each is asked to offer again here (``media.renegotiate``; a
        client whose socket came back to this process does so on the new welcome
        too). A media room kept from an earlier time here is stale: it goes."""
        self.lose_room(session_id)
        await self._bus.publish(
            session_id, ServerMessage("media.renegotiate", {"owner": self.instance})
        )

    def _spawn(self, func: Callable[..., Any], *args: Any) -> None:
        if self._tasks is None:
            raise ConflictError("the media service is not running")
        self._tasks.start_soon(func, *args)

    def peer(self, session_id: str, participant: str) -> MediaPeer | None:
        """A participant's current peer (tests, monitoring)."""
        media_room = self._media_rooms.get(session_id)
        return None if media_room is None else media_room.peers.get(participant)

    def recording_manifest(self, session_id: str) -> tuple[SegmentEntry, ...]:
        """The segments a live room's recording has finished so far."""
        media_room = self._media_rooms.get(session_id)
        if media_room is None or media_room.recorder is None:
            return ()
        return media_room.recorder.manifest.entries

    def processing_progress(self, session_id: str) -> tuple[int, int] | None:
        """The recording's post-processing after the room ended, while it runs in this
        process: (ticks encoded, ticks to encode). None when nothing is being finished."""
        recorder = self._finishing.get(session_id)
        return None if recorder is None else recorder.finishing()

    def tap_audio(self, session_id: str, tap: AudioTap) -> Callable[[], None]:
        """Hand every audible participant's audio of a session to ``tap`` on each tick.

        The tap may be added before the session's media starts. Returns the function
        that removes it.
        """
        self._audio_taps.setdefault(session_id, []).append(tap)

        def remove() -> None:
            taps = self._audio_taps.get(session_id, [])
            if tap in taps:
                taps.remove(tap)
            if not taps:
                self._audio_taps.pop(session_id, None)

        return remove

    def load(self) -> MediaLoad:
        """This process's media load now (see ``MediaLoad``)."""
        config = self.config
        rooms = list(self._media_rooms.values())
        participants = sum(len(r.peers) for r in rooms)
        recent = sorted(
            x for r in rooms for x in itertools.islice(reversed(r.lateness_s), _RECENT_TICKS)
        )
        p99_ms = 1e3 * recent[min(len(recent) - 1, int(0.99 * len(recent)))] if recent else 0.0
        capacity = config.max_participants
        share = 0.0 if capacity is None else min(1.0, participants / max(1, capacity))
        reason: str | None = None
        if capacity is not None and participants >= capacity:
            reason = f"{participants} participants, the most this process serves is {capacity}"
        elif config.overload_lateness_ms is not None and p99_ms > config.overload_lateness_ms:
            share = 1.0
            reason = (
                f"the mixing ticks run {p99_ms:.0f} ms late (p99), "
                f"above {config.overload_lateness_ms:g} ms"
            )
        full = reason is not None
        return MediaLoad(len(rooms), participants, capacity, p99_ms, share, full, reason)

    def _admit(self, session_id: str, participant: str) -> None:
        """Refuse a participant who would add media load to a full process (a new offer of
        someone already connected replaces their peer and is always taken)."""
        media_room = self._media_rooms.get(session_id)
        if media_room is not None and participant in media_room.peers:
            return
        load = self.load()
        if load.full:
            raise AtCapacity(
                f"this server takes no more media participants: {load.reason}",
                zh="服务器当前已满，暂时无法加入音视频，请稍后再试",
            )

    def shared_listeners(self, session_id: str) -> frozenset[str]:
        """The participants of a room whose last tick was encoded once for all of them
        (quiet listeners hearing the shared mix; see ``MediaConfig.share_encoders``)."""
        media_room = self._media_rooms.get(session_id)
        return frozenset() if media_room is None else media_room.sharing

    def tick_lateness_s(self, session_id: str) -> list[float]:
        """How late a room's recent mixing ticks (up to 3000) woke, in seconds."""
        media_room = self._media_rooms.get(session_id)
        return [] if media_room is None else list(media_room.lateness_s)

    # ---- signaling --------------------------------------------------------------------

    async def handle(self, seat: Seat, message: ClientMessage) -> list[ServerMessage]:
        """The ``media`` area handler for ``SignalingEndpoint.register_area``."""
        form = READERS.read(message)
        if isinstance(form, OfferForm):
            answer = await self._offer(seat, form.sdp)
            answered = {"type": "answer", "sdp": answer, "owner": self.instance}
            return [ServerMessage("media.answer", answered, re=message.id)]
        if isinstance(form, CandidateForm):
            peer = self.peer(seat.session_id, seat.participant_id)
            if peer is None:
                raise InvalidInput("send media.offer before media.candidate")
            await peer.add_candidate(form.candidate, form.sdpMid, form.sdpMLineIndex)
            return [ServerMessage("ack", {}, re=message.id)]
        media_room = self._media_rooms.get(seat.session_id)  # media.hangup
        if media_room is not None:
            self._drop(media_room, seat.participant_id)
        return [ServerMessage("ack", {}, re=message.id)]

    async def _offer(self, seat: Seat, sdp: str) -> str:
        room = await self._rooms.room(seat.session_id)
        if room.state is RoomState.ENDED:
            raise ConflictError("the session has ended")
        self._admit(seat.session_id, seat.participant_id)
        media_room = await self._media_room(seat.session_id)
        config = self.config
        peer = MediaPeer(
            seat.participant_id,
            ice_servers=config.ice_servers,
            loopback_only=config.loopback_only,
            sample_rate=config.sample_rate,
            audio_kbps=config.audio_kbps,
            video_kbps=config.video_kbps,
            impairment=config.impairment,
            tick_encoding=config.tick_encoding,
            resilience=config.audio_resilience,
            opus_complexity=config.opus_complexity,
            clean_link_complexity=config.clean_link_complexity,
            direct_send=config.direct_audio_send,
            direct_receive=config.direct_audio_receive,
        )
        try:
            answer = await peer.answer(sdp)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await peer.close()
            raise
        self._drop(media_room, seat.participant_id)  # a new offer replaces the old peer
        media_room.peers[seat.participant_id] = peer
        media_room.mixer.add(seat.participant_id)
        if seat.participant_id not in {p.id for p in room.present}:
            wait_ticks = round(config.arrival_grace_s * 1000 / config.tick_ms)
            media_room.arriving[seat.participant_id] = media_room.ticks + wait_ticks
        for inbound in peer.inbound:
            if inbound.playout is not None and config.sample_rate == opus.RATE:
                # Decoded in the jitter buffer's release, straight into the mixer; the
                # reader below then only sees the track end (or G.711 frames).
                inbound.playout.decode_here(functools.partial(self._take_audio, media_room, peer))
                if config.tick_release:
                    inbound.playout.release_on_tick()
            reader = self._read_audio if inbound.kind == "audio" else self._read_video
            self._spawn(reader, media_room, peer, inbound.track)
        return answer

    async def _media_room(self, session_id: str) -> _MediaRoom:
        media_room = self._media_rooms.get(session_id)
        if media_room is None:
            previous = await self.records.get(session_id) if self.records is not None else None
            recorder = await self._recorder(session_id, previous)
            media_room = self._media_rooms.get(session_id)  # made while we waited?
            if media_room is not None:
                if recorder is not None:
                    await anyio.to_thread.run_sync(recorder.stop)
                return media_room
            media_room = _MediaRoom(
                session_id,
                AudioMixer(self._frame_samples),
                self._room_clock(),
                recorder=recorder,
                started_ms=self._rooms.now_ms(),
            )
            if previous is not None and previous.network_summary:
                media_room.network = NetworkSummary.from_data(previous.network_summary)
            self._media_rooms[session_id] = media_room
            # An end published while the recorder was being made found no media room.
            media_room.ended = (await self._rooms.room(session_id)).state is RoomState.ENDED
            self._spawn(self._mix_loop, media_room)
            self._spawn(self._monitor_loop, media_room)
        return media_room

    def _room_clock(self) -> TickClock:
        """A new room's tick clock, its ticks away from those of the rooms already here."""
        period_s = self.config.tick_ms / 1000
        taken = (r.clock.phase_s for r in self._media_rooms.values())
        phase_s = spread_phase((p for p in taken if p is not None), period_s)
        return TickClock(period_s, phase_s=phase_s)

    async def _recorder(self, session_id: str, previous: MediaRecord | None) -> Recorder | None:
        settings = self.config.recording
        if settings is None or self.records is None:
            return None
        folder = settings.folder / session_id
        manifest = previous.manifest if previous is not None else None
        gap_ms = 0
        if previous is not None and previous.recording_started_ms is not None:
            # Resumed (its process died, or this one restarted): what the recording
            # would reach by now, less what its segments hold, went unrecorded.
            held = previous.manifest.duration_ms + previous.manifest.gaps_ms
            gap_ms = max(0, self._rooms.now_ms() - previous.recording_started_ms - held)
            if gap_ms < _GAP_NOISE_MS:
                gap_ms = 0
        recorder = Recorder(
            folder,
            settings,
            sample_rate=self.config.sample_rate,
            tick_ms=self.config.tick_ms,
            manifest=manifest,
            gap_ms=gap_ms,
        )
        values: dict[str, Any] = {
            "recording_status": RecordingStatus.RECORDING,
            "recording_folder": str(folder),
            "recording_ended_ms": None,
            "recording_error": None,
            "processing_by": None,
            "processing_until_ms": None,
        }
        if previous is None or previous.recording_started_ms is None:
            values["recording_started_ms"] = self._rooms.now_ms()
        await self.records.update(session_id, **values)
        recorder.start()
        return recorder

    async def _save_manifest(self, media_room: _MediaRoom) -> None:
        recorder, records = media_room.recorder, self.records
        if recorder is None or records is None or media_room.lost:
            return
        async with media_room.save_lock:
            manifest = recorder.manifest
            await records.update(media_room.session_id, manifest=manifest)

    async def _stop_recorder(self, media_room: _MediaRoom, *, room_ended: bool) -> None:
        recorder, records = media_room.recorder, self.records
        if recorder is None or records is None:
            return
        media_room.recorder = None
        session_id = media_room.session_id
        jobs = self.recording_jobs
        if not room_ended or jobs is None:
            self._finishing[session_id] = recorder
            try:
                manifest = await anyio.to_thread.run_sync(recorder.stop)
            finally:
                self._finishing.pop(session_id, None)
            async with media_room.save_lock:
                await records.update(session_id, manifest=manifest)
            if recorder.error is not None:
                await records.update(
                    session_id,
                    recording_status=RecordingStatus.FAILED,
                    recording_ended_ms=self._rooms.now_ms(),
                    recording_error=recorder.error,
                )
            return
        # The room ended: finishing the recording is this process's claimed job. If
        # it dies (or freezes past the claim) meanwhile, another process finishes the
        # recording from its stored segments, and this one's result is then dropped.
        await jobs.begin(session_id)
        self._finishing[session_id] = recorder
        try:
            async with jobs.renewing(session_id):
                manifest = await anyio.to_thread.run_sync(recorder.stop)
        finally:
            self._finishing.pop(session_id, None)
        failed = recorder.error is not None or not manifest.entries
        async with media_room.save_lock:
            await jobs.finish(
                session_id,
                manifest=manifest,
                recording_status=RecordingStatus.FAILED if failed else RecordingStatus.READY,
                recording_ended_ms=self._rooms.now_ms(),
                recording_error=(recorder.error or "nothing was recorded") if failed else None,
            )

    def _drop(self, media_room: _MediaRoom, participant: str) -> None:
        peer = media_room.peers.pop(participant, None)
        media_room.arriving.pop(participant, None)
        media_room.mixer.remove(participant)
        media_room.latest_video.pop(participant, None)
        media_room.published_slots.pop(participant, None)
        media_room.slots_told_at.pop(participant, None)
        if peer is not None and self._tasks is not None:
            self._tasks.start_soon(peer.close)

    # ---- inbound media ------------------------------------------------------------------

    @staticmethod
    def _take_audio(
        media_room: _MediaRoom, peer: MediaPeer, samples: npt.NDArray[np.int16], kind: str | None
    ) -> None:
        """A participant's decoded frame (mono, at the mixing rate), from their playout."""
        if media_room.peers.get(peer.participant) is not peer:
            return
        peer.audio_frames += 1
        if kind == "plc":
            peer.audio_concealed += 1
        media_room.mixer.push(peer.participant, samples)

    async def _read_audio(self, media_room: _MediaRoom, peer: MediaPeer, track: Any) -> None:
        rate = self.config.sample_rate
        resampler: Resampler | None = None
        try:
            while True:
                frame = await track.recv()
                if media_room.peers.get(peer.participant) is not peer:
                    return
                mono = audio_frame_to_mono(frame)
                if frame.sample_rate != rate:
                    if resampler is None or resampler.from_hz != frame.sample_rate:
                        resampler = Resampler(frame.sample_rate, rate)
                    mono = resampler.process(mono)
                peer.audio_frames += 1
                if frame.opaque == "plc":
                    peer.audio_concealed += 1
                media_room.mixer.push(peer.participant, mono)
        except MediaStreamError:
            return

    async def _read_video(self, media_room: _MediaRoom, peer: MediaPeer, track: Any) -> None:
        video_filter = self.config.video_filter
        source = peer.participant
        try:
            while True:
                frame = await track.recv()
                if media_room.peers.get(source) is not peer:
                    return
                # Camera off (by themselves or the host) is private: nothing of it leaves
                # the server, checked on every frame so it holds from the next one on.
                room = await self._rooms.room(media_room.session_id)
                sender = room.participants.get(source)
                if sender is None or not sender.video_on:
                    media_room.latest_video.pop(source, None)
                    continue
                if video_filter is not None:
                    frame = await anyio.to_thread.run_sync(video_filter, source, frame)
                self._stamp(media_room, frame)
                media_room.latest_video[source] = frame
                for listener, other in list(media_room.peers.items()):
                    if listener != source:
                        for slot in other.slots.values():
                            slot.offer(source, frame)
        except MediaStreamError:
            return

    @staticmethod
    def _stamp(media_room: _MediaRoom, frame: av.VideoFrame) -> None:
        """Give a relayed frame the room's time: a slot's encoder (libvpx) fails for good
        on a timestamp that goes back, which each sender's own clock does whenever a slot
        changes source or a participant rejoins with a fresh camera."""
        pts = max(int(anyio.current_time() * _VIDEO_HZ), media_room.last_video_pts + 1)
        media_room.last_video_pts = pts
        frame.pts = pts
        frame.time_base = _VIDEO_TIME_BASE

    # ---- network monitoring --------------------------------------------------------------

    async def _monitor_loop(self, media_room: _MediaRoom) -> None:
        session_id = media_room.session_id
        written_at: float | None = None  # the summary's last write
        unwritten = False  # reports since then
        while True:
            await anyio.sleep(self.config.network_interval_s)
            if self._media_rooms.get(session_id) is not media_room:
                if unwritten:
                    await self._write_network(media_room)
                return
            reported = False
            for participant, peer in list(media_room.peers.items()):
                if peer.state != "connected":
                    continue
                report = await peer.connection.getStats()
                if media_room.network_closed:
                    return  # the session ended meanwhile: its summary is final
                snapshot = StatsSnapshot.from_report(
                    anyio.current_time(), report.values(), repaired=peer.repaired()
                )
                before = media_room.snapshots.get(participant)
                media_room.snapshots[participant] = (peer, snapshot)
                if before is None or before[0] is not peer:
                    continue
                network = assess(before[1], snapshot)
                if self.config.audio_resilience:
                    network = network.with_residual(peer.residual_loss())
                peer.follow_reports(report.values())
                media_room.network.add(participant, network)
                reported = True
                data = {"participant": participant, **network.as_data()}
                await self._bus.publish(session_id, ServerMessage("media.network", data))
            unwritten = unwritten or reported
            now = anyio.current_time()
            due = written_at is None or now - written_at >= self.config.network_record_s
            if unwritten and due:
                written_at, unwritten = now, False
                await self._write_network(media_room)

    # ---- the mixing tick ------------------------------------------------------------------

    async def _mix_loop(self, media_room: _MediaRoom) -> None:
        ended = False
        try:
            while True:
                skipped = media_room.clock.skipped
                lateness = await media_room.clock.wait()
                self._fill_skipped(media_room, media_room.clock.skipped - skipped)
                media_room.max_lateness_s = max(media_room.max_lateness_s, lateness)
                media_room.lateness_s.append(lateness)
                if media_room.ended or media_room.lost:
                    ended = media_room.ended
                    return
                room = await self._rooms.room(media_room.session_id)
                ntp = ntp_now()
                for job in self._tick(media_room, room):
                    if job.shared is None:
                        _encode(job.tracks[0], job.samples, ntp)
                    elif not _encode_shared(job, job.shared, ntp):
                        media_room.shared_encoders.pop(job.key, None)
                await self._publish_slots(media_room, room)
                await self._ask_back_to_offer(media_room, room)
                self._after_recording_tick(media_room)
        finally:
            # Also when the service stops (cancelled): close the peers here, and close the
            # current segment, leaving the status ``recording`` for the next start to finalise.
            if self._media_rooms.get(media_room.session_id) is media_room:
                del self._media_rooms[media_room.session_id]
            peers = list(media_room.peers.values())
            for participant in list(media_room.peers):
                media_room.peers.pop(participant, None)
                media_room.mixer.remove(participant)
            with anyio.CancelScope(shield=True):
                for peer in peers:
                    await peer.close()
                if media_room.lost:
                    await self._discard_recorder(media_room)
                else:
                    if ended:
                        await self._close_network(media_room)
                    await self._stop_recorder(media_room, room_ended=ended)

    async def _write_network(self, media_room: _MediaRoom, *, final: bool = False) -> None:
        """Store the room's network summary in its session record; ``final`` (the
        session ended, before its recording is finished): for the last time, so what
        the record shows then does not change later. Writes never cross."""
        async with media_room.network_lock:
            if media_room.network_closed:
                return
            media_room.network_closed = final
            summary = media_room.network.as_data()
            if self.records is not None and summary:
                await self.records.update(media_room.session_id, network_summary=summary)

    async def _close_network(self, media_room: _MediaRoom) -> None:
        try:
            await self._write_network(media_room, final=True)
        except Exception:  # the database may be briefly away: the recording still ends
            _log.exception("writing the network summary of %s failed", media_room.session_id)

    def _fill_skipped(self, media_room: _MediaRoom, ticks: int) -> None:
        """Keep the recording as long as the wall time: skipped ticks are recorded silent."""
        recorder = media_room.recorder
        if recorder is None or ticks <= 0:
            return
        silence = np.zeros(self._frame_samples, dtype=np.int16)
        for _ in range(ticks):
            recorder.feed(RecordingTick(silence, None))

    def _after_recording_tick(self, media_room: _MediaRoom) -> None:
        recorder = media_room.recorder
        if recorder is None or self._tasks is None:
            return
        segments = len(recorder.manifest.entries)
        if segments != media_room.saved_segments:
            media_room.saved_segments = segments
            self._tasks.start_soon(self._save_manifest, media_room)
        if recorder.error is not None and not media_room.failed and self.records is not None:
            media_room.failed = True
            self._tasks.start_soon(
                functools.partial(
                    self.records.update,
                    media_room.session_id,
                    recording_status=RecordingStatus.FAILED,
                    recording_error=recorder.error,
                )
            )

    def _tick(self, media_room: _MediaRoom, room: Room) -> list[_Encoding]:
        """Mix one tick; return the listeners' frames still to be encoded (the others are
        fed as raw frames for aiortc to encode)."""
        present = {p.id: p for p in room.present}
        arriving = media_room.arriving
        # Frames due by the tick's deadline are mixed now, however late the tick runs.
        due = media_room.clock.deadline_s if self.config.tick_release else None
        for participant, peer in list(media_room.peers.items()):
            if participant in present:
                arriving.pop(participant, None)
            elif arriving.get(participant, -1) > media_room.ticks:
                pass  # seated by their join, their socket still on its way
            else:
                self._drop(media_room, participant)
                media_room.gone.add(participant)
                continue
            if peer.state in ("failed", "closed"):
                # Failed here only (their end may not notice for 30 s): asked to offer again.
                self._drop(media_room, participant)
                media_room.gone.add(participant)
            else:
                peer.open_direct()
                peer.drain_audio()
                if due is not None:
                    self._release(media_room, participant, peer, due)
        for participant in media_room.mixer.participants:
            on = participant in present and present[participant].audio_on
            media_room.mixer.set_gain(participant, UNITY_GAIN_Q15 if on else 0)
        mixed = media_room.mixer.tick()
        encoding = self._encodings(media_room, mixed)
        taps = self._audio_taps.get(media_room.session_id)
        if taps:
            at_ms = media_room.started_ms + media_room.ticks * self.config.tick_ms
            for row, participant in enumerate(mixed.participants):
                if mixed.audible[row]:
                    for tap in taps:
                        tap(participant, mixed.sources[row], at_ms)
        media_room.ticks += 1
        recorder = media_room.recorder
        if recorder is not None:
            if recorder.video_due():
                shown = [p for p in room.present if p.id in media_room.peers]
                ids = [p.id for p in shown]
                main = room.recording_main
                frames = tuple(
                    media_room.latest_video.get(p.id) if p.video_on else None for p in shown
                )
                recorder.feed(
                    RecordingTick(mixed.full, frames, ids.index(main) if main in ids else 0)
                )
            else:
                recorder.feed(RecordingTick(mixed.full))
        return encoding

    @staticmethod
    def _release(media_room: _MediaRoom, participant: str, peer: MediaPeer, due: float) -> None:
        """Release a participant's frames due by ``due`` into their row of the mixer."""
        mixer = media_room.mixer
        row = mixer.row(participant)
        for playout in peer.playouts:
            if row is None or not playout.decoding_here:
                playout.release(due)
                continue
            decoded, concealed = playout.release_into(due, mixer.buffers, row)
            peer.audio_frames += decoded
            peer.audio_concealed += concealed

    def _encodings(self, media_room: _MediaRoom, mixed: MixedTick) -> list[_Encoding]:
        """The tick's encodes: one per listener who is not quiet, one per encoder key for
        those who are (``zhanye_sdk.media.sharing``); listeners aiortc encodes for are fed
        their raw mix-minus here."""
        settled: frozenset[str] = frozenset()
        if self.config.share_encoders:
            quiet = quiet_peaks(mixed.peaks, mixed.gains, self.config.quiet_peak)
            settled = media_room.quiet.update(mixed.participants, quiet.tolist())
        encoding: list[_Encoding] = []
        groups: dict[tuple[Any, ...], list[MixedAudioTrack]] = {}
        sharing: set[str] = set()
        for row, participant in enumerate(mixed.participants):
            track = media_room.peers[participant].audio_out
            if track.encoder is None:
                track.feed(mixed.minus[row])
                continue
            key = track.sharing_key() if participant in settled else None
            if key is None:
                encoding.append(_Encoding((track,), mixed.minus[row]))
            else:
                groups.setdefault(key, []).append(track)
                sharing.add(participant)
        media_room.sharing = frozenset(sharing)
        encoders = media_room.shared_encoders
        for key in [key for key in encoders if key not in groups]:
            del encoders[key]  # nobody hears it: the next group starts a new stream
        if groups:
            samples = shared_mix(mixed.sources, mixed.gains, quiet)
            for key, tracks in groups.items():
                shared = encoders.get(key)
                if shared is None:
                    try:
                        twin = tracks[0].encoder.twin()
                    except (av.FFmpegError, ValueError, RuntimeError) as exc:
                        _log.warning("no shared Opus encoder; each listener codes its own: %s", exc)
                        encoding += [_Encoding((track,), samples) for track in tracks]
                        continue
                    shared = encoders[key] = SharedEncoder(twin, self.config.sample_rate)
                encoding.append(_Encoding(tuple(tracks), samples, shared, key))
        return encoding

    async def _ask_back_to_offer(self, media_room: _MediaRoom, room: Room) -> None:
        """Whoever left (their socket away past the leave grace) and is back in the room,
        or whose peer failed here, has no media here any more: their client is asked to
        offer again (``media.renegotiate`` naming them), or they would stay unheard and
        unseen (a browser notices a dead connection only after about 30 s)."""
        if not media_room.gone:
            return
        for participant in [p.id for p in room.present if p.id in media_room.gone]:
            media_room.gone.discard(participant)
            if participant in media_room.peers:
                continue  # they offered again by themselves
            data = {"owner": self.instance, "participant": participant}
            await self._bus.publish(media_room.session_id, ServerMessage("media.renegotiate", data))

    async def _publish_slots(self, media_room: _MediaRoom, room: Room) -> None:
        published = media_room.published_slots
        if all(not p.slots and who in published for who, p in media_room.peers.items()):
            return  # nobody receives video, and each listener has been told so
        order = [p.id for p in room.present if p.id in media_room.peers]
        camera_off = {p.id for p in room.present if not p.video_on}
        refresh_ticks = round(self.config.slots_refresh_s * 1000 / self.config.tick_ms)
        # A copy: publishing waits (on Redis, in a scale-out), and a peer may come meanwhile.
        for listener, peer in list(media_room.peers.items()):
            seated = room.participants.get(listener)  # None: still arriving
            main = seated.main_view if seated is not None else None
            others = [p for p in order if p != listener]
            if main in others:
                others.remove(main)
                others.insert(0, main)
            sources: dict[str, str | None] = {}
            for mid, slot in peer.slots.items():
                source = others.pop(0) if others else None
                slot.show(source)
                if source in camera_off:
                    slot.withhold()  # a frame taken before the camera went off is not sent
                sources[mid] = source
            peer.cap_video(self.config.video_kbps)
            if listener in media_room.arriving:
                continue  # its slots already play; said once its socket is there to hear it
            told_at = media_room.slots_told_at.get(listener)
            stale = told_at is None or media_room.ticks - told_at >= refresh_ticks
            if media_room.published_slots.get(listener) != sources or (sources and stale):
                media_room.published_slots[listener] = sources
                media_room.slots_told_at[listener] = media_room.ticks
                await self._bus.publish(
                    media_room.session_id,
                    ServerMessage("media.slots", {"participant": listener, "slots": sources}),
                )
