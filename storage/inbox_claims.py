"""Taking inbox messages for processing: a claim with a lease (one message, or a batch in conversation
order), renewing a worker's leases, giving a message back, the right to post a queue notice, and which
customer messages are up for grabs. A message whose worker died is claimed again when its lease runs
out, so two processes never work on the same message at once and none is lost.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, exists, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Message, utcnow
from .statements import affected, dialect_of

# Built once, as the inbox's statements are (see statements.py): claiming a message loads no ORM object.
_messages = cast(Table, Message.__table__)
# A claimed message: in processing by `b_worker` until `b_until`, one more attempt.
_CLAIMED: dict[str, Any] = {
    "status": "processing",
    "claimed_by": bindparam("b_worker"),
    "claimed_until": bindparam("b_until"),
    "attempts": _messages.c.attempts + 1,
    "updated_at": bindparam("b_now"),
}
_CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")
_CLAIM = (
    update(_messages)
    .where(
        _messages.c.id.in_(bindparam("b_ids", expanding=True)),
        or_(
            _messages.c.status == "received",
            (_messages.c.status == "processing") & (_messages.c.claimed_until < bindparam("b_now")),
        ),
    )
    .values(**_CLAIMED)
    .returning(_messages.c.id)
)


async def claim_messages(session: AsyncSession, message_ids: list[int], *, worker: str, lease_s: float) -> set[int]:
    """Atomically take messages for processing, in one statement; returns the ids it took (not those
    someone else holds or that are done)."""
    if not message_ids:
        return set()
    now = utcnow()
    params = {"b_ids": message_ids, "b_now": now, "b_worker": worker, "b_until": now + timedelta(seconds=lease_s)}
    return {row.id for row in await session.execute(_CLAIM, params)}


async def claim_message(session: AsyncSession, message_id: int, *, worker: str, lease_s: float) -> bool:
    """Atomically take a message for processing; False if someone else holds it or it is done."""
    return message_id in await claim_messages(session, [message_id], worker=worker, lease_s=lease_s)


def _claim_waiting_statement(dialect: str, platforms: tuple[str, ...]) -> Any:
    """Up to `b_limit` waiting customer messages, oldest first, claimed in one statement — skipping any
    message with an earlier one of its conversation still waiting or in processing (a conversation's
    messages are answered in order, whichever process takes them) and any message waiting out its backoff
    after a failed attempt (`next_attempt_at`). On PostgreSQL the rows are locked with SKIP LOCKED, so
    processes claiming at once take different messages without waiting."""
    m, e = _messages.alias("m"), _messages.alias("e")
    waiting = or_(m.c.status == "received", (m.c.status == "processing") & (m.c.claimed_until < bindparam("b_now")))
    due = or_(m.c.next_attempt_at.is_(None), m.c.next_attempt_at <= bindparam("b_now"))  # not in its backoff
    earlier = exists().where(
        e.c.conversation_id == m.c.conversation_id,
        e.c.role == "customer",
        e.c.id < m.c.id,
        e.c.status.in_(("received", "processing")),
    )
    pick = (
        select(m.c.id)
        .where(m.c.role == "customer", m.c.platform.in_(platforms), waiting, due, ~earlier)
        .order_by(m.c.id)
        .limit(bindparam("b_limit"))
    )
    if dialect == "postgresql":
        pick = pick.with_for_update(skip_locked=True, of=m)
    return (
        update(_messages)
        .where(_messages.c.id.in_(pick.scalar_subquery()))
        .values(**_CLAIMED)
        .returning(_messages.c.id, _messages.c.conversation_id)
    )


async def claim_waiting(
    session: AsyncSession, *, worker: str, lease_s: float, limit: int, platforms: tuple[str, ...]
) -> list[tuple[int, int]]:
    """Claim a batch of waiting messages for `worker`: (message id, conversation id) of each, oldest first."""
    if limit <= 0 or not platforms:
        return []
    now = utcnow()
    dialect = dialect_of(session)
    if dialect == "postgresql":
        # A worker polls an empty inbox for as long as no one writes: after five runs of the prepared
        # statement PostgreSQL may keep a generic plan costed on that empty table, which then sorts and
        # anti-joins every waiting message slowly (72 ms a claim instead of 16 with 2,000 waiting; one
        # worker answered 58 messages/s instead of 132). Planned afresh each time, for this transaction.
        await session.execute(_CUSTOM_PLANS)
    statement = _claim_waiting_statement(dialect, platforms)
    rows = (
        await session.execute(
            statement, {"b_now": now, "b_until": now + timedelta(seconds=lease_s), "b_worker": worker, "b_limit": limit}
        )
    ).all()
    return sorted((row.id, row.conversation_id) for row in rows)


async def extend_claims(session: AsyncSession, *, worker: str, lease_s: float) -> int:
    """Renew every claim `worker` holds (a long model call must not let another process take its message)."""
    result = await session.execute(
        update(Message)
        .where(Message.claimed_by == worker, Message.status == "processing")
        .values(claimed_until=utcnow() + timedelta(seconds=lease_s))
        .execution_options(synchronize_session=False)
    )
    return affected(result)


async def release_message(
    session: AsyncSession, message_id: int, *, error: str | None = None, worker: str | None = None
) -> bool:
    """Give a claimed message back to the inbox (it will be retried); with `worker`, only if that worker
    still holds it (a dead worker's claim). Returns whether it was given back."""
    query = update(Message).where(Message.id == message_id, Message.status == "processing")
    if worker is not None:
        query = query.where(Message.claimed_by == worker)
    result = await session.execute(
        query.values(
            status="received", error=error, claimed_by=None, claimed_until=None, updated_at=utcnow()
        ).execution_options(synchronize_session=False)
    )
    return affected(result) == 1


async def claim_queue_notice(session: AsyncSession, message_id: int, *, worker: str) -> bool:
    """Take the right to post the one "you're in the queue" notice of a waiting message: True once, for
    one process, while the message is still unclaimed (`claimed_by` of a *received* message names the
    worker that noticed it; `claim_message` overwrites it)."""
    result = await session.execute(
        update(Message)
        .where(Message.id == message_id, Message.status == "received", Message.claimed_by.is_(None))
        .values(claimed_by=f"notice:{worker}"[:64])
        .execution_options(synchronize_session=False)
    )
    return affected(result) == 1


async def claims_with_prefix(session: AsyncSession, prefix: str) -> list[tuple[int, str]]:
    """(message id, worker) of messages in processing claimed by workers whose id starts with `prefix`."""
    query = select(Message.id, Message.claimed_by).where(
        Message.status == "processing", Message.claimed_by.startswith(prefix, autoescape=True)
    )
    return [(row[0], row[1] or "") for row in (await session.execute(query)).all()]


async def unfinished_messages(
    session: AsyncSession, *, limit: int = 500, platforms: tuple[str, ...] | None = None
) -> list[Message]:
    """Customer messages not yet answered: never claimed, or claimed by a worker whose lease expired —
    except those waiting out the backoff after a failed attempt (given-up ones are `failed`, not here)."""
    now = utcnow()
    query = (
        select(Message)
        .where(
            Message.role == "customer",
            or_(Message.status == "received", (Message.status == "processing") & (Message.claimed_until < now)),
            or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
        )
        .order_by(Message.id)
        .limit(limit)
    )
    if platforms:
        query = query.where(Message.platform.in_(platforms))
    return list((await session.execute(query)).scalars())
