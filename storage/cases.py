"""Cases and their append-only event history: references, statuses, filters and the reads (a case, a
list, its events, its own transcript, the staff queue). Opening cases is `case_open`; what an export
reads of their activity, `case_activity`."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Case, CaseEvent, Message, PendingTask

REF_PREFIXES = {"billing": "INV_CASE_", "return": "RMA-", "status": "STS-", "technical": "TEC-", "human": "HUM-"}
# Crockford base32 without I, L, O, U: unambiguous when read aloud or retyped by a customer.
_REF_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_REF_LENGTH = 8
# The one definition of a case's statuses (the lifecycle module holds the transitions between them).
STATUSES = ("open", "in_progress", "resolved", "closed")
OPEN_STATUSES = ("open", "in_progress")


def new_ref(kind: str) -> str:
    # 32 symbols: the low five bits of a random byte pick one uniformly (one call instead of eight).
    return REF_PREFIXES.get(kind, "CASE-") + "".join(_REF_ALPHABET[b & 31] for b in secrets.token_bytes(_REF_LENGTH))


@dataclass(frozen=True)
class CaseFilter:
    platform: str | None = None
    customer_id: str | None = None
    status: str | None = None
    kind: str | None = None
    since: datetime | None = None
    assignee: str | None = None


async def get_case(session: AsyncSession, ref: str) -> Case | None:
    ref = (ref or "").strip().upper()
    if not ref or len(ref) > 32:
        return None
    return (await session.execute(select(Case).where(Case.ref == ref))).scalar_one_or_none()


def _filtered(query: Any, flt: CaseFilter) -> Any:
    if flt.platform:
        query = query.where(Case.platform == flt.platform)
    if flt.customer_id:
        query = query.where(Case.customer_id == flt.customer_id)
    if flt.status:
        query = query.where(Case.status == flt.status)
    if flt.kind:
        query = query.where(Case.kind == flt.kind)
    if flt.since:
        query = query.where(Case.created_at >= flt.since)
    if flt.assignee:
        query = query.where(Case.assignee == flt.assignee)
    return query


async def list_cases(
    session: AsyncSession, flt: CaseFilter = CaseFilter(), *, limit: int | None = 50, offset: int = 0
) -> list[Case]:
    """Cases newest first."""
    query = _filtered(select(Case), flt).order_by(Case.created_at.desc(), Case.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list((await session.execute(query)).scalars())


async def count_cases(session: AsyncSession, flt: CaseFilter = CaseFilter()) -> int:
    return int((await session.execute(_filtered(select(func.count()).select_from(Case), flt))).scalar_one())


async def case_events(session: AsyncSession, case_id: int, *, newest: int | None = None) -> list[CaseEvent]:
    """A case's history, oldest first; `newest=n`: only the last n events, newest first."""
    query = select(CaseEvent).where(CaseEvent.case_id == case_id)
    query = query.order_by(CaseEvent.id) if newest is None else query.order_by(CaseEvent.id.desc()).limit(newest)
    return list((await session.execute(query)).scalars())


async def iter_cases(
    session: AsyncSession, flt: CaseFilter = CaseFilter(), *, batch_size: int = 500, limit: int | None = None
) -> AsyncIterator[list[Case]]:
    """Every matching case, newest first (by id), in batches: an export of many thousands of cases
    holds one batch in memory at a time. Keyset paging (id < last seen) keeps each query cheap."""
    remaining = limit
    last_id: int | None = None
    while remaining is None or remaining > 0:
        size = batch_size if remaining is None else min(batch_size, remaining)
        query = _filtered(select(Case), flt).order_by(Case.id.desc()).limit(size)
        if last_id is not None:
            query = query.where(Case.id < last_id)
        rows = list((await session.execute(query)).scalars())
        if not rows:
            return
        yield rows
        last_id = rows[-1].id
        if remaining is not None:
            remaining -= len(rows)


# --- a case's own transcript --------------------------------------------------------------------


async def case_messages(
    session: AsyncSession, case: Case, *, include_internal: bool, limit: int, offset: int = 0
) -> tuple[list[Message], int]:
    """The messages of one case, oldest first, one page, and how many there are in all.

    A case's messages start at the customer message that opened it (or, for a task that waited for the
    customer's answer, at the message that asked for it) and end at its latest close, if it is closed;
    the thread's earlier and later messages belong to other cases."""
    first = (
        await session.execute(
            select(func.min(PendingTask.message_id)).where(
                PendingTask.conversation_id == case.conversation_id,
                PendingTask.resolved_by_message_id == case.message_id,
                PendingTask.kind == case.kind,
            )
        )
    ).scalar()
    query = select(Message).where(
        Message.conversation_id == case.conversation_id, Message.id >= min(case.message_id, first or case.message_id)
    )
    if case.status == "closed":
        closed_at = (
            await session.execute(
                select(func.max(CaseEvent.created_at)).where(CaseEvent.case_id == case.id, CaseEvent.action == "closed")
            )
        ).scalar()
        if closed_at is not None:
            query = query.where(Message.created_at <= closed_at)
    if not include_internal:
        query = query.where(Message.internal.is_(False))
    total = int((await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one())
    rows = await session.execute(query.order_by(Message.created_at, Message.id).limit(limit).offset(offset))
    return list(rows.scalars()), total


# --- the staff queue -----------------------------------------------------------------------------

STAFF_KINDS = ("human", "technical")  # a hand-off, or a problem the bot cannot fix, always needs a person
# The one definition of the staff queue: flagged cases that are not finished. The flag is set when a case
# of a staff kind is opened (`opens_needing_staff`), and later by whatever brings a case to staff, so no
# reader asks about kinds. In the words of the partial index ix_cases_queue (migration 0004), so that
# SQLite and PostgreSQL can prove the index applies to every query with this condition.
STAFF_QUEUE_WHERE = text("needs_staff = true AND status IN ('open', 'in_progress')")


def opens_needing_staff(kind: str, *, flagged: bool) -> bool:
    """Whether a case opens with `needs_staff` set: its worker or back office flagged it, or it is of a
    staff kind."""
    return flagged or kind in STAFF_KINDS


async def staff_queue(session: AsyncSession, *, limit: int | None = 50, offset: int = 0) -> tuple[list[Case], int]:
    """Open cases that need staff: unclaimed first, then oldest first. Returns (page, total)."""
    query = (
        select(Case)
        .where(STAFF_QUEUE_WHERE)
        .order_by(Case.assignee.is_not(None), Case.created_at, Case.id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    total = int((await session.execute(select(func.count()).select_from(Case).where(STAFF_QUEUE_WHERE))).scalar_one())
    return list((await session.execute(query)).scalars()), total
