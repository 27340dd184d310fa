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

While ``run`` runs (in the host's task group), every started session is watched on the
room's bus channel, subscribed before the board's snapshot is read so nothing falls in
between: the whiteboard's ``document_shared`` / ``page_turned`` / ``document_closed``
effects move the assistant to the shared material and page without any message from the
page, and ``room.ended`` writes the record exactly as ``sop.finish`` does (and publishes
``sop.summary``). A document whose material name has a scripted transcript in the
configuration (the demo) starts a ``TranscriptSchedule`` when shared; a timer task asks
it what is due on the platform's clock and feeds the assistant.

Nothing is lost on a restart: every input of a session's assistant (a template start with
the library it loaded, what is shown, each segment; see ``sop.inputs``) is stored in
``sop_assist_inputs`` under the session's lock before it is applied, numbered in order.
A new process replays them into a fresh ``SessionAssist``: ``run`` does so for every
session with stored inputs when it starts (watching a live room's board and end again;
writing the record of a room that ended meanwhile), and ``sop.start`` does so for its
session. Writing the record deletes the inputs in the same transaction. A scripted
transcript that was playing does not resume after a restart.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio
import attrs
import sqlalchemy as sa
from anyio.abc import TaskGroup, TaskStatus

from zhanye_sdk.clock import to_ms
from zhanye_sdk.errors import ConflictError, InvalidInput, PermissionDenied
from zhanye_sdk.facade import Platform
from zhanye_sdk.platform.permissions import NotAccessible
from zhanye_sdk.platform.roles import Principal
from zhanye_sdk.rooms.core import ParticipantRole, RoomState
from zhanye_sdk.rooms.service import RoomService, Seat
from zhanye_sdk.signaling.bus import Bus, staff_channel
from zhanye_sdk.signaling.envelope import ClientMessage, ServerMessage
from zhanye_sdk.sop.assist import (
    AssistEvent,
    CardShown,
    FlowActivated,
    NodeExecuted,
    SessionSummary,
    SopAssistant,
)
from zhanye_sdk.sop.inputs import (
    AssistInput,
    AssistStarted,
    ScreenShown,
    SegmentHeard,
    SessionAssist,
    input_from_json,
    input_json,
)
from zhanye_sdk.sop.matcher import TranscriptSegment
from zhanye_sdk.sop.models import Flow, FlowNode, Script
from zhanye_sdk.sop.qa import offset_from_start
from zhanye_sdk.sop.speech import AudioTaps, Recogniser, RoomSpeech
from zhanye_sdk.sop.steps import StepStatus
from zhanye_sdk.sop.transcript import ScriptedTranscript, TranscriptSchedule, TranscriptSource
from zhanye_sdk.store.schema import sop_assist_inputs, sop_session_reports

if TYPE_CHECKING:
    from zhanye_sdk.whiteboard.service import WhiteboardService

__all__ = ["SopLiveConfig", "SopLiveService", "summary_json"]

_log = logging.getLogger(__name__)

_ROLES = ("salesperson", "customer")


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


def _event(event: AssistEvent) -> ServerMessage:
    if isinstance(event, FlowActivated):
        return ServerMessage("sop.flow", attrs.asdict(event))
    if isinstance(event, CardShown):
        return ServerMessage("sop.card", attrs.asdict(event))
    if isinstance(event, NodeExecuted):
        return ServerMessage("sop.node", attrs.asdict(event))
    return ServerMessage("sop.alert", attrs.asdict(event))


