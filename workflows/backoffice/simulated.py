"""The simulated back office: a demo, labelled as one (`"source": "simulated"` in every case).

Order statuses are derived from a hash of the order id, returns are approved automatically with a
prepaid label, billing investigations get a fixed estimate. Right for trying the bot and for tests;
wrong for real customers — connect the team's systems with the webhook or a connector instead.
"""

from __future__ import annotations

from ..types import Task
from ..workers import billing, returns, status
from .base import Outcome, TaskContext

NAME = "simulated"
DEMO_NOTICE = (
    "DEMO: order statuses, tracking numbers and return approvals are made up by the simulated back "
    "office; set SUPPORTBOT_BACKOFFICE to connect your systems (README: What is simulated)"
)


class SimulatedBackOffice:
    name = NAME

    async def handle(self, task: Task, ctx: TaskContext) -> Outcome:
        match task.kind:
            case "billing":
                draft = await billing.handle(task, ctx)
            case "return":
                draft = await returns.handle(task, ctx)
            case "status":
                draft = await status.handle(task, ctx)
            case _:
                raise ValueError(f"the simulated back office has no {task.kind} desk")
        return Outcome(details=draft.details, source=NAME)
