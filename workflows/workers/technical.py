"""Technical support: opens a case for a technician and lists what they will need."""

from __future__ import annotations

from ..types import Task
from .base import CaseDraft, WorkContext

NEEDED = (
    "the product or app and its version",
    "what you expected and what happened instead",
    "any error message, word for word",
    "the steps that make it happen",
)


async def handle(task: Task, ctx: WorkContext) -> CaseDraft:
    issue = (task.params.issue or "").strip() or "technical problem reported"
    return CaseDraft(kind="technical", details={"issue": issue[:500], "needed_from_customer": list(NEEDED)})