def summary_json(
    summary: SessionSummary,
    role_of: Callable[[str], str | None] | None = None,
    started_ms: int | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The record's forms: execution rows (level1, level2, status, script and, for an
    executed node, the evidence: time_ms, offset_ms, speaker, role, text) and the report.

    Args:
        role_of: the role (salesperson / customer) of a speaker id, given to each
            violation as ``role`` (``None`` when unknown or when no one spoke).
        started_ms: when the session started, on the transcript's clock: each violation
            gets ``offset_ms`` from it and silences are written as offsets
            (``offset_from_start``), which is what the record shows (00:15, not a date).
    """
    steps = [
        {
            "level1": row.level1,
            "level2": row.level2,
            "status": StepStatus.of(executed=row.executed, required=row.required).value,
            "script": "、".join(row.scripts),
            **(
                {
                    "time_ms": row.time_ms,
                    "offset_ms": (
                        None if row.time_ms is None else offset_from_start(row.time_ms, started_ms)
                    ),
                    "speaker": row.speaker,
                    "role": role_of(row.speaker) if role_of and row.speaker else None,
                    "text": row.text,
                }
                if row.executed
                else {}
            ),
        }
        for row in summary.execution
    ]
    qa = summary.qa
    report = {
        "score": qa.score,
        "passed": qa.passed,
        "deductions": qa.deductions,
        "violations": [
            {
                **attrs.asdict(v),
                "role": role_of(v.speaker) if role_of and v.speaker else None,
                "offset_ms": offset_from_start(v.time_ms, started_ms),
            }
            for v in qa.violations
        ],
        "missing_mandatory": list(qa.missing_mandatory),
        "speech_rate_cpm": qa.speech_rate_cpm,
        "silences": [
            [offset_from_start(a, started_ms), offset_from_start(b, started_ms)]
            for a, b in qa.silences
        ],
    }
    return steps, report


@attrs.define(eq=False)
class _Live:
    """One session's assistant and what the service keeps around it."""

    assist: SessionAssist
    #: Inputs stored so far (the last ``seq`` of ``sop_assist_inputs``).
    seq: int = 0
    #: Shared documents of the board: document id → (material id, is a video).
    documents: dict[str, tuple[str, bool]] = attrs.field(factory=dict)
    watcher: anyio.CancelScope | None = None
    feeding: bool = False
    sources: int = 0
    #: The room's speech while it is being recognised, and when that has drained.
    speech: RoomSpeech | None = None
    heard: anyio.Event = attrs.field(factory=anyio.Event)
    #: Someone was recognised speaking: a scripted conversation gives way to real speech.
    spoke: bool = False


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
        self._sessions: dict[str, _Live] = {}
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
        """Watch started sessions (shares, room end) and feed scripted transcripts.

        Run it in the host's task group; without it the assistant follows only what the
        host's page says. It first restores every session whose assistant was started
        before the host process restarted: a room still live is watched again, a room
        that ended meanwhile gets its SOP record written.
        """
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            try:
                for session_id in await self._stored_sessions():
                    try:
                        await self._restore(session_id)
                    except Exception:  # one session's trouble does not stop the others
                        _log.exception(
                            "the SOP assistant of session %s was not restored", session_id
                        )
                task_status.started()
                await anyio.sleep_forever()
            finally:
                self._tasks = None

    async def _restore(self, session_id: str) -> None:
        """Bring back a session's assistant from its stored inputs: watched again while
        its room is live, its record written when the room ended meanwhile."""
        async with self._lock(session_id):
            if session_id in self._sessions:
                return
            live = await self._load(session_id)
            if live is None:
                return
            ended = await self._room_ended(session_id)
            self._sessions[session_id] = live
            if not ended:
                await self._resume(session_id, live, follow_board=True)
                return
        with contextlib.suppress(InvalidInput):  # finished meanwhile
            await self._finish_and_announce(session_id)

    # ---- the signaling area -------------------------------------------------------------

    async def handle(self, seat: Seat, message: ClientMessage) -> list[ServerMessage]:
        """The ``AreaHandler`` of ``sop`` messages."""
        try:
            if seat.role is not ParticipantRole.HOST or seat.principal is None:
                raise PermissionDenied("only the session's host drives the SOP assistant")
            if message.type == "sop.start":
                template_id = message.data.get("template_id") or None
                if template_id is not None and (
                    not isinstance(template_id, str) or len(template_id) > _MAX_ID_CHARS
                ):
                    raise InvalidInput("template_id must be a template id")
                progress = await self.start(seat.principal, seat.session_id, template_id)
                return [ServerMessage("sop.checklist", progress, re=message.id)]
            if seat.session_id not in self._sessions:
                raise InvalidInput("send sop.start first")
            data = message.data
            if message.type == "sop.page":
                page = data.get("page")
                if page is not None and (type(page) is not int or not 1 <= page <= 10_000):
                    raise InvalidInput("page must be a page number 1..10000")
                material = data.get("material_id") or None
                if material is not None and (
                    not isinstance(material, str) or len(material) > _MAX_ID_CHARS
                ):
                    raise InvalidInput("material_id must be a material id")
                await self.show(seat.session_id, material, page)
            elif message.type == "sop.segment":
                segment, role = _segment(data)
                await self.receive(seat.session_id, segment, role=role)
            elif message.type == "sop.finish":
                steps, report = await self.finish(seat.session_id)
                return [ServerMessage("sop.summary", {"steps": steps, "qa": report}, re=message.id)]
            else:
                raise InvalidInput(f"unknown message {message.type!r}")
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
        loaded: _Live | None = None
        async with self._lock(session_id):
            if not await self._room_ended(session_id):
                return await self._start(actor, session_id, template_id)
            if session_id not in self._sessions:
                # Started before a restart, ended while the host was down.
                loaded = await self._load(session_id)
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
            live = await self._load(session_id)
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
            live = _Live(SessionAssist())
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
        if role is not None and role not in _ROLES:
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
        roles = dict(roles or {})
        for role in roles.values():
            if role not in _ROLES:
                raise InvalidInput(f"role must be salesperson or customer, got {role!r}")
        # Utterance ids are unique within a source; another source may reuse them.
        live.sources += 1
        prefix = f"src{live.sources}:"
        async for segment in source.segments():
            if self._sessions.get(session_id) is not live:
                return  # finished meanwhile
            utterance = prefix + segment.utterance
            await self.receive(
                session_id,
                attrs.evolve(segment, utterance=utterance),
                role=roles.get(segment.speaker),
            )

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
            if live.watcher is not None:
                live.watcher.cancel()
            roles = live.assist.roles
            steps, report = summary_json(
                live.assist.assistant.summary(),
                role_of=lambda s: roles.get(s) or (s if s in _ROLES else None),
                started_ms=await self._started_ms(session_id),
            )
            values = {
                "steps": json.dumps(steps, ensure_ascii=False),
                "qa": json.dumps(report, ensure_ascii=False),
                "qa_score": report["score"],
                "qa_passed": report["passed"],
                "written_ms": self._now_ms(),
            }
            async with self._platform.database.begin() as conn:
                table = sop_session_reports
                await conn.execute(table.delete().where(table.c.session_id == session_id))
                await conn.execute(table.insert().values(session_id=session_id, **values))
                # The record holds the outcome now: the inputs are not replayed again.
                inputs = sop_assist_inputs
                await conn.execute(inputs.delete().where(inputs.c.session_id == session_id))
            del self._sessions[session_id]
        self._locks.pop(session_id, None)
        return steps, report

    # ---- internals -------------------------------------------------------------------------

    def _live(self, session_id: str) -> _Live:
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

    async def _input(self, session_id: str, live: _Live, entry: AssistInput) -> list[AssistEvent]:
        """Store ``entry`` as the session's next input, then apply it (the lock is held).

        Storing first: an input the database refused never reached the assistant, so
        what is replayed after a restart is exactly what was applied.
        """
        kind, data = input_json(entry)
        async with self._platform.database.begin() as conn:
            await conn.execute(
                sop_assist_inputs.insert().values(
                    session_id=session_id,
                    seq=live.seq + 1,
                    kind=kind,
                    data=json.dumps(data, ensure_ascii=False),
                    at_ms=self._now_ms(),
                )
            )
        live.seq += 1
        return live.assist.apply(entry)

    async def _stored_sessions(self) -> list[str]:
        """Sessions with stored inputs: assistants started and not finished."""
        table = sop_assist_inputs
        async with self._platform.database.connect() as conn:
            rows = await conn.execute(
                sa.select(table.c.session_id).distinct().order_by(table.c.session_id)
            )
            return [r.session_id for r in rows]

    async def _load(self, session_id: str) -> _Live | None:
        """The session's assistant replayed from its stored inputs (``None``: none stored,
        or they cannot be read: logged and left as they are)."""
        table = sop_assist_inputs
        async with self._platform.database.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(table.c.seq, table.c.kind, table.c.data)
                    .where(table.c.session_id == session_id)
                    .order_by(table.c.seq)
                )
            ).all()
        if not rows:
            return None
        try:
            entries = [input_from_json(r.kind, json.loads(r.data)) for r in rows]
            assist = SessionAssist.replay(entries)
        except (InvalidInput, ValueError) as exc:
            _log.error("the SOP inputs of session %s cannot be replayed: %s", session_id, exc)
            return None
        live = _Live(assist, seq=int(rows[-1].seq))
        # New sources number their utterances after the ones heard before the restart.
        for entry in entries:
            if isinstance(entry, SegmentHeard):
                found = re.match(r"(?:src|room)(\d+):", entry.segment.utterance)
                if found:
                    live.sources = max(live.sources, int(found.group(1)))
        return live

    async def _resume(self, session_id: str, live: _Live, *, follow_board: bool) -> None:
        """Watch the session's board and room, and hear its audio (the lock is held).

        ``follow_board``: a restored assistant moves to what the board shows only when
        that differs from what it was last shown; a new one always does.
        """
        if self._tasks is None:
            return
        shown = await self._tasks.start(self._watch, session_id, live)
        if shown is not None and (not follow_board or shown != live.assist.assistant.shown):
            # What is on screen comes with the checklist: these events are not published.
            entry = ScreenShown(shown[0], shown[1], self._now_ms())
            await self._input(session_id, live, entry)
        recogniser = self.config.recogniser
        if recogniser is not None and self._audio is not None:
            words = _hotwords(live.assist.flows, live.assist.scripts)
            live.speech = RoomSpeech(await anyio.to_thread.run_sync(recogniser, words))
            self._tasks.start_soon(self._hear, session_id, live, live.speech)

    async def _publish(self, session_id: str, events: Sequence[AssistEvent]) -> None:
        channel = staff_channel(session_id)
        for event in events:
            await self._bus.publish(channel, _event(event))

    async def _finish_and_announce(self, session_id: str) -> None:
        steps, report = await self.finish(session_id)
        await self._bus.publish(
            staff_channel(session_id),
            ServerMessage("sop.summary", {"steps": steps, "qa": report}),
        )

    async def _watch(
        self,
        session_id: str,
        live: _Live,
        *,
        task_status: TaskStatus[tuple[str | None, int | None] | None],
    ) -> None:
        """Follow the board and the room's end; starts with what the board shows now."""
        with anyio.CancelScope() as scope:
            live.watcher = scope
            async with self._bus.subscribe(session_id) as messages:
                seen = 0
                shown: tuple[str | None, int | None] | None = None
                if self._whiteboards is not None:
                    view = await self._whiteboards.snapshot(session_id)
                    seen = view.seq
                    for document in view.documents.values():
                        if document.source:
                            live.documents[document.id] = (
                                document.source,
                                document.kind.value == "video",
                            )
                    if view.current is not None and view.current in live.documents:
                        material, video = live.documents[view.current]
                        shown = (material, None if video else view.pages.get(view.current, 1))
                task_status.started(shown)
                # A room that ended before the subscription took effect sends nothing more.
                if await self._room_ended(session_id):
                    live.watcher = None  # finishing must not cancel this very task
                    with contextlib.suppress(InvalidInput):
                        await self._finish_and_announce(session_id)
                    return
                async for message in messages:
                    if self._sessions.get(session_id) is not live:
                        return
                    if message.type == "room.ended":
                        live.watcher = None  # finishing must not cancel this very task
                        with contextlib.suppress(InvalidInput):  # finished meanwhile
                            await self._finish_and_announce(session_id)
                        return
                    if message.type == "whiteboard.applied" and message.data.get("seq", 0) > seen:
                        await self._follow_board(session_id, live, message.data)

    async def _follow_board(self, session_id: str, live: _Live, data: dict[str, Any]) -> None:
        async with self._lock(session_id):
            if self._sessions.get(session_id) is not live:
                return
            for effect in data.get("effects", []):
                kind = effect.get("kind")
                shown: tuple[str | None, int | None] | None = None
                if kind == "document_shared":
                    document = effect["document"]
                    if not document.get("source"):
                        shown = (None, None)
                    else:
                        video = document["kind"] == "video"
                        live.documents[document["id"]] = (document["source"], video)
                        shown = (document["source"], None if video else int(effect.get("page", 1)))
                        script = self.config.scripted.get(document.get("name", ""))
                        if (
                            script is not None
                            and not live.feeding
                            and not live.spoke
                            and self._tasks is not None
                        ):
                            live.feeding = True
                            self._tasks.start_soon(self._feed, session_id, live, script)
                elif kind == "page_turned":
                    document_shown = live.documents.get(effect["document"])
                    if document_shown is not None:
                        shown = (document_shown[0], int(effect["page"]))
                elif kind == "document_closed":
                    shown = (None, None)
                if shown is not None:
                    entry = ScreenShown(shown[0], shown[1], self._now_ms())
                    await self._publish(session_id, await self._input(session_id, live, entry))

    async def _hear(self, session_id: str, live: _Live, speech: RoomSpeech) -> None:
        """Recognise the room's audio for as long as the session's assistant lives."""
        if self._audio is None:
            return
        # The recogniser numbers utterances from the start again after a restart.
        live.sources += 1
        prefix = f"room{live.sources}:"
        stop_tap = self._audio.tap_audio(session_id, speech.push)
        try:
            async for segment in speech.segments():
                if self._sessions.get(session_id) is not live:
                    return
                live.spoke = True
                role = await self._role_of(session_id, segment.speaker)
                utterance = f"{prefix}{segment.utterance}"
                await self.receive(
                    session_id, attrs.evolve(segment, utterance=utterance), role=role
                )
        finally:
            stop_tap()
            speech.close()
            live.heard.set()

    async def _role_of(self, session_id: str, participant: str) -> str | None:
        if self._rooms is None:
            return None
        found = (await self._rooms.room(session_id)).participants.get(participant)
        if found is None:
            return None
        return "salesperson" if found.role is ParticipantRole.HOST else "customer"

    async def _feed(self, session_id: str, live: _Live, script: ScriptedTranscript) -> None:
        schedule = TranscriptSchedule(script, self._now_ms())
        live.sources += 1
        prefix = f"src{live.sources}:"
        try:
            while not schedule.done and self._sessions.get(session_id) is live and not live.spoke:
                await anyio.sleep(self.config.tick_s)
                for segment in schedule.due(self._now_ms()):
                    if self._sessions.get(session_id) is not live or live.spoke:
                        return
                    utterance = f"{prefix}{segment.utterance}"
                    await self.receive(session_id, attrs.evolve(segment, utterance=utterance))
        finally:
            live.feeding = False


