"""The support pipeline for one stored customer message:

    plan (route + decompose) → workers in parallel → cases stored → synthesize → reply stored

Every effect is idempotent, so a message processed again after a crash ends with the same cases and
one reply: the plan is persisted with the message in the transaction that stores the cases and
pending tasks it led to (workers are pure simulations, so nothing happens before that commit that a
retry could repeat), cases are unique per (message, task), and the reply is unique per inbound message.
Storage work is kept to one read and two write transactions per message: SQLite has one writer at a
time, so each write transaction is time every other message waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from storage import cases as case_store
from storage import inbox, pending as pending_store
from storage.db import Database
from storage.models import Message

from . import telemetry
from .llm.runner import StepRunner, Tally
from .orchestrator import plan as make_plan
from .synthesizer import ReplyContext, synthesize
from .text import clean_text, defuse
from .types import CaseSummary, GeneralAnswer, PendingSummary, Plan, Route, Task, TaskParams
from .workers import billing, handoff, returns, status, technical
from .workers.base import CaseDraft

_log = logging.getLogger(__name__)

# Answers a general question from stored FAQs (wired by the bot when FAQs exist).
GeneralAnswerer = Callable[[str], Awaitable[GeneralAnswer | None]]


@dataclass(frozen=True)
class ReplyTarget:
    """Where the reply goes: read with the message, so delivering it needs no second read."""

    platform: str
    channel_id: str
    thread_id: str
    in_reply_to: str  # the customer message's platform id
    customer_id: str


@dataclass
class PipelineResult:
    reply: str
    route: Route
    routes: list[Route]
    cases: list[CaseSummary] = field(default_factory=list)
    pending: list[PendingSummary] = field(default_factory=list)
    llm_calls: int = 0
    reply_message_id: int = 0
    reply_sent: bool = False
    truncated: bool = False
    target: ReplyTarget | None = None

    def as_json(self) -> dict[str, Any]:
        return {"reply": self.reply, "route": self.route, "routes": self.routes,
                "cases": [c.model_dump(exclude={"new"}) for c in self.cases],
                "pending": [{"kind": p.kind, "missing": p.missing} for p in self.pending],
                "llm_calls": self.llm_calls}


async def run_worker(task: Task, *, conversation_id: int) -> CaseDraft:
    match task.kind:
        case "billing":
            return await billing.handle(task)
        case "return":
            return await returns.handle(task)
        case "status":
            return await status.handle(task)
        case "technical":
            return await technical.handle(task)
        case "human":
            return await handoff.handle(task, conversation_id=conversation_id)
    raise ValueError(f"no worker for {task.kind}")


class SupportPipeline:
    def __init__(self, db: Database, runner: StepRunner, *, general_answerer: GeneralAnswerer | None = None) -> None:
        self.db = db
        self.runner = runner
        self.general_answerer = general_answerer

    async def process(self, message_id: int) -> PipelineResult:
        async with self.db.session() as s:
            message = await inbox.get_message(s, message_id)
            if message is None:
                raise LookupError(f"message {message_id} not found")
            # A first attempt (the claim counted it) cannot have a stored reply yet; a retry may.
            existing = await inbox.reply_for(s, message.id) if message.attempts != 1 else None
            conversation = await inbox.get_conversation(s, message.conversation_id)
            assert conversation is not None
            history = await inbox.earlier_customer_texts(s, conversation_id=conversation.id, before_id=message.id)
            # Pending tasks come from earlier customer messages of the thread: none without history.
            open_pending = (await pending_store.open_pending(s, conversation.id, before_message_id=message.id)
                            if history else [])
        target = ReplyTarget(platform=conversation.platform, channel_id=conversation.channel_id,
                             thread_id=conversation.thread_id, in_reply_to=message.platform_message_id or "",
                             customer_id=conversation.customer_id)
        if existing is not None:  # processed before a crash or redelivery: the reply is already decided
            return self._from_stored(existing, target)

        text, truncated = clean_text(message.text)
        tally = Tally()
        log_ctx = f"conversation={conversation.id} message={message.id}"
        plan, replayed = await self._plan(message, text, history, open_pending, tally)

        ready = [(i, t) for i, t in enumerate(plan.tasks) if not t.missing()]
        waiting = [(i, t) for i, t in enumerate(plan.tasks) if t.missing()]
        drafts = await asyncio.gather(*(run_worker(t, conversation_id=message.conversation_id) for _, t in ready))
        async with self.db.write() as s:
            if not replayed:  # a retry replays this plan
                message.meta = {**(message.meta or {}), "plan": plan.model_dump()}
                s.add(message)
            stored = await case_store.open_cases(
                s, [case_store.CaseSpec(kind=d.kind, task_key=f"{i}:{t.kind}", details=d.details,
                                        subject_key=d.subject_key, needs_staff=d.needs_staff)
                    for (i, t), d in zip(ready, drafts, strict=True)],
                platform=message.platform, customer_id=conversation.customer_id,
                conversation_id=message.conversation_id, message_id=message.id)
            opened = [CaseSummary(ref=c.ref, kind=c.kind, status=c.status, details=dict(c.details), new=created)
                      for c, created in stored]
            await pending_store.resolve_pending(s, [p.id for p in open_pending], by_message_id=message.id)
            for i, t in waiting:
                await pending_store.add_pending(s, conversation_id=conversation.id, message_id=message.id,
                                                task_key=f"{i}:{t.kind}", kind=t.kind,
                                                params=t.params.model_dump(exclude_none=True), missing=t.missing())
        pending = [PendingSummary(kind=t.kind, missing=t.missing(), params=t.params.model_dump(exclude_none=True))
                   for _, t in waiting]
        for c in opened:
            if c.new:
                telemetry.CASES.labels(c.kind).inc()
            _log.info("%s case=%s kind=%s %s", log_ctx, c.ref, c.kind, "opened" if c.new else "reused")

        general = None
        if not plan.tasks and self.general_answerer is not None and text:
            general = await self.general_answerer(text)
        ctx = ReplyContext(text=text, routes=plan.routes, cases=list(opened), pending=pending, truncated=truncated,
                           general_answer=general)
        reply_text = defuse(await synthesize(ctx, self.runner, tally=tally))
        result = PipelineResult(reply=reply_text, route=plan.route, routes=plan.routes, cases=list(opened),
                                pending=pending, llm_calls=tally.llm_calls, truncated=truncated, target=target)
        async with self.db.write() as s:
            stored = await inbox.store_reply(s, inbound=message, text=reply_text, meta=result.as_json())
        result.reply_message_id = stored.id
        _log.info("%s route=%s cases=%s pending=%d llm_calls=%d", log_ctx, plan.route,
                  ",".join(c.ref for c in opened) or "-", len(pending), tally.llm_calls)
        return result if stored.text == reply_text else self._from_stored(stored, target)

    async def _plan(self, message: Message, text: str, history: list[str], open_pending: list[Any],
                    tally: Tally) -> tuple[Plan, bool]:
        """The message's plan and whether it was replayed from an earlier attempt."""
        stored = (message.meta or {}).get("plan")
        if stored:
            return Plan.model_validate(stored), True
        pending_tasks = [Task(kind=p.kind, params=TaskParams(**p.params)) for p in open_pending]
        if not text:
            return Plan(routes=["general"], tasks=pending_tasks), False
        return await make_plan(text, self.runner, history=history, pending=pending_tasks, tally=tally), False

    @staticmethod
    def _from_stored(reply: Message, target: ReplyTarget) -> PipelineResult:
        meta = reply.meta or {}
        return PipelineResult(
            reply=reply.text, route=meta.get("route", "general"), routes=meta.get("routes", ["general"]),
            cases=[CaseSummary(**c) for c in meta.get("cases", [])],
            pending=[PendingSummary(**p) for p in meta.get("pending", [])], llm_calls=0,
            reply_message_id=reply.id, reply_sent=reply.status == "sent", target=target)
