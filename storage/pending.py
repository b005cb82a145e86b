"""Tasks waiting for information from the customer (an invoice number, a reason for a return)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Message, PendingTask
from .statements import PerDialect

_pending = cast(Table, PendingTask.__table__)
# uq_pending_task (message, task) makes a second insert of the same task a no-op.
_NEW_PENDING = PerDialect(lambda insert: insert(_pending).on_conflict_do_nothing().returning(_pending.c.id))


async def open_pending(
    session: AsyncSession,
    conversation_id: int,
    *,
    before_message_id: int | None = None,
    author_id: str | None = None,
) -> list[PendingTask]:
    """Tasks waiting for an answer in the thread; with `author_id`, only those that customer asked for."""
    query = select(PendingTask).where(PendingTask.conversation_id == conversation_id, PendingTask.status == "open")
    if before_message_id is not None:
        query = query.where(PendingTask.message_id < before_message_id)
    if author_id is not None:
        query = query.where(PendingTask.message_id.in_(select(Message.id).where(Message.author_id == author_id)))
    return list((await session.execute(query.order_by(PendingTask.id))).scalars())


async def add_pending(
    session: AsyncSession,
    *,
    conversation_id: int,
    message_id: int,
    task_key: str,
    kind: str,
    params: dict[str, Any],
    missing: list[str],
) -> bool:
    """Record a task waiting for the customer; idempotent per (message, task). Returns whether it was new."""
    return (
        await session.execute(
            _NEW_PENDING(session),
            {
                "conversation_id": conversation_id,
                "message_id": message_id,
                "task_key": task_key,
                "kind": kind,
                "params": params,
                "missing": missing,
                "status": "open",
            },
        )
    ).scalar() is not None


async def resolve_pending(session: AsyncSession, ids: list[int], *, by_message_id: int) -> None:
    if ids:
        await session.execute(
            update(PendingTask)
            .where(PendingTask.id.in_(ids), PendingTask.status == "open")
            .values(status="done", resolved_by_message_id=by_message_id)
            .execution_options(synchronize_session=False)
        )
