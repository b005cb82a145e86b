"""The staff back office: every task becomes a case for a person. Nothing is decided or invented —
no approval, no status, no tracking number; the reply quotes the case and says a person follows up."""

from __future__ import annotations

from ..types import Task
from .base import Outcome, TaskContext, needs_staff

NAME = "staff"


class StaffBackOffice:
    name = NAME

    async def handle(self, task: Task, ctx: TaskContext) -> Outcome:
        return needs_staff(task, source=NAME)
