"""The tasks of one message as work orders and their stored outcome: each ready task's case reference and
idempotency key, and the one transaction that stores the cases, the pending tasks and the plan."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from storage import case_answers, case_open, inbox
from storage import cases as case_store
from storage import languages as language_store
from storage import pending as pending_store
from storage.db import Database
from storage.models import PendingTask
from workflows.pipeline import Planned
from workflows.types import CaseSummary, Task
from workflows.workers.base import CaseDraft, WorkContext, task_subject


def decide_refs(
    refs: dict[str, str], keys: list[str], ready: list[tuple[int, Task]], reuse: dict[tuple[str, str], str]
) -> None:
    """Each ready task's case reference (kept in the plan): an open case about the same subject, else new."""
    for key, (_, task) in zip(keys, ready, strict=True):
        refs.setdefault(key, reuse.get((task.kind, task_subject(task) or "")) or case_store.new_ref(task.kind))


def work_context(message: inbox.InboundRow, task_key: str, case_ref: str) -> WorkContext:
    """The idempotency key depends only on the message and the task: every attempt (after a crash too)
    sends the same one, and two bots on separate databases do not collide."""
    key = hashlib.sha256(f"{message.platform}\0{message.id}\0{message.platform_message_id}\0{task_key}".encode())
    return WorkContext(
        case_ref=case_ref,
        idempotency_key=key.hexdigest()[:40],
        platform=message.platform,
        customer_id=message.customer_id,
        conversation_id=message.conversation_id,
        message_id=message.id,
    )


async def store_work(
    db: Database,
    message: inbox.InboundRow,
    planned: Planned,
    keys: list[str],
    orders: list[tuple[Task, WorkContext]],
    drafts: list[CaseDraft],
    open_pending: list[PendingTask],
    *,
    save_plan: bool,
    calls_out: Callable[[str], bool],
    language: str | None = None,
) -> list[CaseSummary]:
    """One transaction: the plan (unless replayed), the cases of the ready tasks, the pending tasks
    this message resolves and the ones it leaves waiting. `calls_out(kind)`: whether that kind's back
    office is the team's own system (its latest answer then replaces a reused case's details). `language`:
    the conversation's language when this message changed it (stored here, with the cases)."""

    async def write(s: AsyncSession) -> list[CaseSummary]:
        if save_plan:
            await inbox.set_meta(s, message.id, {**message.meta, "plan": planned.plan.model_dump()})
        stored = await case_open.open_cases(
            s,
            [
                case_open.CaseSpec(
                    kind=d.kind,
                    task_key=key,
                    details=d.details,
                    subject_key=d.subject_key,
                    needs_staff=d.needs_staff,
                    ref=ctx.case_ref,
                )
                for key, (_, ctx), d in zip(keys, orders, drafts, strict=True)
            ],
            platform=message.platform,
            customer_id=message.customer_id,
            conversation_id=message.conversation_id,
            message_id=message.id,
            first_attempt=message.attempts == 1,
        )
        await pending_store.resolve_pending(s, [p.id for p in open_pending], by_message_id=message.id)
        if language:  # a newly detected language, with the cases, so that their staff cards show it
            await language_store.set_conversation_language(s, message.conversation_id, language)
        for i, t in planned.waiting:
            await pending_store.add_pending(
                s,
                conversation_id=message.conversation_id,
                message_id=message.id,
                task_key=planned.task_key(i),
                kind=t.kind,
                params={**t.params.model_dump(exclude_none=True), "asked": t.asked},
                missing=t.missing(),
            )
        cases = []
        for (c, created), d in zip(stored, drafts, strict=True):
            details = dict(c.details)
            if not created and calls_out(d.kind):  # the latest answer counts
                await case_answers.refresh_details(s, c.id, d.details, needs_staff=d.needs_staff)
                details = dict(d.details)
            cases.append(
                CaseSummary(
                    ref=c.ref, kind=c.kind, status=c.status, details=details, new=created, needs_staff=d.needs_staff
                )
            )
        return cases

    return await db.grouped(write)
