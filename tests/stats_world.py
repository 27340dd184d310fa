"""A generated set of stored sessions with known figures, for 监控统计.

Sessions are written straight into the tables the room service persists (as it would
have left them after the sessions ended) so a test can place hundreds at chosen local
times; ``expected`` recomputes every figure from the generated plan, row by row.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import sqlalchemy as sa

from zhanye_sdk.store.schema import (
    session_media,
    session_participants,
    sessions,
    sop_session_reports,
)

from .platform_world import World

ZONE = ZoneInfo("Asia/Shanghai")
#: The period the tests ask about: three local days; sessions fall inside and around it.
START, END = date(2026, 3, 1), date(2026, 3, 4)
HOSTS = ["sp_A1", "sp2_A1", "sp_A2", "oa_A1", "sp_B1"]
RULES = [("承诺收益", "forbidden"), ("未提示风险", "mandatory"), ("语速过快", "speech_rate")]


@attrs.frozen
class Planned:
    host: str
    org: str
    company: str
    created: datetime
    duration_ms: int | None  # None: still live
    customers: int
    scores: tuple[int, ...]
    video: bool
    qa: int | None
    violations: tuple[int, ...]  # indexes into RULES


def plan(seed: int = 7, count: int = 240) -> list[Planned]:
    """``count`` sessions from 2026-02-28 to 2026-03-05 local, some live, some rated."""
    rng = random.Random(seed)
    out = []
    first = datetime(2026, 2, 28, tzinfo=ZONE)
    orgs = {"sp_A1": "A1", "sp2_A1": "A1", "oa_A1": "A1", "sp_A2": "A2", "sp_B1": "B1"}
    for _ in range(count):
        host = rng.choice(HOSTS)
        created = first + timedelta(minutes=rng.randrange(0, 6 * 24 * 60))
        customers = rng.randrange(0, 3)
        scores = tuple(rng.randrange(1, 6) for _ in range(rng.randrange(0, customers + 1)))
        qa = rng.choice([None, 100, 90, 70, 40])
        violations = (
            tuple(rng.randrange(len(RULES)) for _ in range(rng.randrange(1, 3)))
            if qa is not None and qa < 100
            else ()
        )
        out.append(
            Planned(
                host=host,
                org=orgs[host],
                company=orgs[host][0],
                created=created,
                duration_ms=None if rng.random() < 0.1 else rng.randrange(10_000, 3_600_000),
                customers=customers,
                scores=scores,
                video=rng.random() < 0.5,
                qa=qa,
                violations=violations,
            )
        )
    # The limits themselves: local midnight of START is in, of END is out.
    edge = dict(customers=0, scores=(), video=False, qa=None, violations=())
    out.append(Planned("sp_A1", "A1", "A", datetime(2026, 3, 1, tzinfo=ZONE), 1000, **edge))  # type: ignore[arg-type]
    out.append(Planned("sp_A1", "A1", "A", datetime(2026, 3, 4, tzinfo=ZONE), 1000, **edge))  # type: ignore[arg-type]
    return out


async def store(world: World, planned: list[Planned]) -> None:
    """Write the planned sessions as the room service leaves them."""
    ids = world.ids
    session_rows: list[dict[str, Any]] = []
    people: list[dict[str, Any]] = []
    media: list[dict[str, Any]] = []
    reports: list[dict[str, Any]] = []
    for n, s in enumerate(planned):
        sid = f"st{n:06d}"
        created = int(s.created.timestamp() * 1000)
        started = created + 5_000
        host = world.p(s.host)
        session_rows.append(
            {
                "id": sid,
                "meeting_number": f"9{n:07d}",
                "company_id": ids[s.company],
                "org_id": ids[s.org],
                "host_account_id": host.account_id,
                "host_name": s.host,
                "project": None,
                "terminal": "pc",
                "state": "live" if s.duration_ms is None else "ended",
                "created_ms": created,
                "started_ms": started,
                "ended_ms": None if s.duration_ms is None else started + s.duration_ms,
                "end_reason": None,
                "last_seq": 0,
                "room_snapshot": "{}",
                "sms_invites": 0,
            }
        )
        people.append(_person(sid, "h", "host", started, None))
        for c in range(s.customers):
            score = s.scores[c] if c < len(s.scores) else None
            people.append(_person(sid, f"c{c}", "customer", started + 1000, score))
        # A customer who opened the invite but never came in is not reached.
        people.append(_person(sid, "x", "customer", None, None))
        if s.video:
            media.append({"session_id": sid, "recording_status": "ready"})
        elif n % 3 == 0:
            media.append({"session_id": sid, "recording_status": "failed"})
        if s.qa is not None:
            qa = {
                "score": s.qa,
                "passed": s.qa >= 60,
                "violations": [
                    {"rule_name": RULES[i][0], "kind": RULES[i][1]} for i in s.violations
                ],
            }
            reports.append(
                {
                    "session_id": sid,
                    "steps": "[]",
                    "qa": json.dumps(qa, ensure_ascii=False),
                    "written_ms": created,
                    "qa_score": s.qa,
                    "qa_passed": s.qa >= 60,
                }
            )
    async with world.platform.database.begin() as conn:
        await conn.execute(sa.insert(sessions), session_rows)
        await conn.execute(sa.insert(session_participants), people)
        if media:
            await conn.execute(sa.insert(session_media), media)
        if reports:
            await conn.execute(sa.insert(sop_session_reports), reports)


def _person(sid: str, pid: str, role: str, joined: int | None, score: int | None) -> dict[str, Any]:
    return {
        "session_id": sid,
        "participant_id": pid,
        "role": role,
        "name": pid,
        "terminal": "pc",
        "phone": None,
        "recording_ack_ms": None,
        "first_joined_ms": joined,
        "duration_ms": 0,
        "score": score,
        "comment": None,
    }


def in_period(s: Planned, start: date = START, end: date = END) -> bool:
    local = s.created.astimezone(ZONE).date()
    return start <= local < end


def expected(planned: list[Planned]) -> dict[str, Any]:
    """The figures of ``planned`` (already filtered), the slow obvious way."""
    timed = [s.duration_ms for s in planned if s.duration_ms is not None]
    scores = [x for s in planned for x in s.scores]
    qa = [s.qa for s in planned if s.qa is not None]
    return {
        "sessions": len(planned),
        "timed_sessions": len(timed),
        "duration_ms_total": sum(timed),
        "customers": sum(s.customers for s in planned),
        "video_sessions": sum(s.video for s in planned),
        "evaluations": len(scores),
        "evaluation_counts": tuple(scores.count(k) for k in range(1, 6)),
        "qa_reports": len(qa),
        "qa_score_total": sum(qa),
    }


def violation_counts(planned: list[Planned]) -> Counter[str]:
    """How often each rule was broken in ``planned``."""
    return Counter(RULES[i][0] for s in planned for i in s.violations)