_MAX_SEGMENT_CHARS = 2000
#: How long the end of a session waits for the last speech to be recognised.
_DRAIN_S = 10.0


def _hotwords(flows: Sequence[Flow], scripts: Sequence[Script]) -> list[str]:
    """The phrases a recogniser should favour: every node's key phrases and every
    script's keywords, each once."""
    words: dict[str, None] = {}

    def visit(nodes: Sequence[FlowNode]) -> None:
        for node in nodes:
            words.update(dict.fromkeys(node.key_phrases))
            visit(node.children)

    for flow in flows:
        visit(flow.nodes)
    for script in scripts:
        words.update(dict.fromkeys(script.keywords))
    return list(words)


_MAX_ID_CHARS = 64
_MAX_MS = 10**15


def _segment(data: dict[str, Any]) -> tuple[TranscriptSegment, str | None]:
    """A ``sop.segment``'s data checked field by field (every bad one listed)."""
    problems: list[str] = []
    texts: dict[str, str] = {}
    for name, limit in (
        ("utterance", _MAX_ID_CHARS),
        ("speaker", _MAX_ID_CHARS),
        ("text", _MAX_SEGMENT_CHARS),
    ):
        value = data.get(name)
        if not isinstance(value, str) or not value or len(value) > limit:
            problems.append(f"{name} must be text of 1..{limit} characters")
        else:
            texts[name] = value
    times: dict[str, int] = {}
    for name in ("start_ms", "end_ms"):
        value = data.get(name)
        if type(value) is not int or not 0 <= value <= _MAX_MS:
            problems.append(f"{name} must be a whole number of milliseconds >= 0")
        else:
            times[name] = value
    if len(times) == 2 and times["end_ms"] < times["start_ms"]:
        problems.append("end_ms must not be before start_ms")
    final = data.get("final", True)
    if not isinstance(final, bool):
        problems.append("final must be true or false")
    role = data.get("role")
    if role is not None and role not in _ROLES:
        problems.append("role must be salesperson or customer")
    if problems:
        raise InvalidInput("sop.segment: " + "; ".join(problems))
    segment = TranscriptSegment(
        texts["utterance"],
        texts["text"],
        times["start_ms"],
        times["end_ms"],
        texts["speaker"],
        final=final,
    )
    return segment, role
