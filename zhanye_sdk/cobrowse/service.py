"""``CobrowseService``: co-browse logs of live sessions, over the signaling channel.

Client messages (area ``cobrowse``):

* host: ``cobrowse.share`` {material_id, customer?} — push a link material to a
  customer (推送); ``cobrowse.control`` {to}; ``cobrowse.operate`` {epoch, kind, data}
  — an input on the customer's page while holding control; ``cobrowse.end``.
* customer's agent: ``cobrowse.snapshot`` {share, snapshot}, or the snapshot's JSON
  text in pieces: ``cobrowse.snapshot_chunk`` {share, id, index, total, text} (so a big
  page never blocks the phone in one send); ``cobrowse.event`` {share, kind, data};
  ``cobrowse.control`` {to: self} — take control back; ``cobrowse.submit`` {share,
  answers: [{name, label, value, node?}]} — the customer submitted the shared assessment
  (测评): the answers, less any masked field's, are kept with the session record
  (``session_assessments``), the latest submission of each share.
* anyone in the room: ``cobrowse.resync`` {share, last_seq}.

Limits (``CobrowseLimits``) are per share: a flooding customer is refused
(``rate_limited`` with ``retry_after_s``, or ``invalid_message``) without touching other
rooms or other clients.

Broadcasts to the room: ``cobrowse.started`` (with the share's ``limits`` for the
agent), ``cobrowse.page`` (every accepted page event with its co-browse sequence
number), ``cobrowse.control``, ``cobrowse.operate`` (for the customer's agent to
apply), ``cobrowse.submitted`` {name, answers} (an assessment was submitted: how many
answers were kept), ``cobrowse.ended``. Accepted page events (except pointer moves,
kept only as the live trail) are stored for the session record.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import attrs
import sqlalchemy as sa

from zhanye_sdk.cobrowse.core import CobrowseLimits, CobrowseLog, CobrowseRefused, LoggedEvent
from zhanye_sdk.cobrowse.messages import (
    READERS,
    ControlForm,
    EventForm,
    OperateForm,
    ResyncForm,
    ShareForm,
    SnapshotChunkForm,
    SnapshotForm,
    SubmitForm,
)
from zhanye_sdk.errors import InvalidInput, PermissionDenied, RateLimited
from zhanye_sdk.facade import Platform
from zhanye_sdk.lifecycle import LifecycleEvent, SessionEnded
from zhanye_sdk.materials.models import MaterialKind
from zhanye_sdk.rooms.core import ParticipantRole, RoomState
from zhanye_sdk.rooms.service import RoomService, Seat
from zhanye_sdk.signaling.bus import Bus
from zhanye_sdk.signaling.envelope import ClientMessage, ServerMessage
from zhanye_sdk.store.schema import (
    cobrowse_events,
    cobrowse_shares,
    materials,
    session_assessments,
    sessions,
)

__all__ = ["COBROWSE_STATIC", "CobrowseService"]

#: The agent (``agent.js``, for the shared H5 page) and replayer (``replayer.js``, for the
#: mirror); hosts serve this folder, e.g. at ``/sdk/cobrowse/``.
COBROWSE_STATIC = Path(__file__).resolve().parent / "static"


@attrs.define
class _Share:
    id: str
    session_id: str
    name: str
    log: CobrowseLog
    mask_selectors: tuple[str, ...] = ()
    material_id: str | None = None
    assessment: bool = False


class CobrowseService:
    """Handles ``cobrowse.*`` messages for every room of a ``RoomService``."""

    def __init__(
        self,
        platform: Platform,
        rooms: RoomService,
        bus: Bus,
        limits: CobrowseLimits | None = None,
    ) -> None:
        self._platform = platform
        self._rooms = rooms
        self._bus = bus
        self._limits = limits or CobrowseLimits()
        self._shares: dict[str, _Share] = {}  # by session id: one shared page at a time

    async def handle(self, seat: Seat, message: ClientMessage) -> list[ServerMessage]:
        """Answer one ``cobrowse.*`` message from ``seat`` (the endpoint's area handler)."""
        try:
            form = READERS.read(message)
            if isinstance(form, ShareForm):
                return await self._share(seat, form, message)
            share = self._current(seat, form.share)
            if isinstance(form, SnapshotForm):
                return await self._snapshot(seat, share, form, message)
            if isinstance(form, SnapshotChunkForm):
                return await self._snapshot_chunk(seat, share, form, message)
            if isinstance(form, EventForm):
                return await self._event(seat, share, form, message)
            if isinstance(form, ControlForm):
                lease = share.log.hand_over(seat.participant_id, form.to)
                await self._publish(share, "cobrowse.control", attrs.asdict(lease))
                return [ServerMessage("ack", {}, re=message.id)]
            if isinstance(form, OperateForm):
                forwarded = share.log.operate(seat.participant_id, form.epoch, form.kind, form.data)
                await self._publish(share, "cobrowse.operate", forwarded)
                return [ServerMessage("ack", {}, re=message.id)]
            if isinstance(form, ResyncForm):
                result = share.log.resync(form.last_seq)
                return [
                    ServerMessage(
                        "cobrowse.resync",
                        {
                            "share": share.id,
                            "reset": result.reset,
                            "snapshot": result.snapshot,
                            "snapshot_seq": result.snapshot_seq,
                            "events": [attrs.asdict(e) for e in result.events],
                            "lease": attrs.asdict(share.log.lease),
                        },
                        re=message.id,
                    )
                ]
            if isinstance(form, SubmitForm):
                return await self._submit(seat, share, form, message)
            await self._end(seat, share)
            return [ServerMessage("ack", {}, re=message.id)]
        except (RateLimited, CobrowseRefused) as exc:
            return [ServerMessage.refusal(exc, message.id)]

    def active(self, session_id: str) -> dict[str, Any] | None:
        """The page being shared in a session, for late joiners' welcome."""
        share = self._shares.get(session_id)
        if share is None or share.log.ended:
            return None
        return {
            "share": share.id,
            "url": share.log.url,
            "name": share.name,
            "sharer": share.log.sharer_id,
            "lease": attrs.asdict(share.log.lease),
            "mask_selectors": list(share.mask_selectors),
            "limits": {"max_event_bytes": share.log.limits.max_event_bytes},
        }

    def _current(self, seat: Seat, wanted: str | None) -> _Share:
        share = self._shares.get(seat.session_id)
        if share is None or share.log.ended:
            raise CobrowseRefused("not_sharing", "no page is being shared")
        if wanted is not None and wanted != share.id:
            raise CobrowseRefused("not_sharing", "that shared page has ended")
        return share

    async def _publish(self, share: _Share, kind: str, data: dict[str, Any]) -> None:
        await self._bus.publish(share.session_id, ServerMessage(kind, {"share": share.id, **data}))

    async def _share(
        self, seat: Seat, form: ShareForm, message: ClientMessage
    ) -> list[ServerMessage]:
        if seat.role is not ParticipantRole.HOST or seat.principal is None:
            raise PermissionDenied("only the host pushes a product page")
        material = await self._platform.materials.get(seat.principal, form.material_id)
        if not material.kind.is_page or material.url is None:
            raise InvalidInput("only link materials (H5 pages) are co-browsed")
        room = await self._rooms.room(seat.session_id)
        customers = [p.id for p in room.present if p.role is ParticipantRole.CUSTOMER]
        wanted = form.customer
        sharer = wanted if wanted is not None else (customers[0] if customers else None)
        if sharer is None or sharer not in customers:
            raise InvalidInput("no customer in the room to push the page to")
        previous = self._shares.get(seat.session_id)
        if previous is not None and not previous.log.ended:
            await self._end(seat, previous)
        share = _Share(
            secrets.token_hex(16),
            seat.session_id,
            material.name,
            CobrowseLog(seat.participant_id, sharer, material.url, self._limits),
            material.mask_selectors,
            material.id,
            material.kind is MaterialKind.ASSESSMENT,
        )
        self._shares[seat.session_id] = share
        async with self._platform.database.begin() as conn:
            await conn.execute(
                cobrowse_shares.insert().values(
                    id=share.id,
                    session_id=seat.session_id,
                    material_id=material.id,
                    name=material.name,
                    url=material.url,
                    sharer_id=sharer,
                    started_ms=self._rooms.now_ms(),
                )
            )
        started = self.active(seat.session_id)
        assert started is not None
        await self._publish(share, "cobrowse.started", started)
        return [ServerMessage("ack", {"share": share.id}, re=message.id)]

    async def _store(self, share: _Share, seq: int, kind: str, data: Any, at: int) -> None:
        async with self._platform.database.begin() as conn:
            await conn.execute(
                cobrowse_events.insert().values(
                    share_id=share.id,
                    seq=seq,
                    kind=kind,
                    data=json.dumps(data, ensure_ascii=False),
                    at_ms=at,
                )
            )

    async def _snapshot(
        self, seat: Seat, share: _Share, form: SnapshotForm, message: ClientMessage
    ) -> list[ServerMessage]:
        at = self._rooms.now_ms()
        event = share.log.take_snapshot(seat.participant_id, form.snapshot, at)
        await self._store(share, event.seq, "snapshot", event.data, at)
        await self._publish(share, "cobrowse.page", attrs.asdict(event))
        return [ServerMessage("ack", {"seq": event.seq}, re=message.id)]

    async def _snapshot_chunk(
        self, seat: Seat, share: _Share, form: SnapshotChunkForm, message: ClientMessage
    ) -> list[ServerMessage]:
        event = share.log.snapshot_chunk(
            seat.participant_id,
            form.id,
            form.index,
            form.total,
            form.text,
            self._rooms.now_ms(),
        )
        if event is None:
            return [ServerMessage("ack", {}, re=message.id)]
        await self._store(share, event.seq, "snapshot", event.data, event.at)
        await self._publish(share, "cobrowse.page", attrs.asdict(event))
        return [ServerMessage("ack", {"seq": event.seq}, re=message.id)]

    async def _event(
        self, seat: Seat, share: _Share, form: EventForm, message: ClientMessage
    ) -> list[ServerMessage]:
        at = self._rooms.now_ms()
        event = share.log.record(seat.participant_id, form.kind, form.data, at)
        if event.kind != "pointer":
            await self._store(share, event.seq, event.kind, event.data, at)
        await self._publish(share, "cobrowse.page", attrs.asdict(event))
        return [ServerMessage("ack", {"seq": event.seq}, re=message.id)]

    async def _submit(
        self, seat: Seat, share: _Share, form: SubmitForm, message: ClientMessage
    ) -> list[ServerMessage]:
        answers = share.log.submission(
            seat.participant_id, [attrs.asdict(answer) for answer in form.answers]
        )
        if not share.assessment:
            raise CobrowseRefused(
                "not_assessment",
                "the shared page is not an assessment; nothing is kept",
                zh="当前共享的页面不是测评，答案不会保存",
            )
        at = self._rooms.now_ms()
        async with self._platform.database.begin() as conn:
            await conn.execute(
                session_assessments.delete().where(session_assessments.c.share_id == share.id)
            )
            await conn.execute(
                session_assessments.insert().values(
                    id=secrets.token_hex(16),
                    session_id=share.session_id,
                    share_id=share.id,
                    material_id=share.material_id,
                    name=share.name,
                    participant_id=seat.participant_id,
                    participant_name=seat.name,
                    answers=json.dumps(answers, ensure_ascii=False),
                    submitted_ms=at,
                )
            )
        await self._publish(
            share, "cobrowse.submitted", {"name": share.name, "answers": len(answers)}
        )
        return [ServerMessage("ack", {"answers": len(answers)}, re=message.id)]

    async def _end(self, seat: Seat, share: _Share) -> None:
        if seat.role is not ParticipantRole.HOST:
            raise PermissionDenied("only the host ends sharing")
        await self._close(share)

    async def on_lifecycle(self, event: LifecycleEvent) -> None:
        """A session ended: its shared page ends with it."""
        if isinstance(event, SessionEnded):
            await self._room_ended(event.session_id)

    async def recover(self) -> None:
        """End the shares a stopped process left open: their page cannot go on (what it
        showed lives in that process), and the record shows them ended at their last
        stored event."""
        last_event = (
            sa.select(sa.func.max(cobrowse_events.c.at_ms))
            .where(cobrowse_events.c.share_id == cobrowse_shares.c.id)
            .scalar_subquery()
        )
        stale = (
            sa.update(cobrowse_shares)
            .where(cobrowse_shares.c.ended_ms.is_(None))
            .where(cobrowse_shares.c.id.not_in(list(self._shares)))
            .values(ended_ms=sa.func.coalesce(last_event, cobrowse_shares.c.started_ms))
        )
        if self._rooms.clustered:
            # Another process may be running the room: only ended rooms' shares close
            # here; a live room's share goes on where its room is taken over.
            ended = sa.select(sessions.c.id).where(sessions.c.state == RoomState.ENDED.value)
            stale = stale.where(cobrowse_shares.c.session_id.in_(ended))
        async with self._platform.database.begin() as conn:
            await conn.execute(stale)

    async def recover_room(self, session_id: str) -> None:
        """This process took the room over: the page its customer was sharing goes on
        here, rebuilt from the stored snapshot and events (control back with the
        customer, announced to the room)."""
        async with self._platform.database.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(cobrowse_shares, materials.c.mask_selectors, materials.c.kind)
                    .outerjoin(materials, materials.c.id == cobrowse_shares.c.material_id)
                    .where(cobrowse_shares.c.session_id == session_id)
                    .where(cobrowse_shares.c.ended_ms.is_(None))
                    .order_by(cobrowse_shares.c.started_ms.desc())
                    .limit(1)
                )
            ).first()
            if row is None:
                self._shares.pop(session_id, None)
                return
            rows = await conn.execute(
                sa.select(cobrowse_events)
                .where(cobrowse_events.c.share_id == row.id)
                .order_by(cobrowse_events.c.seq)
            )
            stored = [LoggedEvent(r.seq, r.kind, json.loads(r.data), r.at_ms) for r in rows]
        room = await self._rooms.room(session_id)
        log = CobrowseLog.restored(
            room.host_id, row.sharer_id, row.url, stored, self._rooms.now_ms(), self._limits
        )
        share = _Share(
            row.id,
            session_id,
            row.name,
            log,
            tuple(json.loads(row.mask_selectors)) if row.mask_selectors else (),
            row.material_id,
            row.kind == MaterialKind.ASSESSMENT.value,
        )
        self._shares[session_id] = share
        await self._publish(share, "cobrowse.control", attrs.asdict(log.lease))

    async def _room_ended(self, session_id: str) -> None:
        """The session is over: its shared page ends with it and leaves memory."""
        share = self._shares.pop(session_id, None)
        if share is not None and not share.log.ended:
            await self._close(share)

    async def _close(self, share: _Share) -> None:
        share.log.end()
        async with self._platform.database.begin() as conn:
            await conn.execute(
                sa.update(cobrowse_shares)
                .where(cobrowse_shares.c.id == share.id)
                .values(ended_ms=self._rooms.now_ms())
            )
        await self._publish(share, "cobrowse.ended", {})

    async def stored_log(self, session_id: str) -> list[dict[str, Any]]:
        """Every share of a session with its stored events (for the record and replay)."""
        async with self._platform.database.connect() as conn:
            shares = (
                await conn.execute(
                    sa.select(cobrowse_shares)
                    .where(cobrowse_shares.c.session_id == session_id)
                    .order_by(cobrowse_shares.c.started_ms)
                )
            ).all()
            result = []
            for row in shares:
                events = await conn.execute(
                    sa.select(cobrowse_events)
                    .where(cobrowse_events.c.share_id == row.id)
                    .order_by(cobrowse_events.c.seq)
                )
                result.append(
                    {
                        "share": row.id,
                        "name": row.name,
                        "url": row.url,
                        "started_ms": row.started_ms,
                        "ended_ms": row.ended_ms,
                        "events": [
                            {
                                "seq": e.seq,
                                "kind": e.kind,
                                "data": json.loads(e.data),
                                "at": e.at_ms,
                            }
                            for e in events
                        ],
                    }
                )
            return result
