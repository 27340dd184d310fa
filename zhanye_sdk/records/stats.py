"""监控统计: session figures per period for company and org admins (SPEC C8).

Every figure is an SQL aggregate grouped by (bucket, organization or salesperson);
the few partial sums come back to Python only to be added up into the bucket,
group and period totals. Buckets are days, weeks (Monday first) or months in the
organization's time zone: their limits are computed here (daylight saving included)
and the SQL sorts each session into one with a ``CASE`` over ``created_ms``, which the
``(company_id|org_id, created_ms)`` indexes serve on SQLite and PostgreSQL alike.

Scope: a company admin sees their company (and may narrow to one of its
organizations: the drill-down, by salesperson); an org admin sees their organization
only; a salesperson is refused. An organization outside the scope is reported like a
missing one.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from zhanye_sdk.errors import InvalidInput, PermissionDenied
from zhanye_sdk.facade import Platform
from zhanye_sdk.platform.permissions import NotAccessible, Operation, require
from zhanye_sdk.platform.roles import Principal, Role
from zhanye_sdk.rooms.core import ParticipantRole
from zhanye_sdk.store.schema import (
    organizations,
    session_media,
    session_participants,
    sessions,
    sop_session_reports,
)

__all__ = [
    "Bucket",
    "BucketFigures",
    "Figures",
    "GroupFigures",
    "Stats",
    "StatsService",
    "ViolationCount",
    "bucket_starts",
]

#: At most this many buckets in one answer (a year and a month of days).
MAX_BUCKETS = 400
#: How many of the most frequent violations are listed.
TOP_VIOLATIONS = 10


class Bucket(StrEnum):
    """How the period is cut: calendar days, weeks starting Monday, or months."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@attrs.frozen
class Figures:
    """The figures of a set of sessions (a bucket, a group, or the whole period)."""

    sessions: int = 0
    #: Ended sessions with a start: the ones whose duration is known.
    timed_sessions: int = 0
    duration_ms_total: int = 0
    #: Customers who came into a session (each participant once).
    customers: int = 0
    #: Sessions with a finished video recording.
    video_sessions: int = 0
    evaluations: int = 0
    #: How many evaluations gave 1, 2, 3, 4, 5 stars.
    evaluation_counts: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    qa_reports: int = 0
    qa_score_total: int = 0

    @property
    def duration_ms_average(self) -> float | None:
        """Average duration of the timed sessions; None without any."""
        return self.duration_ms_total / self.timed_sessions if self.timed_sessions else None

    @property
    def video_share(self) -> float | None:
        """Share (0–1) of sessions with a video recording; None without sessions."""
        return self.video_sessions / self.sessions if self.sessions else None

    @property
    def evaluation_average(self) -> float | None:
        """Average star rating; None without evaluations."""
        if not self.evaluations:
            return None
        return sum((i + 1) * n for i, n in enumerate(self.evaluation_counts)) / self.evaluations

    @property
    def qa_average(self) -> float | None:
        """Average QA score (0–100); None without QA reports."""
        return self.qa_score_total / self.qa_reports if self.qa_reports else None

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            sessions=self.sessions + other.sessions,
            timed_sessions=self.timed_sessions + other.timed_sessions,
            duration_ms_total=self.duration_ms_total + other.duration_ms_total,
            customers=self.customers + other.customers,
            video_sessions=self.video_sessions + other.video_sessions,
            evaluations=self.evaluations + other.evaluations,
            evaluation_counts=tuple(  # type: ignore[arg-type]
                a + b for a, b in zip(self.evaluation_counts, other.evaluation_counts, strict=True)
            ),
            qa_reports=self.qa_reports + other.qa_reports,
            qa_score_total=self.qa_score_total + other.qa_score_total,
        )


@attrs.frozen
class BucketFigures:
    """One bucket: its first day (local) and its figures."""

    start: date
    figures: Figures


@attrs.frozen
class GroupFigures:
    """One organization (company view) or salesperson (organization view)."""

    id: str
    name: str
    figures: Figures


@attrs.frozen
class ViolationCount:
    """A QA rule broken in the period, and how often."""

    rule_name: str
    kind: str
    count: int


@attrs.frozen
class Stats:
    """监控统计 for one period: totals, per bucket, per group, top violations."""

    start: date
    end: date
    bucket: Bucket
    timezone: str
    #: The organization drilled into; None: the whole company.
    org_id: str | None
    #: ``"org"`` (groups are organizations) or ``"host"`` (salespeople).
    group_kind: str
    total: Figures
    buckets: list[BucketFigures]
    groups: list[GroupFigures]
    violations: list[ViolationCount]


