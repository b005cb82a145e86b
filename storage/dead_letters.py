"""Failed attempts and dead letters: a customer message that could not be processed or delivered is
tried again after an exponentially growing wait, and given up (status `failed`) after its last attempt
or at once on a permanent error. A given-up message is kept — listed, counted, retried on request —
and never picked up by the periodic retry again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Conversation, Message, utcnow
from .statements import affected

GIVEN_UP = "failed"


def backoff(attempts: int, *, base_s: float, max_s: float = 3600.0) -> timedelta:
    """The wait after `attempts` failed attempts: base, 2×base, 4×base … up to `max_s`."""
    return timedelta(seconds=min(max_s, base_s * 2 ** max(0, attempts - 1)))


async def record_failure(
    session: AsyncSession, message_id: int, *, error: str, give_up: bool, retry_at: datetime | None
) -> bool:
    """After a failed attempt of a message this worker holds: back to the inbox, not to be tried before
    `retry_at`, or given up. Returns False when the message was not in processing (someone else has it)."""
    values = (
        {"status": GIVEN_UP, "next_attempt_at": None}
        if give_up
        else {"status": "received", "next_attempt_at": retry_at}
    )
    result = await session.execute(
        update(Message)
        .where(Message.id == message_id, Message.status == "processing")
        .values(**values, error=error[:2000], claimed_by=None, claimed_until=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return affected(result) == 1


@dataclass(frozen=True)
class DeadLetter:
    id: int
    platform: str
    channel_id: str
    thread_id: str
    customer_id: str
    attempts: int
    error: str
    text: str
    received_at: datetime
    given_up_at: datetime


async def dead_letters(session: AsyncSession, *, limit: int = 500) -> list[DeadLetter]:
    """Given-up customer messages, oldest first."""
    rows = await session.execute(
        select(
            Message.id,
            Message.platform,
            Conversation.channel_id,
            Conversation.thread_id,
            Conversation.customer_id,
            Message.attempts,
            Message.error,
            Message.text,
            Message.created_at,
            Message.updated_at,
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.role == "customer", Message.status == GIVEN_UP)
        .order_by(Message.id)
        .limit(limit)
    )
    return [
        DeadLetter(
            id=r[0],
            platform=r[1],
            channel_id=r[2],
            thread_id=r[3],
            customer_id=r[4],
            attempts=r[5],
            error=r[6] or "",
            text=r[7],
            received_at=r[8],
            given_up_at=r[9],
        )
        for r in rows
    ]


async def count_dead_letters(session: AsyncSession) -> int:
    return int(
        (
            await session.execute(
                select(func.count()).select_from(Message).where(Message.role == "customer", Message.status == GIVEN_UP)
            )
        ).scalar_one()
    )


async def retry(session: AsyncSession, message_ids: Sequence[int] | None = None) -> list[int]:
    """Put given-up messages (these, or all with None) back in the inbox with a fresh set of attempts.
    Returns the ids put back; ids that are not dead letters are left alone."""
    query = select(Message.id).where(Message.role == "customer", Message.status == GIVEN_UP)
    if message_ids is not None:
        query = query.where(Message.id.in_(list(message_ids)))
    ids = list((await session.execute(query.order_by(Message.id))).scalars())
    if ids:
        await session.execute(
            update(Message)
            .where(Message.id.in_(ids), Message.status == GIVEN_UP)
            .values(status="received", attempts=0, next_attempt_at=None, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return ids
