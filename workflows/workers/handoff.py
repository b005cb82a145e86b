"""Hand-off to a person: a case flagged for staff, one per conversation while open."""

from __future__ import annotations

from ..types import Task
from .base import CaseDraft, WorkContext


async def handle(task: Task, ctx: WorkContext) -> CaseDraft:
    return CaseDraft(
        kind="human",
        subject_key=f"conversation:{ctx.conversation_id}",
        needs_staff=True,
        details={"request": (task.params.issue or "customer asked for a person")[:500]},
    )
