"""The records list as SQL: the actor's scope, the search panel, the list's columns.

Visibility is decided here, in the query, never by filtering loaded rows: it mirrors
``RoomService.visible`` (own sessions; an org admin's organization; a company admin's
company; everything for the platform's super admin).
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from zhanye_sdk.clock import from_ms, to_ms
from zhanye_sdk.media.monitor import session_quality
from zhanye_sdk.platform.roles import Principal, Role
from zhanye_sdk.records.models import (
    EvaluationFilter,
    InsuredFilter,
    RecordFilter,
    RecordSummary,
    VideoFilter,
)
from zhanye_sdk.rooms.core import ParticipantRole, RoomState
from zhanye_sdk.store.schema import (
    accounts,
    cobrowse_shares,
    organizations,
    session_media,
    session_participants,
    sessions,
    sop_session_reports,
)

__all__ = [
    "after",
    "count_query",
    "filter_clauses",
    "record_query",
    "scope_clause",
    "summary_from_row",
]

_p = session_participants
_joined = _p.c.first_joined_ms.is_not(None)


def _count(*conditions: Any) -> Any:
    return (
        sa.select(sa.func.count())
        .select_from(_p)
        .where(_p.c.session_id == sessions.c.id, *conditions)
        .scalar_subquery()
    )


PARTICIPANT_COUNT = _count(_joined)
CUSTOMER_COUNT = _count(_joined, _p.c.role == ParticipantRole.CUSTOMER.value)
EVALUATION_COUNT = _count(_p.c.score.is_not(None))
AVERAGE_SCORE = (
    sa.select(sa.func.avg(_p.c.score))
    .where(_p.c.session_id == sessions.c.id, _p.c.score.is_not(None))
    .scalar_subquery()
)


#: 视频使用: the session has a finished video recording (as the statistics count it).
VIDEO_USED = (
    sa.exists()
    .where(session_media.c.session_id == sessions.c.id)
    .where(session_media.c.recording_status == "ready")
)


def scope_clause(actor: Principal) -> Any:
    """The sessions ``actor`` may see, as a WHERE clause (``RoomService.visible``)."""
    own = sessions.c.host_account_id == actor.account_id
    if actor.role is Role.SUPER_ADMIN:
        return sa.true()
    if actor.role is Role.COMPANY_ADMIN and actor.company_id is not None:
        return sa.or_(own, sessions.c.company_id == actor.company_id)
    if actor.role is Role.ORG_ADMIN and actor.company_id is not None and actor.org_id is not None:
        return sa.or_(
            own,
            sa.and_(sessions.c.company_id == actor.company_id, sessions.c.org_id == actor.org_id),
        )
    return own


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def filter_clauses(filters: RecordFilter) -> list[Any]:
    """The search panel's conditions (``filters`` already checked)."""
    f = filters
    where: list[Any] = []
    if f.created_from is not None:
        where.append(sessions.c.created_ms >= to_ms(f.created_from))
    if f.created_before is not None:
        where.append(sessions.c.created_ms < to_ms(f.created_before))
    if f.org_id is not None:
        where.append(sessions.c.org_id == f.org_id)
    if f.host_account_id is not None:
        where.append(sessions.c.host_account_id == f.host_account_id)
    if f.project is not None:
        where.append(sessions.c.project == f.project)
    if f.participants_min is not None:
        where.append(PARTICIPANT_COUNT >= f.participants_min)
    if f.participants_max is not None:
        where.append(PARTICIPANT_COUNT <= f.participants_max)
    if f.keyword is not None:
        pattern = _like(f.keyword)
        where.append(
            sa.or_(
                sessions.c.meeting_number.ilike(pattern, escape="\\"),
                sessions.c.host_name.ilike(pattern, escape="\\"),
                sessions.c.project.ilike(pattern, escape="\\"),
                sessions.c.title.ilike(pattern, escape="\\"),
                accounts.c.login.ilike(pattern, escape="\\"),
            )
        )
    if f.evaluation is EvaluationFilter.RATED:
        where.append(EVALUATION_COUNT > 0)
    elif f.evaluation is EvaluationFilter.UNRATED:
        where.append(EVALUATION_COUNT == 0)
    if f.score is not None:
        where.append(
            sa.exists().where(_p.c.session_id == sessions.c.id).where(_p.c.score == f.score)
        )
    if f.state is not None:
        where.append(sessions.c.state == f.state.value)
    if f.link_id is not None:
        where.append(
            sa.exists()
            .where(cobrowse_shares.c.session_id == sessions.c.id)
            .where(cobrowse_shares.c.material_id == f.link_id)
        )
    if f.insured is InsuredFilter.YES:
        where.append(sessions.c.insured.is_(True))
    elif f.insured is InsuredFilter.NO:
        where.append(sessions.c.insured.is_(False))
    elif f.insured is InsuredFilter.UNMARKED:
        where.append(sessions.c.insured.is_(None))
    if f.customer_name is not None:
        where.append(
            sa.exists()
            .where(_p.c.session_id == sessions.c.id)
            .where(_p.c.role == ParticipantRole.CUSTOMER.value, _joined)
            .where(_p.c.name.ilike(_like(f.customer_name), escape="\\"))
        )
    if f.video is VideoFilter.USED:
        where.append(VIDEO_USED)
    elif f.video is VideoFilter.UNUSED:
        where.append(~VIDEO_USED)
    return where


