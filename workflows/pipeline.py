"""The language workflow for one customer message — no database, no platform:

    plan (route + decompose; or the stored plan of an earlier attempt) → workers in parallel → synthesize

The core (`bot/service.py`) calls the three steps in order and stores what comes of them between the
second and the third (the cases the reply quotes). Everything here is a function of its inputs: the
text, the thread's earlier customer texts, the tasks still waiting for this customer, and the cases.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .llm.runner import StepRunner, Tally
from .orchestrator import plan as make_plan
from .synthesizer import ReplyContext, synthesize
from .text import clean_text, defuse
from .types import CaseSummary, GeneralAnswer, PendingSummary, Plan, Route, Task
from .workers import billing, handoff, returns, status, technical
from .workers.base import CaseDraft, WorkContext

# Answers a general question from stored FAQs (wired by the bot when FAQs exist).
GeneralAnswerer = Callable[[str], Awaitable[GeneralAnswer | None]]


@dataclass
class Answer:
    """What the customer is told, and what it rests on (`supportbot ask --json` prints `as_json()`)."""

    reply: str
    route: Route
    routes: list[Route]
    cases: list[CaseSummary] = field(default_factory=list)
    pending: list[PendingSummary] = field(default_factory=list)
    llm_calls: int = 0
    truncated: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"reply": self.reply, "route": self.route, "routes": self.routes,
                "cases": [c.model_dump(exclude={"new"}) for c in self.cases],
                "pending": [{"kind": p.kind, "missing": p.missing} for p in self.pending],
                "llm_calls": self.llm_calls}

    @classmethod
    def from_json(cls, reply: str, meta: dict[str, Any]) -> Answer:
        """An answer stored with its reply (`as_json()` as the reply's meta)."""
        return cls(reply=reply, route=meta.get("route", "general"), routes=meta.get("routes", ["general"]),
                   cases=[CaseSummary(**c) for c in meta.get("cases", [])],
                   pending=[PendingSummary(**p) for p in meta.get("pending", [])], llm_calls=0)


@dataclass
class Planned:
    """A message's plan, split into the tasks that can start and those waiting for information."""

    text: str  # the customer's text, cleaned (and cut when huge)
    truncated: bool
    plan: Plan
    replayed: bool  # the plan of an earlier attempt (already stored)
    tally: Tally

    def task_key(self, index: int) -> str:
        """The task's key within its message (cases and pending tasks are unique per message and key)."""
        return f"{index}:{self.plan.tasks[index].kind}"

    @property
    def ready(self) -> list[tuple[int, Task]]:
        return [(i, t) for i, t in enumerate(self.plan.tasks) if not t.missing()]

    @property
    def waiting(self) -> list[tuple[int, Task]]:
        return [(i, t) for i, t in enumerate(self.plan.tasks) if t.missing()]

    @property
    def pending(self) -> list[PendingSummary]:
        return [PendingSummary(kind=t.kind, missing=t.missing(), params=t.params.model_dump(exclude_none=True))
                for _, t in self.waiting]


async def run_worker(task: Task, ctx: WorkContext) -> CaseDraft:
    match task.kind:
        case "billing":
            return await billing.handle(task, ctx)
        case "return":
            return await returns.handle(task, ctx)
        case "status":
            return await status.handle(task, ctx)
        case "technical":
            return await technical.handle(task, ctx)
        case "human":
            return await handoff.handle(task, ctx)
    raise ValueError(f"no worker for {task.kind}")


class SupportWorkflow:
    def __init__(self, runner: StepRunner, *, general_answerer: GeneralAnswerer | None = None) -> None:
        self.runner = runner
        self.general_answerer = general_answerer

    async def plan(self, text: str, *, history: Sequence[str] = (), pending: Sequence[Task] = (),
                   stored_plan: dict[str, Any] | None = None) -> Planned:
        """Route and decompose the message (a stored plan is replayed: a retry does what the first try
        decided). Tasks still waiting for this customer are offered to the planner to complete."""
        clean, truncated = clean_text(text)
        tally = Tally()
        if stored_plan:
            return Planned(clean, truncated, Plan.model_validate(stored_plan), True, tally)
        if not clean:
            return Planned(clean, truncated, Plan(routes=["general"], tasks=list(pending)), False, tally)
        plan = await make_plan(clean, self.runner, history=history, pending=pending, tally=tally)
        return Planned(clean, truncated, plan, False, tally)

    @staticmethod
    async def work(orders: Sequence[tuple[Task, WorkContext]]) -> list[CaseDraft]:
        """Every ready task's worker, in parallel."""
        return list(await asyncio.gather(*(run_worker(task, ctx) for task, ctx in orders)))

    async def reply(self, planned: Planned, cases: Sequence[CaseSummary]) -> Answer:
        """The one reply, quoting every case (a general question may be answered from the FAQs)."""
        plan = planned.plan
        general = None
        if not plan.tasks and self.general_answerer is not None and planned.text:
            general = await self.general_answerer(planned.text)
        pending = planned.pending
        ctx = ReplyContext(text=planned.text, routes=plan.routes, cases=list(cases), pending=pending,
                           truncated=planned.truncated, general_answer=general)
        text = defuse(await synthesize(ctx, self.runner, tally=planned.tally))
        return Answer(reply=text, route=plan.route, routes=plan.routes, cases=list(cases), pending=pending,
                      llm_calls=planned.tally.llm_calls, truncated=planned.truncated)