def bucket_starts(start: date, end: date, bucket: Bucket) -> list[date]:
    """The local first days of the buckets covering [start, end), the first clipped to start.

    Raises:
        InvalidInput: end not after start, or more than ``MAX_BUCKETS`` buckets.
    """
    if end <= start:
        raise InvalidInput("the period must end after it starts", zh="统计结束日期须晚于开始日期")
    days: list[date] = [start]
    while True:
        last = days[-1]
        if bucket is Bucket.DAY:
            nxt = last + timedelta(days=1)
        elif bucket is Bucket.WEEK:
            nxt = last + timedelta(days=7 - last.weekday())
        else:
            nxt = date(last.year + last.month // 12, last.month % 12 + 1, 1)
        if nxt >= end:
            return days
        days.append(nxt)
        if len(days) > MAX_BUCKETS:
            raise InvalidInput(
                f"at most {MAX_BUCKETS} buckets: choose a shorter period or a larger bucket",
                zh=f"最多统计 {MAX_BUCKETS} 个时间段，请缩短统计周期或按周、按月统计",
            )


def _ms(day: date, zone: ZoneInfo) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp() * 1000)


_P = session_participants
_Key = tuple[int, str]


class StatsService:
    """监控统计 as company and org admins may see it."""

    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        self._db = platform.database

    async def _scope(self, actor: Principal, org_id: str | None) -> tuple[list[Any], str | None]:
        require(actor, Operation.MONITORING_VIEW)
        where: list[Any] = []
        if actor.role is Role.ORG_ADMIN:
            if actor.org_id is None or actor.company_id is None:
                raise PermissionDenied("no organization", zh="账号未归属机构")
            if org_id is not None and org_id != actor.org_id:
                raise NotAccessible("organization", org_id)
            org_id = actor.org_id
        if actor.role is not Role.SUPER_ADMIN:
            if actor.company_id is None:
                raise PermissionDenied("no company", zh="账号未归属公司")
            where.append(sessions.c.company_id == actor.company_id)
        if org_id is not None:
            if not isinstance(org_id, str) or not 0 < len(org_id) <= 32:
                raise NotAccessible("organization", str(org_id))
            async with self._db.connect() as conn:
                company = (
                    await conn.execute(
                        sa.select(organizations.c.company_id).where(organizations.c.id == org_id)
                    )
                ).scalar()
            if company is None or (actor.company_id is not None and company != actor.company_id):
                raise NotAccessible("organization", org_id)
            where.append(sessions.c.org_id == org_id)
        return where, org_id

    async def stats(
        self,
        actor: Principal,
        start: date,
        end: date,
        bucket: Bucket | str = Bucket.DAY,
        *,
        org_id: str | None = None,
        timezone: str | None = None,
    ) -> Stats:
        """The figures of the sessions created in [start, end) (local days in ``timezone``,
        by default the actor's organization's), per ``bucket`` and per organization — or,
        with ``org_id`` (an org admin always), per salesperson of that organization.

        Raises:
            PermissionDenied: the actor is a salesperson.
            NotAccessible: ``org_id`` is not an organization the actor may see.
            InvalidInput: bad period, bucket or time zone.
        """
        try:
            bucket = Bucket(bucket)
        except ValueError:
            raise InvalidInput(
                f"bucket must be day, week or month, got {bucket!r}",
                zh="统计粒度须为按日、按周或按月",
            ) from None
        scope, org_id = await self._scope(actor, org_id)
        zone_name = timezone or await self._platform.organizations.timezone_of(actor)
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"unknown time zone {zone_name!r}", zh="时区无效") from None
        starts = bucket_starts(start, end, bucket)
        limits = [_ms(d, zone) for d in starts] + [_ms(end, zone)]
        created = sessions.c.created_ms
        where = [*scope, created >= limits[0], created < limits[-1]]
        index: Any = (
            sa.case(
                *((created < lim, i) for i, lim in enumerate(limits[1:-1])), else_=len(starts) - 1
            )
            if len(starts) > 1
            else sa.literal(0)
        )
        by_host = org_id is not None
        group = sessions.c.host_account_id if by_host else sessions.c.org_id
        index = index.label("b")
        key = group.label("g")
        parts: dict[_Key, Figures] = {}

        def add(b: Any, g: Any, figures: Figures) -> None:
            k = (int(b), str(g))
            parts[k] = parts.get(k, Figures()) + figures

        def whole(value: Any) -> int:
            return int(value or 0)

        timed = sa.and_(sessions.c.started_ms.is_not(None), sessions.c.ended_ms.is_not(None))
        ready = session_media.c.recording_status == "ready"
        r = sop_session_reports
        # One pass over the period's sessions: media and QA report are one row each (or none).
        session_q = (
            sa.select(
                index,
                key,
                sa.func.count(),
                sa.func.sum(sa.case((timed, 1), else_=0)),
                sa.func.sum(sa.case((timed, sessions.c.ended_ms - sessions.c.started_ms), else_=0)),
                sa.func.sum(sa.case((ready, 1), else_=0)),
                sa.func.count(r.c.qa_score),
                sa.func.sum(r.c.qa_score),
                # A salesperson's name as their sessions carry it (an org's comes from below).
                sa.func.max(sessions.c.host_name) if by_host else sa.null(),
            )
            .select_from(
                sessions.outerjoin(
                    session_media, session_media.c.session_id == sessions.c.id
                ).outerjoin(r, r.c.session_id == sessions.c.id)
            )
            .where(*where)
            .group_by(index, key)
        )
        customer = sa.and_(
            _P.c.role == ParticipantRole.CUSTOMER.value, _P.c.first_joined_ms.is_not(None)
        )
        people_q = (
            sa.select(
                index,
                key,
                sa.func.sum(sa.case((customer, 1), else_=0)),
                *(sa.func.sum(sa.case((_P.c.score == k, 1), else_=0)) for k in range(1, 6)),
            )
            .select_from(sessions.join(_P, _P.c.session_id == sessions.c.id))
            .where(*where)
            .group_by(index, key)
        )
        # Violations live inside each report's JSON: the database unnests and counts them.
        if self._db.dialect == "postgresql":
            items: Any = (
                sa.func.jsonb_array_elements(sa.cast(r.c.qa, JSONB)["violations"])
                .table_valued("value")
                .alias("v")
            )
            rule = items.c.value.op("->>")("rule_name")
            kind = items.c.value.op("->>")("kind")
        else:
            items = sa.func.json_each(r.c.qa, "$.violations").table_valued("value").alias("v")
            rule = sa.func.json_extract(items.c.value, "$.rule_name")
            kind = sa.func.json_extract(items.c.value, "$.kind")
        times = sa.func.count().label("n")
        violations_q = (
            sa.select(rule.label("rule"), kind.label("kind"), times)
            .select_from(sessions.join(r, r.c.session_id == sessions.c.id).join(items, sa.true()))
            .where(*where)
            .group_by(rule, kind)
            .order_by(times.desc(), rule, kind)
            .limit(TOP_VIOLATIONS)
        )
        async with self._db.connect() as conn:
            names: dict[str, str] = {}
            for b, g, n, t, d, v, qa_n, qa_total, name in await conn.execute(session_q):
                add(
                    b,
                    g,
                    Figures(
                        sessions=int(n),
                        timed_sessions=whole(t),
                        duration_ms_total=whole(d),
                        video_sessions=whole(v),
                        qa_reports=int(qa_n),
                        qa_score_total=whole(qa_total),
                    ),
                )
                if name is not None:
                    names[str(g)] = str(name)
            if not by_host and parts:
                org_ids = sorted({g for _, g in parts})
                found = await conn.execute(
                    sa.select(organizations.c.id, organizations.c.name).where(
                        organizations.c.id.in_(org_ids)
                    )
                )
                names = {str(i): str(n) for i, n in found}
            for b, g, c, *scores in await conn.execute(people_q):
                one, two, three, four, five = (whole(s) for s in scores)
                counts = (one, two, three, four, five)
                add(
                    b,
                    g,
                    Figures(customers=whole(c), evaluations=sum(counts), evaluation_counts=counts),
                )
            violations = [
                ViolationCount(str(name or ""), str(k or ""), int(n))
                for name, k, n in await conn.execute(violations_q)
            ]
        per_bucket = [Figures() for _ in starts]
        per_group: dict[str, Figures] = {}
        for (b, g), figures in parts.items():
            per_bucket[b] += figures
            per_group[g] = per_group.get(g, Figures()) + figures
        total = sum(per_bucket, Figures())
        groups = sorted(
            (GroupFigures(g, names.get(g, g), f) for g, f in per_group.items()),
            key=lambda x: (-x.figures.sessions, x.name, x.id),
        )
        return Stats(
            start=start,
            end=end,
            bucket=bucket,
            timezone=zone_name,
            org_id=org_id,
            group_kind="host" if by_host else "org",
            total=total,
            buckets=[BucketFigures(d, f) for d, f in zip(starts, per_bucket, strict=True)],
            groups=groups,
            violations=violations,
        )