def _from() -> Any:
    return sessions.join(organizations, organizations.c.id == sessions.c.org_id).outerjoin(
        accounts, accounts.c.id == sessions.c.host_account_id
    )


def record_query(actor: Principal, filters: RecordFilter) -> Any:
    """SELECT of the list's columns for the actor and filters, newest first."""
    return (
        sa.select(
            sessions.c.id,
            sessions.c.meeting_number,
            sessions.c.state,
            sessions.c.company_id,
            sessions.c.org_id,
            organizations.c.name.label("org_name"),
            sessions.c.project,
            sessions.c.title,
            sessions.c.insured,
            VIDEO_USED.label("video_used"),
            sessions.c.host_account_id,
            sessions.c.host_name,
            accounts.c.login.label("host_login"),
            sessions.c.terminal,
            sessions.c.created_ms,
            sessions.c.started_ms,
            sessions.c.ended_ms,
            sessions.c.end_reason,
            PARTICIPANT_COUNT.label("participant_count"),
            CUSTOMER_COUNT.label("customer_count"),
            EVALUATION_COUNT.label("evaluation_count"),
            AVERAGE_SCORE.label("average_score"),
            sa.select(session_media.c.network_summary)
            .where(session_media.c.session_id == sessions.c.id)
            .scalar_subquery()
            .label("network_summary"),
            sa.select(sop_session_reports.c.qa_score)
            .where(sop_session_reports.c.session_id == sessions.c.id)
            .scalar_subquery()
            .label("qa_score"),
            sa.select(sop_session_reports.c.qa_passed)
            .where(sop_session_reports.c.session_id == sessions.c.id)
            .scalar_subquery()
            .label("qa_passed"),
        )
        .select_from(_from())
        .where(scope_clause(actor), *filter_clauses(filters))
        .order_by(sessions.c.created_ms.desc(), sessions.c.id.desc())
    )


def count_query(actor: Principal, filters: RecordFilter) -> Any:
    """SELECT COUNT(*) of the records matching, for the actor."""
    return (
        sa.select(sa.func.count())
        .select_from(_from())
        .where(scope_clause(actor), *filter_clauses(filters))
    )


def after(created_ms: int, session_id: str) -> Any:
    """Rows after (older than) the given one in the list's order: keyset paging."""
    return sa.or_(
        sessions.c.created_ms < created_ms,
        sa.and_(sessions.c.created_ms == created_ms, sessions.c.id < session_id),
    )


def summary_from_row(row: Any, now_ms: int) -> RecordSummary:
    """A ``RecordSummary`` from a row of ``record_query``; live durations run to ``now_ms``."""
    state = RoomState(row.state)
    duration: int | None = None
    if row.started_ms is not None:
        end = row.ended_ms if row.ended_ms is not None else now_ms
        duration = max(0, int(end) - int(row.started_ms))
    average = row.average_score
    network = getattr(row, "network_summary", None)
    return RecordSummary(
        id=row.id,
        meeting_number=row.meeting_number,
        state=state,
        company_id=row.company_id,
        org_id=row.org_id,
        org_name=row.org_name,
        project=row.project,
        host_account_id=row.host_account_id,
        host_name=row.host_name,
        host_login=row.host_login,
        terminal=row.terminal,
        created_at=from_ms(row.created_ms),
        started_at=from_ms(row.started_ms) if row.started_ms is not None else None,
        ended_at=from_ms(row.ended_ms) if row.ended_ms is not None else None,
        duration_ms=duration,
        end_reason=row.end_reason,
        participant_count=int(row.participant_count),
        customer_count=int(row.customer_count),
        evaluation_count=int(row.evaluation_count),
        average_score=round(float(average), 2) if average is not None else None,
        network_quality=session_quality(json.loads(network)) if network else None,
        qa_score=_optional(getattr(row, "qa_score", None), int),
        qa_passed=_optional(getattr(row, "qa_passed", None), bool),
        title=getattr(row, "title", None),
        insured=_optional(getattr(row, "insured", None), bool),
        video_used=bool(getattr(row, "video_used", False)),
    )


def _optional(value: Any, kind: type[int] | type[bool]) -> Any:
    return None if value is None else kind(value)
