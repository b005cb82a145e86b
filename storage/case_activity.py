"""What a case export needs from each case's history and conversation, in four queries for a batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Case, CaseEvent, Conversation


@dataclass(frozen=True)
class CaseActivity:
    """What an export row needs from a case's history and conversation, without loading the events."""

    events: int = 0
    last_action: str | None = None
    last_at: datetime | None = None
    closed_at: datetime | None = None
    close_reason: str | None = None
    channel_id: str = ""
    thread_id: str = ""


async def case_activity(session: AsyncSession, cases: Sequence[Case]) -> dict[int, CaseActivity]:
    """Event counts, the last event, the latest close and the conversation's thread of each case."""
    ids = [c.id for c in cases]
    if not ids:
        return {}
    counts = dict(
        (
            await session.execute(
                select(CaseEvent.case_id, func.count()).where(CaseEvent.case_id.in_(ids)).group_by(CaseEvent.case_id)
            )
        ).all()
    )
    last_ids = select(func.max(CaseEvent.id)).where(CaseEvent.case_id.in_(ids)).group_by(CaseEvent.case_id)
    last = {
        e.case_id: e for e in (await session.execute(select(CaseEvent).where(CaseEvent.id.in_(last_ids)))).scalars()
    }
    close_ids = (
        select(func.max(CaseEvent.id))
        .where(CaseEvent.case_id.in_(ids), CaseEvent.action == "closed")
        .group_by(CaseEvent.case_id)
    )
    closes = {
        e.case_id: e for e in (await session.execute(select(CaseEvent).where(CaseEvent.id.in_(close_ids)))).scalars()
    }
    threads = {
        row.id: row
        for row in (
            await session.execute(
                select(Conversation.id, Conversation.channel_id, Conversation.thread_id).where(
                    Conversation.id.in_(sorted({c.conversation_id for c in cases}))
                )
            )
        ).all()
    }
    out: dict[int, CaseActivity] = {}
    for c in cases:
        ev, thread = last.get(c.id), threads.get(c.conversation_id)
        closed = closes.get(c.id) if c.status == "closed" else None  # a reopened case has no current close
        out[c.id] = CaseActivity(
            events=int(counts.get(c.id, 0)),
            last_action=ev.action if ev else None,
            last_at=ev.created_at if ev else None,
            closed_at=closed.created_at if closed else None,
            close_reason=closed.note if closed else None,
            channel_id=thread.channel_id if thread else "",
            thread_id=thread.thread_id if thread else "",
        )
    return out
