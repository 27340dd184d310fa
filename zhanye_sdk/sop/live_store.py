"""Input persistence and replay of the live assistant.

Every input of a session's assistant (a template start with the library it loaded, what
is shown, each segment; see ``sop.inputs``) is stored in ``sop_assist_inputs`` before it
is applied, numbered in order; ``load`` replays them into a fresh ``SessionAssist``.
Writing the session's SOP record deletes its inputs in the same transaction.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import sqlalchemy as sa

from zhanye_sdk.errors import InvalidInput
from zhanye_sdk.facade import Platform
from zhanye_sdk.sop.assist import AssistEvent
from zhanye_sdk.sop.inputs import (
    AssistInput,
    SegmentHeard,
    SessionAssist,
    input_from_json,
    input_json,
)
from zhanye_sdk.sop.live_session import LiveSession
from zhanye_sdk.store.schema import sop_assist_inputs, sop_session_reports

__all__ = ["AssistStore"]

_log = logging.getLogger(__name__)


class AssistStore:
    """The stored inputs of every started session's assistant, and its written record.

    Args:
        platform: the platform (its database).
    """

    def __init__(self, platform: Platform) -> None:
        self._platform = platform

    async def apply(
        self, session_id: str, live: LiveSession, entry: AssistInput, at_ms: int
    ) -> list[AssistEvent]:
        """Store ``entry`` as the session's next input, then apply it (the caller holds
        the session's lock).

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
                    at_ms=at_ms,
                )
            )
        live.seq += 1
        return live.assist.apply(entry)

    async def sessions(self) -> list[str]:
        """Sessions with stored inputs: assistants started and not finished."""
        table = sop_assist_inputs
        async with self._platform.database.connect() as conn:
            rows = await conn.execute(
                sa.select(table.c.session_id).distinct().order_by(table.c.session_id)
            )
            return [r.session_id for r in rows]

    async def load(self, session_id: str) -> LiveSession | None:
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
        live = LiveSession(assist, seq=int(rows[-1].seq))
        # New sources number their utterances after the ones heard before the restart.
        for entry in entries:
            if isinstance(entry, SegmentHeard):
                found = re.match(r"(?:src|room)(\d+):", entry.segment.utterance)
                if found:
                    live.sources = max(live.sources, int(found.group(1)))
        return live

    async def write_report(
        self,
        session_id: str,
        steps: list[dict[str, Any]],
        report: dict[str, Any],
        written_ms: int,
    ) -> None:
        """Write the session's execution table and QA report; its inputs go with it."""
        values = {
            "steps": json.dumps(steps, ensure_ascii=False),
            "qa": json.dumps(report, ensure_ascii=False),
            "qa_score": report["score"],
            "qa_passed": report["passed"],
            "written_ms": written_ms,
        }
        async with self._platform.database.begin() as conn:
            table = sop_session_reports
            await conn.execute(table.delete().where(table.c.session_id == session_id))
            await conn.execute(table.insert().values(session_id=session_id, **values))
            # The record holds the outcome now: the inputs are not replayed again.
            inputs = sop_assist_inputs
            await conn.execute(inputs.delete().where(inputs.c.session_id == session_id))
