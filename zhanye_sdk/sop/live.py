"""Live SOP assist over signaling: the ``sop`` area of a session. Drives ``SopAssistant``.

Messages from the host's client (staff seats only; a customer is refused):

* ``sop.start`` ``{template_id?}`` — load the template's flows (all flows the host may
  use when none is given), their scripts and the company's enabled QA rules; answers
  ``sop.checklist`` with the flows' nodes and the progress so far. Starting again with
  the same template (a reconnect, a second tab) keeps the progress; another template
  starts over.
* ``sop.page`` ``{material_id, page}`` — what is shared now, for shares the server does
  not see itself (a co-browsed link); the flow follows it.
* ``sop.segment`` ``{utterance, text, start_ms, end_ms, speaker, role, final}`` — one
  transcript segment (a text feed: from the host's own ASR or a scripted transcript).
* ``sop.finish`` — write the execution table and QA report into the session record;
  answers ``sop.summary``.

Theory of operation
-------------------
The assistant's events (``sop.flow``, ``sop.card``, ``sop.node``, ``sop.alert``) are
published on the session's *staff channel* (``staff_channel``), which the signaling
endpoint forwards to the host's connections only: a customer never receives a card, the
checklist or a quality alert.

The service reacts to the session's lifecycle (``on_lifecycle``, subscribed to the
room's ``Lifecycle``): ``ShareChanged`` from the whiteboard moves the assistant to the
shared material and page without any message from the page, and ``SessionEnded`` writes
the record exactly as ``sop.finish`` does (and publishes ``sop.summary``). A document
whose material name has a scripted transcript in the configuration (the demo) starts a
``TranscriptSchedule`` when shared; a task in ``run`` asks it what is due on the
platform's clock and feeds the assistant.

Nothing is lost on a restart: every input of a session's assistant (a template start with
the library it loaded, what is shown, each segment; see ``sop.inputs``) is stored in
``sop_assist_inputs`` under the session's lock before it is applied, numbered in order.
A new process replays them into a fresh ``SessionAssist``: ``recover`` does so for every
session with stored inputs (catching up with what a live room's board shows; writing the
record of a room that ended meanwhile), and ``sop.start`` does so for its session.
Writing the record deletes the inputs in the same transaction. A scripted transcript
that was playing does not resume after a restart.

The service is split by job: this module routes the area's messages and runs the
operations; ``sop.messages`` reads the messages, ``sop.live_store`` stores and replays the
inputs, ``sop.listening`` hears the room (or a host's transcript source),
``sop.demo_feed`` plays a scripted conversation and ``sop.summary`` gives the record's
forms.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
import attrs
from anyio.abc import TaskGroup, TaskStatus

from zhanye_sdk.clock import to_ms
from zhanye_sdk.errors import ConflictError, InvalidInput, PermissionDenied
from zhanye_sdk.facade import Platform
from zhanye_sdk.heap import freeze_startup_heap
from zhanye_sdk.lifecycle import LifecycleEvent, SessionEnded, ShareChanged
from zhanye_sdk.platform.permissions import NotAccessible
from zhanye_sdk.platform.roles import Principal
from zhanye_sdk.rooms.core import ParticipantRole, RoomState
from zhanye_sdk.rooms.service import RoomService, Seat
from zhanye_sdk.signaling.bus import Bus, staff_channel
from zhanye_sdk.signaling.envelope import ClientMessage, ServerMessage
from zhanye_sdk.sop.assist import AssistEvent, SopAssistant
from zhanye_sdk.sop.demo_feed import play_script
from zhanye_sdk.sop.inputs import (
    AssistInput,
    AssistStarted,
    ScreenShown,
    SegmentHeard,
    SessionAssist,
)
from zhanye_sdk.sop.listening import hear_room, hotwords, listen_to
from zhanye_sdk.sop.live_session import ROLES, LiveSession
from zhanye_sdk.sop.live_store import AssistStore
from zhanye_sdk.sop.matcher import TranscriptSegment
from zhanye_sdk.sop.messages import READERS, PageForm, SegmentForm, StartForm, event_message
from zhanye_sdk.sop.models import Flow
from zhanye_sdk.sop.pinyin import warm_up
from zhanye_sdk.sop.speech import AudioTaps, Recogniser, RoomSpeech
from zhanye_sdk.sop.summary import summary_json
from zhanye_sdk.sop.transcript import ScriptedTranscript, TranscriptSource

if TYPE_CHECKING:
    from zhanye_sdk.whiteboard.service import WhiteboardService

__all__ = ["SopLiveConfig", "SopLiveService", "summary_json"]

_log = logging.getLogger(__name__)

#: How long the end of a session waits for the last speech to be recognised.
_DRAIN_S = 10.0


@attrs.frozen
class SopLiveConfig:
    """Settings of the live assist.

    Args:
        scripted: scripted transcripts by material name: sharing that material starts
            feeding its script (the demo shows cards and the checklist ticking this way).
            Speakers named ``salesperson`` or ``customer`` have that role.
        tick_s: how often the scripted feeder looks at the clock.
        recogniser: builds a session's speech recogniser from its phrases (the scripts'
            keywords and the nodes' key phrases, as hotwords), e.g.
            ``lambda words: SherpaOnnxTranscriber(model_dir, words)``. With the room's
            audio (``audio`` of the service), the assistant then listens to every
            participant itself.
    """

    scripted: Mapping[str, ScriptedTranscript] = attrs.field(factory=dict)
    tick_s: float = 0.25
    recogniser: Callable[[Sequence[str]], Recogniser] | None = None


class SopLiveService:
    """One ``SopAssistant`` per session, fed by its host over signaling and by the board.

    Every input the assistant gets is stored (``sop_assist_inputs``) before it is applied,
    so a host process that restarts rebuilds each started session's assistant exactly
    (``SessionAssist.replay``): ``run`` restores them, and ``sop.start`` does too.

    Args:
        platform: the platform (SOP library, database, clock).
        bus: the signaling bus; events go to each session's staff channel.
        rooms: the rooms, to refuse starting the assistant in a session that has ended.
        whiteboards: the boards whose shares the assistant follows (optional).
        config: scripted transcripts, the feeder's tick, the speech recogniser.
        audio: the room audio the recogniser hears (the media service), optional.
    """

    def __init__(
        self,
        platform: Platform,
        bus: Bus,
        *,
        rooms: RoomService | None = None,
        whiteboards: WhiteboardService | None = None,
        config: SopLiveConfig | None = None,
        audio: AudioTaps | None = None,
    ) -> None:
        self._platform = platform
        self._audio = audio
        self._bus = bus
        self._rooms = rooms
        self._whiteboards = whiteboards
        self.config = config or SopLiveConfig()
        self._sessions: dict[str, LiveSession] = {}
        self._store = AssistStore(platform)
        self._locks: dict[str, anyio.Lock] = {}
        self._tasks: TaskGroup | None = None

    def assistant(self, session_id: str) -> SopAssistant | None:
        """The session's assistant, once started."""
        live = self._sessions.get(session_id)
        return live.assist.assistant if live else None

    def progress(self, session_id: str) -> dict[str, Any] | None:
        """The session's ``sop.checklist`` data, once started (see ``start``)."""
        live = self._sessions.get(session_id)
        return live.assist.progress() if live else None

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Hear the rooms' speech and play scripted transcripts, until cancelled.

        Run it in the host's task group, after ``recover``; without it the assistant
        hears only what the host's page sends.
        """
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            # Off the event loop, before a room's assistant needs it (see ``warm_up``).
            tasks.start_soon(self._warm_up)
            try:
                for session_id, live in list(self._sessions.items()):
                    await self._listen_to_room(session_id, live)
                task_status.started()
                await anyio.sleep_forever()
            finally:
                self._tasks = None

    async def _warm_up(self) -> None:
        await anyio.to_thread.run_sync(warm_up)
        # Its tables live as long as the process: out of the collector's full passes.
        freeze_startup_heap()

    async def recover(self) -> None:
        """Bring back every session's assistant a stopped process left, from its stored
        inputs: a room still live carries on (following what its board shows now), a
        room that ended meanwhile gets its SOP record written."""
        for session_id in await self._store.sessions():
            if self._rooms is not None and self._rooms.clustered:
                if await self._rooms.is_live(session_id):
                    continue  # another process's room: restored when taken over
            try:
                await self._restore(session_id)
            except Exception:  # one session's trouble does not stop the others
                _log.exception("the SOP assistant of session %s was not restored", session_id)

    async def recover_room(self, session_id: str) -> None:
        """This process took the room over: its assistant is replayed from the stored
        inputs (a copy kept here from an earlier time may be stale) and hears the room."""
        async with self._lock(session_id):
            self._sessions.pop(session_id, None)
        await self._restore(session_id)

    async def on_lifecycle(self, event: LifecycleEvent) -> None:
        """Follow what the board shows (``ShareChanged``) and write the record when the
        session ends (``SessionEnded``), for sessions whose assistant was started."""
        if not self._concerns(event.session_id):
            return  # at once: the change's own caller is not kept waiting
        if isinstance(event, ShareChanged):
            # In order (one task after the other takes the session's lock), and not in the
            # way of the board op's own answer.
            if self._tasks is not None:
                self._tasks.start_soon(self._follow_share_quietly, event)
            else:
                await self._follow_share(event)
        elif isinstance(event, SessionEnded):
            async with self._lock(event.session_id):
                started = event.session_id in self._sessions
            if not started:
                return
            # Writing the record waits for the last speech: not the end's caller.
            if self._tasks is not None:
                self._tasks.start_soon(self._finish_quietly, event.session_id)
            else:
                await self._finish_quietly(event.session_id)

    def _concerns(self, session_id: str) -> bool:
        """The session's assistant is started, or being started (its lock is held)."""
        lock = self._locks.get(session_id)
        return session_id in self._sessions or (lock is not None and lock.locked())

    async def _finish_quietly(self, session_id: str) -> None:
        with contextlib.suppress(InvalidInput):  # finished meanwhile
            await self._finish_and_announce(session_id)

    async def _restore(self, session_id: str) -> None:
        """Bring back a session's assistant from its stored inputs: carried on while its
        room is live, its record written when the room ended meanwhile."""
        async with self._lock(session_id):
            if session_id in self._sessions:
                return
            live = await self._store.load(session_id)
            if live is None:
                return
            ended = await self._room_ended(session_id)
            self._sessions[session_id] = live
            if not ended:
                await self._resume(session_id, live, follow_board=True)
                return
        await self._finish_quietly(session_id)

    # ---- the signaling area -------------------------------------------------------------

    async def handle(self, seat: Seat, message: ClientMessage) -> list[ServerMessage]:
        """The ``AreaHandler`` of ``sop`` messages."""
        try:
            if seat.role is not ParticipantRole.HOST or seat.principal is None:
                raise PermissionDenied("only the session's host drives the SOP assistant")
            form = READERS.read(message)
            if isinstance(form, StartForm):
                template_id = form.template_id or None
                progress = await self.start(seat.principal, seat.session_id, template_id)
                return [ServerMessage("sop.checklist", progress, re=message.id)]
            if seat.session_id not in self._sessions:
                raise InvalidInput("send sop.start first")
            if isinstance(form, PageForm):
                await self.show(seat.session_id, form.material_id or None, form.page)
            elif isinstance(form, SegmentForm):
                await self.receive(seat.session_id, form.segment(), role=form.role)
            else:
                steps, report = await self.finish(seat.session_id)
                return [ServerMessage("sop.summary", {"steps": steps, "qa": report}, re=message.id)]
            return [ServerMessage("ack", {}, re=message.id)]
        except (InvalidInput, PermissionDenied) as exc:
            return [ServerMessage.refusal(exc, message.id)]

    # ---- the operations ------------------------------------------------------------------

    async def start(
        self, actor: Principal, session_id: str, template_id: str | None = None
    ) -> dict[str, Any]:
        """Start (or keep) the session's assistant for ``template_id``.

        Returns the ``sop.checklist`` data: the flows with their nodes, the active flow,
        what is on screen, the nodes executed so far, the card shown and the alerts raised.
        An assistant started before the host process restarted is restored first.

        Raises:
            PermissionDenied: the template is not one the actor may use.
            ConflictError: the session has ended.
        """
        # Two tabs of the host starting at once get one assistant.
        loaded: LiveSession | None = None
        async with self._lock(session_id):
            if not await self._room_ended(session_id):
                return await self._start(actor, session_id, template_id)
            if session_id not in self._sessions:
                # Started before a restart, ended while the host was down.
                loaded = await self._store.load(session_id)
                if loaded is not None:
                    self._sessions[session_id] = loaded
        if loaded is not None:
            with contextlib.suppress(InvalidInput):  # finished meanwhile
                await self._finish_and_announce(session_id)
        raise ConflictError("the session has ended: its SOP record is written")

    async def _start(
        self, actor: Principal, session_id: str, template_id: str | None
    ) -> dict[str, Any]:
        live = self._sessions.get(session_id)
        if live is None:
            live = await self._store.load(session_id)
            if live is not None:
                self._sessions[session_id] = live
                await self._resume(session_id, live, follow_board=True)
        if live is not None and (template_id is None or template_id == live.assist.template_id):
            return live.assist.progress()
        sop = self._platform.sop
        flows: list[Flow] = await sop.flows(actor)
        if template_id:
            chosen = [t for t in await sop.templates(actor) if t.id == template_id]
            if not chosen:
                raise PermissionDenied("that template is not one the host may use")
            by_id = {f.id: f for f in flows}
            flows = [by_id[f] for f in chosen[0].flow_ids if f in by_id]
        scripts = await sop.scripts(actor)
        rules = [r.rule for r in await sop.rules(actor, enabled_only=True)]
        entry = AssistStarted(
            template_id, tuple(flows), tuple(scripts), tuple(rules), self._now_ms()
        )
        if live is not None:
            await self._input(session_id, live, entry)  # another template: start over
        else:
            live = LiveSession(SessionAssist())
            await self._input(session_id, live, entry)
            self._sessions[session_id] = live
            await self._resume(session_id, live, follow_board=False)
        return live.assist.progress()

    async def show(self, session_id: str, material_id: str | None, page: int | None) -> None:
        """What is on screen changed: the session's flow (and card) follow it."""
        await self._feed_input(session_id, ScreenShown(material_id, page, self._now_ms()))

    async def receive(
        self, session_id: str, segment: TranscriptSegment, *, role: str | None = None
    ) -> None:
        """Feed one transcript segment; ``role`` (salesperson / customer) of its speaker."""
        if role is not None and role not in ROLES:
            raise InvalidInput(f"role must be salesperson or customer, got {role!r}")
        await self._feed_input(session_id, SegmentHeard(segment, role))

    async def listen(
        self, session_id: str, source: TranscriptSource, roles: Mapping[str, str] | None = None
    ) -> None:
        """Feed every segment of a transcript source (a host's ASR) until it ends.

        Args:
            roles: the role of each speaker id the source uses.
        """
        live = self._live(session_id)
        await listen_to(self, session_id, live, source, roles)

    async def finish(self, session_id: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Write the session's execution table and QA report into its record."""
        live = self._sessions.get(session_id)
        if live is None:
            raise InvalidInput("the SOP assistant of this session was not started")
        if live.speech is not None:
            # What was said last is recognised before the record is written.
            live.speech.close()
            with anyio.move_on_after(_DRAIN_S):
                await live.heard.wait()
        async with self._lock(session_id):
            if self._sessions.get(session_id) is not live:
                raise InvalidInput("the SOP assistant of this session was not started")
            roles = live.assist.roles
            steps, report = summary_json(
                live.assist.assistant.summary(),
                role_of=lambda s: roles.get(s) or (s if s in ROLES else None),
                started_ms=await self._started_ms(session_id),
            )
            await self._store.write_report(session_id, steps, report, self._now_ms())
            del self._sessions[session_id]
        self._locks.pop(session_id, None)
        return steps, report

    # ---- internals -------------------------------------------------------------------------

    def _live(self, session_id: str) -> LiveSession:
        live = self._sessions.get(session_id)
        if live is None:
            raise InvalidInput("the SOP assistant of this session was not started")
        return live

    def _lock(self, session_id: str) -> anyio.Lock:
        return self._locks.setdefault(session_id, anyio.Lock())

    def _now_ms(self) -> int:
        return to_ms(self._platform.clock.now())

    async def _started_ms(self, session_id: str) -> int | None:
        """When the session started (the record's times count from it), if known."""
        if self._rooms is None:
            return None
        try:
            return (await self._rooms.room(session_id)).started_ms
        except NotAccessible:
            return None

    async def _room_ended(self, session_id: str) -> bool:
        if self._rooms is None:
            return False
        try:
            room = await self._rooms.room(session_id)
        except NotAccessible:
            return True  # the session is gone: nothing will come
        return room.state is RoomState.ENDED

    async def _feed_input(self, session_id: str, entry: ScreenShown | SegmentHeard) -> None:
        """Store and apply one input of a started session, then publish its events."""
        async with self._lock(session_id):
            live = self._live(session_id)  # not finished while waiting for the lock
            events = await self._input(session_id, live, entry)
            await self._publish(session_id, events)

    async def _input(
        self, session_id: str, live: LiveSession, entry: AssistInput
    ) -> list[AssistEvent]:
        """Store ``entry`` as the session's next input, then apply it (the lock is held)."""
        return await self._store.apply(session_id, live, entry, self._now_ms())

    def current(self, session_id: str) -> LiveSession | None:
        """The session's live assistant (``None`` before it starts and once finished)."""
        return self._sessions.get(session_id)

    async def _resume(self, session_id: str, live: LiveSession, *, follow_board: bool) -> None:
        """Catch up with what the board shows and hear the room (the lock is held).

        ``follow_board``: a restored assistant moves to what the board shows only when
        that differs from what it was last shown; a new one always does.
        """
        shown = await self._board_shown(session_id)
        if shown is not None and (not follow_board or shown != live.assist.assistant.shown):
            # What is on screen comes with the checklist: these events are not published.
            entry = ScreenShown(shown[0], shown[1], self._now_ms())
            await self._input(session_id, live, entry)
        await self._listen_to_room(session_id, live)

    async def _board_shown(self, session_id: str) -> tuple[str | None, int | None] | None:
        """The material and page the session's board shows (``None``: no material)."""
        if self._whiteboards is None:
            return None
        share = await self._whiteboards.shown(session_id)
        if share.material_id is None:
            return None
        return share.material_id, share.page

    async def _listen_to_room(self, session_id: str, live: LiveSession) -> None:
        """Recognise the room's speech, once ``run`` runs and a recogniser is set."""
        recogniser = self.config.recogniser
        if self._tasks is None or recogniser is None or self._audio is None:
            return
        if live.speech is not None:
            return
        words = hotwords(live.assist.flows, live.assist.scripts)
        live.speech = RoomSpeech(await anyio.to_thread.run_sync(recogniser, words))
        self._tasks.start_soon(
            hear_room, self, self._audio, session_id, live, live.speech, self._role_of
        )

    async def _follow_share_quietly(self, share: ShareChanged) -> None:
        try:
            await self._follow_share(share)
        except Exception:  # one session's trouble never stops the service
            _log.exception("the SOP assistant of %s did not follow the board", share.session_id)

    async def _follow_share(self, share: ShareChanged) -> None:
        """The board shows another material or page: the assistant follows it."""
        session_id = share.session_id
        async with self._lock(session_id):
            live = self._sessions.get(session_id)
            if live is None:
                return
            entry = ScreenShown(share.material_id, share.page, self._now_ms())
            await self._publish(session_id, await self._input(session_id, live, entry))
            script = self.config.scripted.get(share.name or "") if share.opened else None
            if script is not None and not live.feeding and not live.spoke:
                live.feeding = True
                self._start_script(session_id, live, script)

    async def _publish(self, session_id: str, events: Sequence[AssistEvent]) -> None:
        channel = staff_channel(session_id)
        for event in events:
            await self._bus.publish(channel, event_message(event))

    async def _finish_and_announce(self, session_id: str) -> None:
        steps, report = await self.finish(session_id)
        await self._bus.publish(
            staff_channel(session_id),
            ServerMessage("sop.summary", {"steps": steps, "qa": report}),
        )

    async def _role_of(self, session_id: str, participant: str) -> str | None:
        if self._rooms is None:
            return None
        found = (await self._rooms.room(session_id)).participants.get(participant)
        if found is None:
            return None
        return "salesperson" if found.role is ParticipantRole.HOST else "customer"

    def _start_script(self, session_id: str, live: LiveSession, script: ScriptedTranscript) -> None:
        if self._tasks is None:
            live.feeding = False
            return
        self._tasks.start_soon(
            partial(
                play_script,
                self,
                session_id,
                live,
                script,
                now_ms=self._now_ms,
                tick_s=self.config.tick_s,
            )
        )
