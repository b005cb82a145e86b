"""The language workflow for one customer message — no database, no platform:

    plan (route + decompose; or the stored plan of an earlier attempt) → back offices in parallel → synthesize

The core (`bot/service.py`) calls the three steps in order and stores what comes of them between the
second and the third (the cases the reply quotes). Everything here is a function of its inputs: the
text, the thread's earlier customer texts, the tasks still waiting for this customer, and the cases.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .backoffice.dispatch import BackOffices
from .llm.runner import StepRunner, Tally
from .offline.language import detect_language
from .orchestrator import plan as make_plan
from .synthesizer import ReplyContext, synthesize
from .text import clean_text, defuse
from .tone import Tone, tone_of
from .types import CaseSummary, GeneralAnswer, PendingSummary, Plan, Route, Task
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
    fallbacks: int = 0  # steps the offline engine answered after a model failure (the console's insights)
    truncated: bool = False
    clarify: bool = False  # the reply asks which choice an unclear message is about (buttons on platforms)
    confidence: float = 1.0  # how sure the routing was
    language: str = "en"  # the customer's (ISO 639-1), as detected for the conversation

    def as_json(self) -> dict[str, Any]:
        return {
            "reply": self.reply,
            "route": self.route,
            "routes": self.routes,
            "cases": [c.model_dump(exclude={"new"}) for c in self.cases],
            "pending": [{"kind": p.kind, "missing": p.missing} for p in self.pending],
            "llm_calls": self.llm_calls,
            "fallbacks": self.fallbacks,
            "confidence": self.confidence,
            "clarify": self.clarify,
            "language": self.language,
        }

    @classmethod
    def from_json(cls, reply: str, meta: dict[str, Any]) -> Answer:
        """An answer stored with its reply (`as_json()` as the reply's meta)."""
        return cls(
            reply=reply,
            route=meta.get("route", "general"),
            routes=meta.get("routes", ["general"]),
            cases=[CaseSummary(**c) for c in meta.get("cases", [])],
            pending=[PendingSummary(**p) for p in meta.get("pending", [])],
            llm_calls=0,
            fallbacks=int(meta.get("fallbacks", 0)),
            clarify=bool(meta.get("clarify")),
            confidence=float(meta.get("confidence", 1.0)),
            language=str(meta.get("language", "en")),
        )


@dataclass
class Planned:
    """A message's plan, split into the tasks that can start and those waiting for information."""

    text: str  # the customer's text, cleaned (and cut when huge)
    truncated: bool
    plan: Plan
    replayed: bool  # the plan of an earlier attempt (already stored)
    tally: Tally
    language: str = "en"  # the customer's: detected in this message, else the thread's
    detected: str | None = None  # detected in this message (None: too short to tell); the core stores it
    tone: Tone = ""
    turn: int = 0  # earlier customer messages in the thread

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
        return [
            PendingSummary(
                kind=t.kind, missing=t.missing(), params=t.params.model_dump(exclude_none=True), asked=max(1, t.asked)
            )
            for _, t in self.waiting
        ]


_SIMULATED = BackOffices()


async def run_worker(task: Task, ctx: WorkContext) -> CaseDraft:
    """One task through the simulated back office (the benchmarks)."""
    return await _SIMULATED.draft(task, ctx)


class SupportWorkflow:
    def __init__(
        self,
        runner: StepRunner,
        *,
        general_answerer: GeneralAnswerer | None = None,
        backoffices: BackOffices | None = None,
    ) -> None:
        self.runner = runner
        self.general_answerer = general_answerer
        self.backoffices = backoffices or _SIMULATED  # where billing, return and status tasks go

    async def plan(
        self,
        text: str,
        *,
        history: Sequence[str] = (),
        pending: Sequence[Task] = (),
        stored_plan: dict[str, Any] | None = None,
        thread_language: str | None = None,
    ) -> Planned:
        """Route and decompose the message (a stored plan is replayed: a retry does what the first try
        decided). Tasks still waiting for this customer are offered to the planner to complete. The
        message's language is detected; `thread_language` (the conversation's) holds when it is too
        short to tell."""
        clean, truncated = clean_text(text)
        tally = Tally()
        detected = detect_language(clean) if clean else None
        language = detected or thread_language or "en"
        tone = tone_of(clean, history)

        def planned(plan: Plan, replayed: bool) -> Planned:
            return Planned(
                clean,
                truncated,
                plan,
                replayed,
                tally,
                language=language,
                detected=detected,
                tone=tone,
                turn=len(history),
            )

        if stored_plan:
            return planned(Plan.model_validate(stored_plan), True)
        if not clean:
            return planned(Plan(routes=["general"], tasks=list(pending)), False)
        return planned(
            await make_plan(clean, self.runner, history=history, pending=pending, tally=tally, language=language), False
        )

    async def work(self, orders: Sequence[tuple[Task, WorkContext]]) -> list[CaseDraft]:
        """Every ready task through its back office, in parallel."""
        return list(await asyncio.gather(*(self.backoffices.draft(task, ctx) for task, ctx in orders)))

    async def reply(self, planned: Planned, cases: Sequence[CaseSummary]) -> Answer:
        """The one reply, quoting every case (a general question may be answered from the FAQs)."""
        plan = planned.plan
        general = None
        if not plan.tasks and self.general_answerer is not None and planned.text:
            general = await self.general_answerer(planned.text)
        pending = planned.pending
        ctx = ReplyContext(
            text=planned.text,
            routes=plan.routes,
            cases=list(cases),
            pending=pending,
            truncated=planned.truncated,
            general_answer=general,
            clarify=plan.clarify,
            off_topic=plan.off_topic,
            language=planned.language,
            tone=planned.tone,
            turn=planned.turn,
        )
        text = defuse(await synthesize(ctx, self.runner, tally=planned.tally))
        return Answer(
            reply=text,
            route=plan.route,
            routes=plan.routes,
            cases=list(cases),
            pending=pending,
            llm_calls=planned.tally.llm_calls,
            fallbacks=planned.tally.fallbacks,
            truncated=planned.truncated,
            clarify=plan.clarify and not cases and not pending,
            confidence=plan.confidence,
            language=planned.language,
        )
