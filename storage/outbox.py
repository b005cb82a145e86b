"""The staff outbox and the staff loop's timers: rows written in the transaction that decided them,
delivered or fired once across crashes, restarts and several processes.

An outbox row is enqueued under a unique key (a second enqueue of the same key is a no-op), claimed by
a one-row conditional update with a lease (`pending`, or `sending` with the lease run out), and marked
`done` with the platform's id of what was posted. A worker that dies leaves its claim; the row is
claimed again when the lease ends, with `attempts` > 1 telling the deliverer to look before posting.

A timer is fired by `UPDATE … SET fired_at WHERE fired_at IS NULL`: one process wins, in the transaction
that writes what the timer causes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import utcnow
from .staff_models import StaffOutbox, StaffTimer
from .statements import PerDialect, affected

_outbox = cast(Table, StaffOutbox.__table__)
_timers = cast(Table, StaffTimer.__table__)
_NEW_ROW = PerDialect(lambda insert: insert(_outbox).on_conflict_do_nothing().returning(_outbox.c.id))
_NEW_TIMER = PerDialect(lambda insert: insert(_timers).on_conflict_do_nothing().returning(_timers.c.id))
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class OutboxItem:
    id: int
    key: str
    kind: str
    platform: str
    case_id: int | None
    message_id: int | None
    payload: dict[str, Any]
    attempts: int


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    platform: str,
    case_id: int | None = None,
    message_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> int | None:
    """Add a row unless one with `key` exists. Returns the new row's id, or None."""
    return (
        await session.execute(
            _NEW_ROW(session),
            {
                "key": key[:120],
                "kind": kind,
                "platform": platform,
                "case_id": case_id,
                "message_id": message_id,
                "payload": payload or {},
                "status": "pending",
                "attempts": 0,
            },
        )
    ).scalar()


async def exists(session: AsyncSession, key: str) -> str | None:
    """The status of the row with `key`, or None."""
    return (await session.execute(select(StaffOutbox.status).where(StaffOutbox.key == key))).scalar_one_or_none()


async def ready(session: AsyncSession, *, platforms: tuple[str, ...], now: datetime, limit: int = 50) -> list[int]:
    """Ids of rows a worker may claim now, oldest first."""
    query = (
        select(StaffOutbox.id)
        .where(
            StaffOutbox.platform.in_(platforms),
            or_(StaffOutbox.status == "pending", (StaffOutbox.status == "sending") & (StaffOutbox.claimed_until < now)),
        )
        .order_by(StaffOutbox.id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def claim(
    session: AsyncSession, row_id: int, *, worker: str, lease_s: float, now: datetime | None = None
) -> OutboxItem | None:
    """Take a row for delivery (None if someone else has it, or it is done)."""
    now = now or utcnow()
    result = await session.execute(
        update(StaffOutbox)
        .where(
            StaffOutbox.id == row_id,
            or_(StaffOutbox.status == "pending", (StaffOutbox.status == "sending") & (StaffOutbox.claimed_until < now)),
        )
        .values(
            status="sending",
            claimed_by=worker[:64],
            claimed_until=now + timedelta(seconds=lease_s),
            attempts=StaffOutbox.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if affected(result) != 1:
        return None
    row = (await session.execute(select(StaffOutbox).where(StaffOutbox.id == row_id))).scalar_one()
    return OutboxItem(
        id=row.id,
        key=row.key,
        kind=row.kind,
        platform=row.platform,
        case_id=row.case_id,
        message_id=row.message_id,
        payload=dict(row.payload or {}),
        attempts=row.attempts,
    )


async def finish(session: AsyncSession, row_id: int, *, platform_message_id: str | None = None) -> None:
    await session.execute(
        update(StaffOutbox)
        .where(StaffOutbox.id == row_id)
        .values(
            status="done",
            platform_message_id=platform_message_id,
            claimed_by=None,
            claimed_until=None,
            done_at=utcnow(),
            error=None,
        )
        .execution_options(synchronize_session=False)
    )


async def give_back(session: AsyncSession, row_id: int, *, error: str, attempts: int, retry_after_s: float = 0) -> None:
    """A failed attempt: pending again (after `retry_after_s`, via the lease), or `failed` after MAX_ATTEMPTS."""
    final = attempts >= MAX_ATTEMPTS
    await session.execute(
        update(StaffOutbox)
        .where(StaffOutbox.id == row_id)
        .values(
            status="failed" if final else "sending",
            error=error[:500],
            claimed_by="retry",
            claimed_until=utcnow() + timedelta(seconds=retry_after_s),
        )
        .execution_options(synchronize_session=False)
    )


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    """Rows not yet delivered (pending, sending) and given up (failed), by status."""
    query = select(StaffOutbox.status, func.count()).where(StaffOutbox.status != "done").group_by(StaffOutbox.status)
    counts = {"pending": 0, "sending": 0, "failed": 0}
    counts.update({status: int(n) for status, n in (await session.execute(query)).all()})
    return counts


async def claims_with_prefix(session: AsyncSession, prefix: str) -> list[tuple[int, str]]:
    """(row id, worker) of rows being sent by workers whose id starts with `prefix`."""
    query = select(StaffOutbox.id, StaffOutbox.claimed_by).where(
        StaffOutbox.status == "sending", StaffOutbox.claimed_by.startswith(prefix, autoescape=True)
    )
    return [(row[0], row[1] or "") for row in (await session.execute(query)).all()]


async def release(session: AsyncSession, row_id: int, *, worker: str) -> bool:
    """Give back a row a dead worker was sending (its next attempt looks before posting)."""
    result = await session.execute(
        update(StaffOutbox)
        .where(StaffOutbox.id == row_id, StaffOutbox.status == "sending", StaffOutbox.claimed_by == worker)
        .values(status="pending", claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    return affected(result) == 1


async def pending_for_case(session: AsyncSession, case_id: int, kind: str) -> bool:
    """Whether a row of `kind` for the case is still to be delivered."""
    query = (
        select(StaffOutbox.id)
        .where(StaffOutbox.case_id == case_id, StaffOutbox.kind == kind, StaffOutbox.status.in_(("pending", "sending")))
        .limit(1)
    )
    return (await session.execute(query)).first() is not None


# --- timers ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueTimer:
    id: int
    kind: str
    subject_id: int
    due_at: datetime


async def schedule(session: AsyncSession, *, kind: str, subject_id: int, due_at: datetime) -> bool:
    """Add the timer unless one of this kind for this subject exists. Returns whether it was new."""
    return (
        await session.execute(_NEW_TIMER(session), {"kind": kind, "subject_id": subject_id, "due_at": due_at})
    ).scalar() is not None


async def due(session: AsyncSession, *, now: datetime, limit: int = 100) -> list[DueTimer]:
    query = (
        select(StaffTimer)
        .where(StaffTimer.fired_at.is_(None), StaffTimer.due_at <= now)
        .order_by(StaffTimer.due_at, StaffTimer.id)
        .limit(limit)
    )
    return [
        DueTimer(id=t.id, kind=t.kind, subject_id=t.subject_id, due_at=t.due_at)
        for t in (await session.execute(query)).scalars()
    ]


async def fire(session: AsyncSession, timer_id: int, *, now: datetime) -> bool:
    """Take the right to fire the timer: True once, for one process."""
    result = await session.execute(
        update(StaffTimer)
        .where(StaffTimer.id == timer_id, StaffTimer.fired_at.is_(None))
        .values(fired_at=now)
        .execution_options(synchronize_session=False)
    )
    return affected(result) == 1
