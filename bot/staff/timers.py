"""The staff loop's timers, stored in the database and fired once across processes:

    sla             a case that needs staff is still unclaimed `SLA` after it needed staff
                    → one reminder in the staff channel (in the card's thread), mentioning the staff group
    pending_remind  a task still waits for the customer after `PENDING_REMIND_H`
                    → one reminder to the customer, and the conversation goes to staff
    pending_close   … and after `PENDING_CLOSE_DAYS` → the task is closed, with a message

Time comes from the loop's injectable clock, so tests move it instead of sleeping.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage.models import Case, Conversation, PendingTask
from storage.staff_models import StaffTimer
from workflows import telemetry

from .cards import pending_close_text, pending_remind_text, sla_text
from .effects import CHAT_PLATFORMS, customer_message
from .flags import needs_staff

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimerPolicy:
    sla_minutes: float
    remind_after: timedelta
    close_after: timedelta
    staff_channels: dict[str, str]
    staff_mentions: dict[str, str]  # platform → mention of the staff group/role ("" for none)


async def unscheduled_pending(
    session: AsyncSession, policy: TimerPolicy, *, now: datetime
) -> list[tuple[int, datetime]]:
    """(id, created_at) of open pending tasks without timers yet (recent ones only: a task older than the
    auto-close delay predates the staff loop)."""
    has_timer = (
        select(StaffTimer.id)
        .where(StaffTimer.kind == "pending_remind", StaffTimer.subject_id == PendingTask.id)
        .exists()
    )
    rows = (
        await session.execute(
            select(PendingTask.id, PendingTask.created_at)
            .join(Conversation, Conversation.id == PendingTask.conversation_id)
            .where(
                PendingTask.status == "open",
                Conversation.platform.in_(CHAT_PLATFORMS),
                PendingTask.created_at > now - policy.close_after - timedelta(days=1),
                ~has_timer,
            )
            .limit(200)
        )
    ).all()
    return [(task_id, created_at) for task_id, created_at in rows]


async def schedule_pending(session: AsyncSession, policy: TimerPolicy, tasks: list[tuple[int, datetime]]) -> None:
    """The reminder and auto-close timers of these pending tasks (a second call adds nothing)."""
    for task_id, created_at in tasks:
        for kind, after in (("pending_remind", policy.remind_after), ("pending_close", policy.close_after)):
            await outbox.schedule(session, kind=kind, subject_id=task_id, due_at=created_at + after)


async def fire_timer(session: AsyncSession, timer: outbox.DueTimer, policy: TimerPolicy, *, now: datetime) -> bool:
    """Fire one due timer if no process has (in the caller's transaction). Returns whether it fired here."""
    if not await outbox.fire(session, timer.id, now=now):
        return False
    telemetry.STAFF_TIMERS.labels(timer.kind).inc()
    if timer.kind == "sla":
        await _sla(session, timer.subject_id, policy)
    elif timer.kind in ("pending_remind", "pending_close"):
        await _pending(session, timer.kind, timer.subject_id)
    return True


async def _sla(session: AsyncSession, case_id: int, policy: TimerPolicy) -> None:
    case = await session.get(Case, case_id)
    channel = policy.staff_channels.get(case.platform) if case is not None else None
    if case is None or not channel or case.status != "open" or case.assignee is not None:
        return  # claimed, closed or gone in time: nothing to remind
    text = sla_text(case.ref, policy.sla_minutes, policy.staff_mentions.get(case.platform, ""))
    await outbox.enqueue(
        session,
        key=f"sla:{case.id}",
        kind="staff_notice",
        platform=case.platform,
        case_id=case.id,
        payload={"channel_id": channel, "text": text},
    )
    _log.info("case=%s unclaimed past the first-response SLA: reminder queued", case.ref)


async def _pending(session: AsyncSession, kind: str, task_id: int) -> None:
    task = await session.get(PendingTask, task_id)
    if task is None or task.status != "open":
        return  # the customer answered in time
    conversation = await session.get(Conversation, task.conversation_id)
    if conversation is None:
        return
    if kind == "pending_remind":
        ref = await needs_staff(
            session,
            message_id=task.message_id,
            reason=f"{task.kind} request waiting for the customer past its reminder",
        )
        case = (await session.execute(select(Case).where(Case.ref == ref))).scalar_one()
        await customer_message(
            session,
            case,
            conversation,
            key=f"remind:{task.id}",
            text=pending_remind_text(task.kind, list(task.missing or []), conversation.language),
        )
        return
    await session.execute(
        update(PendingTask)
        .where(PendingTask.id == task.id, PendingTask.status == "open")
        .values(status="expired")
        .execution_options(synchronize_session=False)
    )
    await customer_message(
        session,
        None,
        conversation,
        key=f"pending_close:{task.id}",
        text=pending_close_text(task.kind, conversation.language),
    )
    _log.info("pending %s task %s closed after waiting for the customer", task.kind, task.id)
