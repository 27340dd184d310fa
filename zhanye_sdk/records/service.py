"""``RecordService``: the session records of manual §4.4 — list, details, export.

Records are read from the sessions the room service persists. Who sees what is the
room service's rule (``RoomService.visible``), applied inside the SQL of every query
(``records.query.scope_clause``); a record outside the actor's scope is reported
exactly like a missing one.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any, BinaryIO

import anyio
import attrs
import sqlalchemy as sa

from zhanye_sdk.clock import from_ms, to_ms
from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.facade import Platform
from zhanye_sdk.platform.permissions import NotAccessible, Operation, require
from zhanye_sdk.platform.roles import Principal
from zhanye_sdk.records.export import ExportFormat, RecordWriter, check_export_options
from zhanye_sdk.records.models import (
    AnnotatedPageRecord,
    AssessmentAnswer,
    AssessmentRecord,
    CustomerEvaluation,
    ParticipantRecord,
    QaReportRecord,
    QaViolationRecord,
    RecordFacets,
    RecordFilter,
    RecordPage,
    RecordSummary,
    SessionRecord,
    SharedMaterialRecord,
    SilenceRecord,
    SopStepRecord,
)
from zhanye_sdk.records.query import (
    after,
    count_query,
    record_query,
    scope_clause,
    summary_from_row,
)
from zhanye_sdk.rooms.core import ParticipantRole, RoomState
from zhanye_sdk.rooms.service import RoomService
from zhanye_sdk.sop.qa import offset_from_start
from zhanye_sdk.store.schema import (
    cobrowse_shares,
    materials,
    organizations,
    session_assessments,
    session_media,
    session_participants,
    sessions,
    sop_session_reports,
)
from zhanye_sdk.whiteboard.core import DocumentKind
from zhanye_sdk.whiteboard.records import BoardRecords

__all__ = [
    "ExportProgress",
    "RecordConfig",
    "RecordService",
    "assessment_text",
    "qa_report_from_json",
]

#: ``progress(done, total)``: rows written so far and rows to write.
ExportProgress = Callable[[int, int], None]


@attrs.frozen
class RecordConfig:
    """Limits of the records list and export."""

    max_page: int = 100
    export_batch: int = 500
    export_max_rows: int = 200_000
    facet_limit: int = 500


def qa_report_from_json(report: dict[str, Any], started_ms: int | None = None) -> QaReportRecord:
    """The stored QA report (``sop.live.summary_json``) as its record type.

    Reports written before violations carried their speaker's role read ``role`` None;
    those written before they carried ``offset_ms`` get it from ``started_ms`` (the
    session's start), as do their silences (``offset_from_start``).
    """
    return QaReportRecord(
        score=int(report["score"]),
        passed=bool(report["passed"]),
        deductions=int(report.get("deductions", 100 - int(report["score"]))),
        violations=[
            QaViolationRecord(
                rule_id=str(v.get("rule_id", "")),
                rule_name=str(v.get("rule_name", "")),
                kind=str(v.get("kind", "")),
                severity=str(v.get("severity", "")),
                deduction=int(v.get("deduction", 0)),
                time_ms=int(v.get("time_ms", 0)),
                offset_ms=int(
                    v["offset_ms"]
                    if "offset_ms" in v
                    else offset_from_start(int(v.get("time_ms", 0)), started_ms)
                ),
                speaker=str(v.get("speaker", "")),
                role=v.get("role"),
                text=str(v.get("text", "")),
                detail=str(v.get("detail", "")),
            )
            for v in report.get("violations", [])
        ],
        missing_mandatory=[str(m) for m in report.get("missing_mandatory", [])],
        speech_rate_cpm={
            str(role): float(rate) for role, rate in report.get("speech_rate_cpm", {}).items()
        },
        silences=[
            SilenceRecord(
                offset_from_start(int(a), started_ms), offset_from_start(int(b), started_ms)
            )
            for a, b in report.get("silences", [])
        ],
    )


def sop_step_from_json(step: dict[str, Any], started_ms: int | None = None) -> SopStepRecord:
    """A stored row of the SOP execution table; rows written before they carried
    ``offset_ms`` get it from ``started_ms`` (``offset_from_start``)."""
    if step.get("time_ms") is not None and step.get("offset_ms") is None:
        step = {**step, "offset_ms": offset_from_start(int(step["time_ms"]), started_ms)}
    return SopStepRecord(**step)


def assessment_text(assessments: list[AssessmentRecord]) -> str:
    """The assessments of a session as one line (the export's 测评结果 cell)."""
    return "；".join(
        f"{a.name}（{a.participant_name}）：" + "，".join(f"{x.label}={x.value}" for x in a.answers)
        for a in assessments
    )


async def _assessments(conn: Any, session_ids: list[str]) -> dict[str, list[AssessmentRecord]]:
    """The submitted assessments of the given sessions, oldest first."""
    found: dict[str, list[AssessmentRecord]] = {}
    if not session_ids:
        return found
    a = session_assessments
    rows = await conn.execute(
        sa.select(a)
        .where(a.c.session_id.in_(session_ids))
        .order_by(a.c.session_id, a.c.submitted_ms, a.c.id)
    )
    for row in rows:
        found.setdefault(row.session_id, []).append(
            AssessmentRecord(
                name=row.name,
                participant_name=row.participant_name,
                submitted_at=from_ms(row.submitted_ms),
                answers=[
                    AssessmentAnswer(str(x["name"]), str(x["label"]), str(x["value"]))
                    for x in json.loads(row.answers)
                ],
                material_id=row.material_id,
            )
        )
    return found


class RecordService:
    """Session records (会话记录) as each role may see them."""

    def __init__(
        self,
        platform: Platform,
        rooms: RoomService,
        config: RecordConfig | None = None,
        *,
        boards: BoardRecords | None = None,
    ) -> None:
        self._db = platform.database
        #: The whiteboard's typed record queries (shared documents, annotated pages).
        self._boards = boards or BoardRecords(platform.database)
        self._clock = platform.clock
        self._rooms = rooms
        self.config = config or RecordConfig()

    def _now_ms(self) -> int:
        return to_ms(self._clock.now())

    async def list(
        self,
        actor: Principal,
        filters: RecordFilter | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> RecordPage:
        """One page of the records the actor may see, newest first.

        Raises:
            InvalidInput: a filter is out of range, or offset/limit are (limit is
                1–``config.max_page``).
        """
        checked = (filters or RecordFilter()).checked()
        if type(offset) is not int or offset < 0:
            raise InvalidInput(
                "offset must be a whole number, 0 or more", zh="起始位置须为不小于 0 的整数"
            )
        if type(limit) is not int or not 1 <= limit <= self.config.max_page:
            raise InvalidInput(
                f"limit must be a whole number from 1 to {self.config.max_page}",
                zh=f"每页条数须为 1–{self.config.max_page} 的整数",
            )
        now = self._now_ms()
        async with self._db.connect() as conn:
            total = (await conn.execute(count_query(actor, checked))).scalar_one()
            rows = await conn.execute(record_query(actor, checked).offset(offset).limit(limit))
            items = [summary_from_row(row, now) for row in rows]
        return RecordPage(items=items, total=int(total), offset=offset, limit=limit)

    async def count(self, actor: Principal, filters: RecordFilter | None = None) -> int:
        """How many records the actor may see match the filters."""
        checked = (filters or RecordFilter()).checked()
        async with self._db.connect() as conn:
            return int((await conn.execute(count_query(actor, checked))).scalar_one())

    async def get(self, actor: Principal, session_id: str) -> SessionRecord:
        """The full record of one session (会议详情).

        Raises:
            NotAccessible: no such session, or not one the actor may see.
        """
        if not isinstance(session_id, str) or not 0 < len(session_id) <= 32:
            raise NotAccessible("session", str(session_id))
        now = self._now_ms()
        query = record_query(actor, RecordFilter()).where(sessions.c.id == session_id)
        p = session_participants
        async with self._db.connect() as conn:
            row = (await conn.execute(query)).first()
            if row is None:
                raise NotAccessible("session", session_id)
            people = (
                await conn.execute(
                    sa.select(p)
                    .where(p.c.session_id == session_id)
                    .where(p.c.first_joined_ms.is_not(None))
                    .order_by(
                        sa.case((p.c.role == ParticipantRole.HOST.value, 0), else_=1),
                        p.c.first_joined_ms,
                        p.c.participant_id,
                    )
                )
            ).all()
            links = (
                await conn.execute(
                    sa.select(
                        cobrowse_shares.c.name,
                        cobrowse_shares.c.url,
                        materials.c.kind,
                        materials.c.id.label("material_id"),
                    )
                    .select_from(
                        cobrowse_shares.outerjoin(
                            materials, materials.c.id == cobrowse_shares.c.material_id
                        )
                    )
                    .where(cobrowse_shares.c.session_id == session_id)
                    .order_by(cobrowse_shares.c.started_ms)
                )
            ).all()
            sop = (
                await conn.execute(
                    sa.select(sop_session_reports).where(
                        sop_session_reports.c.session_id == session_id
                    )
                )
            ).first()
            media = (
                await conn.execute(
                    sa.select(
                        session_media.c.recording_status, session_media.c.network_summary
                    ).where(session_media.c.session_id == session_id)
                )
            ).first()
            outcome = (
                await conn.execute(
                    sa.select(sessions.c.insured_by, sessions.c.insured_ms).where(
                        sessions.c.id == session_id
                    )
                )
            ).one()
            assessments = (await _assessments(conn, [session_id])).get(session_id, [])
        board_documents = await self._boards.shared_documents(session_id)
        annotated = await self._boards.annotated_pages(session_id)
        summary = summary_from_row(row, now)
        started_ms = to_ms(summary.started_at) if summary.started_at is not None else None
        recording_status = media.recording_status if media else None
        shared = [
            SharedMaterialRecord(
                kind=r.kind or "link", name=r.name, content=r.url, material_id=r.material_id
            )
            for r in links
        ]
        # Files, videos and blank boards shared on the whiteboard, once each.
        content_kinds: dict[str, str | None] = {}
        sources = [d.source for d in board_documents if d.source]
        if sources:
            async with self._db.connect() as conn:
                found = await conn.execute(
                    sa.select(materials.c.id, materials.c.content_kind).where(
                        materials.c.id.in_(sources)
                    )
                )
                content_kinds = {r.id: r.content_kind for r in found}
        shared_files = [
            SharedMaterialRecord(
                kind=d.kind.value,
                name=d.name,
                content="",
                content_kind=content_kinds.get(d.source),
                pages=len(d.pages) if d.kind is not DocumentKind.VIDEO else None,
                material_id=d.source or None,
            )
            for d in board_documents
        ]
        durations = {person.participant_id: int(person.duration_ms) for person in people}
        if summary.state is RoomState.LIVE:
            # The stored durations are as of the room's last event; people still in
            # the room keep counting.
            room = await self._rooms.room(session_id)
            for pid, participant in room.participants.items():
                durations[pid] = participant.duration_ms(max(now, room.last_ms))
        participants = [
            ParticipantRecord(
                participant_id=person.participant_id,
                name=person.name,
                role=person.role,
                terminal=person.terminal,
                first_joined_at=from_ms(person.first_joined_ms),
                duration_ms=durations[person.participant_id],
                recording_acknowledged_at=(
                    from_ms(person.recording_ack_ms) if person.recording_ack_ms else None
                ),
            )
            for person in people
        ]
        evaluations = [
            CustomerEvaluation(
                participant_id=person.participant_id,
                name=person.name,
                score=person.score,
                comment=person.comment if person.score is not None else None,
            )
            for person in people
            if person.role == ParticipantRole.CUSTOMER.value
        ]
        return SessionRecord(
            summary=summary,
            participants=participants,
            evaluations=evaluations,
            shared_materials=shared + shared_files,
            shared_file=any(d.kind is not DocumentKind.BLANK for d in board_documents),
            shared_link=bool(shared),
            sop_steps=[sop_step_from_json(step, started_ms) for step in json.loads(sop.steps)]
            if sop
            else [],
            qa_report=(qa_report_from_json(json.loads(sop.qa), started_ms) if sop else None),
            recording_status=recording_status,
            recording_url=(
                f"/sessions/{session_id}/playback" if recording_status == "ready" else None
            ),
            network=json.loads(media.network_summary) if media and media.network_summary else None,
            annotated_pages=[
                AnnotatedPageRecord(
                    document=a.document,
                    name=a.name,
                    page=int(a.page),
                    strokes=int(a.strokes),
                    url=f"/api/sessions/{session_id}/board/record/{a.document}/{a.page}",
                )
                for a in annotated
            ],
            assessments=assessments,
            insured_by=outcome.insured_by,
            insured_at=from_ms(outcome.insured_ms) if outcome.insured_ms is not None else None,
        )

    async def mark_insured(
        self, actor: Principal, session_id: str, insured: bool | None
    ) -> RecordSummary:
        """Mark the outcome 是否投保 of a session (None clears the mark).

        The session's host marks their own sessions; an admin (or an integration's
        account) marks those in their scope, as they see them in the records.

        Raises:
            InvalidInput: ``insured`` is not True, False or None.
            PermissionDenied: the role may not mark outcomes.
            NotAccessible: no such session, or one outside the actor's scope.
        """
        require(actor, Operation.RECORD_MARK_OUTCOME)
        if insured is not None and type(insured) is not bool:
            raise InvalidInput(
                "insured must be true, false or null",
                zh="是否投保须为“已投保”“未投保”或清除标记",
            )
        if not isinstance(session_id, str) or not 0 < len(session_id) <= 32:
            raise NotAccessible("session", str(session_id))
        now = self._now_ms()
        async with self._db.begin() as conn:
            found = (
                await conn.execute(
                    sa.select(sessions.c.id)
                    .select_from(sessions)
                    .where(sessions.c.id == session_id, scope_clause(actor))
                )
            ).first()
            if found is None:
                raise NotAccessible("session", session_id)
            await conn.execute(
                sessions.update()
                .where(sessions.c.id == session_id)
                .values(
                    insured=insured,
                    insured_by=None if insured is None else (actor.login or actor.account_id),
                    insured_ms=None if insured is None else now,
                )
            )
            row = (
                await conn.execute(
                    record_query(actor, RecordFilter()).where(sessions.c.id == session_id)
                )
            ).one()
        return summary_from_row(row, now)

    async def meetings(self, actor: Principal, since: datetime) -> builtins.list[RecordSummary]:
        """The workbench's 展业会议列表: the actor's own sessions that have not ended
        (waiting or live, whenever they were created) and those created at or after
        ``since`` (the start of the actor's day), newest first, at most
        ``config.max_page``.
        """
        if not isinstance(since, datetime) or since.utcoffset() is None:
            raise InvalidInput("since must be an aware time", zh="起始时间须带时区")
        mine = RecordFilter()
        query = (
            record_query(actor, mine)
            .where(sessions.c.host_account_id == actor.account_id)
            .where(
                sa.or_(
                    sessions.c.state != RoomState.ENDED.value,
                    sessions.c.created_ms >= to_ms(since),
                )
            )
            .limit(self.config.max_page)
        )
        now = self._now_ms()
        async with self._db.connect() as conn:
            rows = (await conn.execute(query)).all()
        items = [summary_from_row(row, now) for row in rows]
        # Unfinished first (the one to rejoin), then the day's, newest first.
        return sorted(items, key=lambda r: r.state is RoomState.ENDED)

    async def facets(self, actor: Principal) -> RecordFacets:
        """The organizations, hosts and projects found in the actor's records (search panel)."""
        limit = self.config.facet_limit
        scope = scope_clause(actor)
        async with self._db.connect() as conn:
            orgs = await conn.execute(
                sa.select(organizations.c.id, organizations.c.name)
                .where(organizations.c.id.in_(sa.select(sessions.c.org_id).where(scope).distinct()))
                .order_by(organizations.c.name)
                .limit(limit)
            )
            hosts = await conn.execute(
                sa.select(sessions.c.host_account_id, sa.func.max(sessions.c.host_name))
                .where(scope)
                .group_by(sessions.c.host_account_id)
                .order_by(sa.func.max(sessions.c.host_name))
                .limit(limit)
            )
            projects = await conn.execute(
                sa.select(sessions.c.project)
                .where(scope, sessions.c.project.is_not(None))
                .distinct()
                .order_by(sessions.c.project)
                .limit(limit)
            )
            links = await conn.execute(
                sa.select(cobrowse_shares.c.material_id, sa.func.max(cobrowse_shares.c.name))
                .select_from(
                    cobrowse_shares.join(sessions, sessions.c.id == cobrowse_shares.c.session_id)
                )
                .where(scope, cobrowse_shares.c.material_id.is_not(None))
                .group_by(cobrowse_shares.c.material_id)
                .order_by(sa.func.max(cobrowse_shares.c.name))
                .limit(limit)
            )
            return RecordFacets(
                orgs=[(r[0], r[1]) for r in orgs],
                hosts=[(r[0], r[1]) for r in hosts],
                projects=[r[0] for r in projects],
                links=[(r[0], r[1]) for r in links],
            )

    async def batches(
        self, actor: Principal, filters: RecordFilter | None = None, size: int | None = None
    ) -> AsyncIterator[builtins.list[RecordSummary]]:
        """Every matching record, newest first, ``size`` at a time (keyset paging).

        Each batch is one short query, so a long export holds no transaction open and
        never has more than one batch in memory. Sessions created after the first
        batch was read are not included.
        """
        checked = (filters or RecordFilter()).checked()
        size = size or self.config.export_batch
        now = self._now_ms()
        query = record_query(actor, checked).where(sessions.c.created_ms <= now)
        last: tuple[int, str] | None = None
        while True:
            page = query if last is None else query.where(after(*last))
            async with self._db.connect() as conn:
                rows = (await conn.execute(page.limit(size))).all()
                answers = await _assessments(conn, [row.id for row in rows])
            if not rows:
                return
            yield [
                attrs.evolve(
                    summary_from_row(row, now),
                    assessment_text=assessment_text(answers[row.id]) if row.id in answers else None,
                )
                for row in rows
            ]
            if len(rows) < size:
                return
            last = (int(rows[-1].created_ms), rows[-1].id)

    async def export(
        self,
        actor: Principal,
        filters: RecordFilter | None,
        out: BinaryIO,
        fmt: ExportFormat | str = ExportFormat.CSV,
        *,
        timezone: str = "Asia/Shanghai",
        lang: str = "zh-CN",
        progress: ExportProgress | None = None,
    ) -> int:
        """Write the filtered list to ``out`` as CSV or XLSX; return the number of rows.

        Times are written in ``timezone``, headers in ``lang`` (``zh-CN`` or ``en``).
        ``progress(done, total)`` is called after every batch and ends with
        ``(n, n)``.

        Raises:
            InvalidInput: bad filters, format, time zone or language, or more matches
                than ``config.export_max_rows`` (narrow the filters).
        """
        checked = (filters or RecordFilter()).checked()
        fmt, zone, lang = check_export_options(fmt, timezone, lang)
        total = await self.count(actor, checked)
        if total > self.config.export_max_rows:
            raise InvalidInput(
                f"{total} records match; an export takes at most "
                f"{self.config.export_max_rows}: narrow the filters",
                zh=f"符合条件的记录有 {total} 条，一次最多导出 "
                f"{self.config.export_max_rows} 条，请缩小筛选范围",
            )
        writer = await anyio.to_thread.run_sync(RecordWriter, out, fmt, zone, lang)
        done = 0
        if progress is not None:
            progress(0, total)
        async for batch in self.batches(actor, checked):
            await anyio.to_thread.run_sync(writer.write, batch)
            done += len(batch)
            if progress is not None:
                progress(done, max(total, done))
        await anyio.to_thread.run_sync(writer.finish)
        if progress is not None and done != max(total, done):
            progress(done, done)  # some rows left the filter while exporting
        return done
