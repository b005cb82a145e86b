"""Staff-loop state: the card of each case, ratings, takeovers, and which case events the loop has
applied (each event's effects are written once, in the transaction that marks it applied)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import CaseEvent, utcnow
from .staff_models import CaseCard, CaseRating, StaffApplied, StaffCursor, Takeover
from .statements import PerDialect, affected

_applied = cast(Table, StaffApplied.__table__)
_takeovers = cast(Table, Takeover.__table__)
_MARK_APPLIED = PerDialect(lambda insert: insert(_applied).on_conflict_do_nothing().returning(_applied.c.event_id))
_NEW_TAKEOVER = PerDialect(lambda insert: insert(_takeovers).on_conflict_do_nothing())
# Events commit in id order within a few seconds at most; older than this, a gap below is final.
SETTLED = timedelta(minutes=5)


# --- cards ----------------------------------------------------------------------------------------


async def card_of(session: AsyncSession, case_id: int, platform: str) -> CaseCard | None:
    return (
        await session.execute(select(CaseCard).where(CaseCard.case_id == case_id, CaseCard.platform == platform))
    ).scalar_one_or_none()


async def save_card(
    session: AsyncSession, *, case_id: int, platform: str, channel_id: str, message_id: str, thread_link: str
) -> None:
    if await card_of(session, case_id, platform) is None:
        session.add(
            CaseCard(
                case_id=case_id,
                platform=platform,
                channel_id=channel_id,
                message_id=message_id,
                thread_link=thread_link,
            )
        )
        await session.flush()


async def count_cards(session: AsyncSession, case_id: int) -> int:
    return int(
        (
            await session.execute(select(func.count()).select_from(CaseCard).where(CaseCard.case_id == case_id))
        ).scalar_one()
    )


# --- ratings --------------------------------------------------------------------------------------


async def rate(session: AsyncSession, *, case_id: int, customer_id: str, score: int, scale: str) -> None:
    """Store the case's rating; a later one replaces it."""
    now = utcnow()
    existing = await session.get(CaseRating, case_id)
    if existing is None:
        session.add(
            CaseRating(
                case_id=case_id, customer_id=customer_id, score=score, scale=scale, created_at=now, updated_at=now
            )
        )
    else:
        existing.score, existing.scale, existing.updated_at = score, scale, now
    await session.flush()


async def rating_of(session: AsyncSession, case_id: int) -> CaseRating | None:
    return await session.get(CaseRating, case_id)


# --- takeovers ------------------------------------------------------------------------------------


async def is_taken_over(session: AsyncSession, conversation_id: int) -> bool:
    query = select(Takeover.active).where(Takeover.conversation_id == conversation_id)
    return bool((await session.execute(query)).scalar_one_or_none())


async def start_takeover(session: AsyncSession, conversation_id: int, *, staff_id: str, event_id: int = 0) -> int:
    """Mark the conversation taken over by `staff_id`. Returns the new episode number when a takeover
    began now (it was not active), else 0. `event_id` orders changes made from case events: an older
    event than the last one applied changes nothing."""
    await session.execute(
        _NEW_TAKEOVER(session),
        {"conversation_id": conversation_id, "active": False, "episode": 0, "last_event_id": 0, "updated_at": utcnow()},
    )
    row = (
        await session.execute(select(Takeover).where(Takeover.conversation_id == conversation_id).with_for_update())
    ).scalar_one()
    if event_id and row.last_event_id >= event_id:
        return 0
    began = not row.active
    row.active, row.staff_id, row.updated_at = True, staff_id[:160], utcnow()
    if event_id:
        row.last_event_id = event_id
    if began:
        row.episode += 1
    await session.flush()
    return row.episode if began else 0


async def end_takeover(session: AsyncSession, conversation_id: int, *, event_id: int = 0) -> bool:
    """The bot answers in the conversation again. Returns whether a takeover ended now."""
    query = update(Takeover).where(Takeover.conversation_id == conversation_id, Takeover.active.is_(True))
    if event_id:
        query = query.where(Takeover.last_event_id < event_id)
    values = {"active": False, "updated_at": utcnow(), **({"last_event_id": event_id} if event_id else {})}
    result = await session.execute(query.values(**values).execution_options(synchronize_session=False))
    return affected(result) == 1


# --- the event tail -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRow:
    id: int
    case_id: int
    action: str
    actor: str
    note: str | None
    created_at: datetime


async def init_floor(session: AsyncSession) -> None:
    """Start the staff loop after the events that exist (a new install posts nothing for old cases)."""
    if (await session.get(StaffCursor, 1)) is None:
        top = (await session.execute(select(func.max(CaseEvent.id)))).scalar() or 0
        session.add(StaffCursor(id=1, floor=int(top)))
        await session.flush()


async def unapplied_events(session: AsyncSession, *, limit: int = 200) -> list[EventRow]:
    """Case events above the floor that no process has applied yet, oldest first."""
    floor = (await session.execute(select(StaffCursor.floor).where(StaffCursor.id == 1))).scalar_one_or_none() or 0
    query = (
        select(CaseEvent.id, CaseEvent.case_id, CaseEvent.action, CaseEvent.actor, CaseEvent.note, CaseEvent.created_at)
        .where(
            CaseEvent.id > floor, ~select(StaffApplied.event_id).where(StaffApplied.event_id == CaseEvent.id).exists()
        )
        .order_by(CaseEvent.id)
        .limit(limit)
    )
    return [EventRow(*row) for row in (await session.execute(query)).all()]


async def mark_applied(session: AsyncSession, event_id: int) -> bool:
    """Take the right to apply an event: True once, for one process (in the transaction of its effects)."""
    return (await session.execute(_MARK_APPLIED(session), {"event_id": event_id})).scalar() is not None


async def raise_floor(session: AsyncSession, *, now: datetime) -> None:
    """Everything above the floor is applied: move it up to the settled events and forget their marks."""
    top = (await session.execute(select(func.max(CaseEvent.id)).where(CaseEvent.created_at < now - SETTLED))).scalar()
    if not top:
        return
    result = await session.execute(
        update(StaffCursor)
        .where(StaffCursor.id == 1, StaffCursor.floor < top)
        .values(floor=top)
        .execution_options(synchronize_session=False)
    )
    if affected(result):
        await session.execute(_applied.delete().where(_applied.c.event_id <= top))
