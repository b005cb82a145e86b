"""The support pipeline for one stored customer message:

    plan (route + decompose) → workers in parallel → cases stored → synthesize → reply stored

Every effect is idempotent, so a message processed again after a crash ends with the same cases and
one reply: the plan is persisted with the message in the transaction that stores the cases and
pending tasks it led to (workers are pure simulations, so nothing happens before that commit that a
retry could repeat), cases are unique per (message, task), and the reply is unique per inbound message.
Storage work is kept to two write transactions here (cases, reply; one when no case or pending task
comes of the message) besides the service's store, claim (with this pipeline's reads) and finish:
SQLite has one writer at a time, so each write transaction is time every other message waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage import cases as case_store
from storage import inbox
from storage import languages as language_store
from storage import pending as pending_store
from storage.db import Database
from storage.models import Message, PendingTask

from . import telemetry
from .faults import failpoint
from .llm.runner import StepRunner, Tally
from .offline.language import detect_language
from .orchestrator import plan as make_plan
from .synthesizer import ReplyContext, synthesize
from .text import clean_text, defuse
from .tone import tone_of
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


@dataclass(frozen=True)
class Loaded:
    """A claimed message as `SupportPipeline.load` read it."""

    message: inbox.InboundRow
    existing: Message | None  # its stored reply (only a retry can have one)
    history: list[str]  # earlier customer texts of the thread
    open_pending: list[PendingTask]  # tasks of earlier messages waiting for this customer


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
    maybe_posted: bool = False  # an earlier attempt may have posted the reply already (crash before marking it sent)
    clarify: bool = False  # the reply asks which choice an unclear message is about (buttons on platforms)
    confidence: float = 1.0
    language: str = "en"  # the customer's language (ISO 639-1), as detected for the conversation

    def as_json(self) -> dict[str, Any]:
        return {"reply": self.reply, "route": self.route, "routes": self.routes,
                "cases": [c.model_dump(exclude={"new"}) for c in self.cases],
                "pending": [{"kind": p.kind, "missing": p.missing} for p in self.pending],
                "llm_calls": self.llm_calls, "confidence": self.confidence, "clarify": self.clarify,
                "language": self.language}


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

    @staticmethod
    async def load(session: AsyncSession, message_id: int) -> Loaded:
        """What processing the message reads first, in the caller's transaction (the service reads it
        in the transaction that claims the message: one transaction fewer per message)."""
        message = await inbox.load_inbound(session, message_id)
        if message is None:
            raise LookupError(f"message {message_id} not found")
        # A first attempt (the claim counted it) cannot have a stored reply yet; a retry may.
        existing = await inbox.reply_for(session, message.id) if message.attempts != 1 else None
        # History and pending tasks come from earlier customer messages of the thread: none without them.
        history = (await inbox.earlier_customer_texts(session, conversation_id=message.conversation_id,
                                                      before_id=message.id) if message.has_history else [])
        open_pending = (await pending_store.open_pending(session, message.conversation_id,
                                                         before_message_id=message.id) if history else [])
        return Loaded(message=message, existing=existing, history=history, open_pending=open_pending)

    async def process(self, message_id: int, *, loaded: Loaded | None = None) -> PipelineResult:
        if loaded is None:
            async with self.db.session() as s:
                loaded = await self.load(s, message_id)
        message, existing, history, open_pending = loaded.message, loaded.existing, loaded.history, loaded.open_pending
        target = ReplyTarget(platform=message.platform, channel_id=message.channel_id, thread_id=message.thread_id,
                             in_reply_to=message.platform_message_id or "", customer_id=message.customer_id)
        if existing is not None:  # processed before a crash or redelivery: the reply is already decided
            return self._from_stored(existing, target)

        text, truncated = clean_text(message.text)
        tally = Tally()
        log_ctx = f"conversation={message.conversation_id} message={message.id}"
        detected = detect_language(text) if text else None
        language = detected
        if language is None and history:  # "3", "A-12345": too short to tell, the thread's language holds
            async with self.db.session() as s:
                language = await language_store.conversation_language(s, message.conversation_id)
        language = language or "en"
        plan, replayed = await self._plan(message, text, history, open_pending, tally, language)

        ready = [(i, t) for i, t in enumerate(plan.tasks) if not t.missing()]
        waiting = [(i, t) for i, t in enumerate(plan.tasks) if t.missing()]
        drafts = await asyncio.gather(*(run_worker(t, conversation_id=message.conversation_id) for _, t in ready))
        save_plan = not replayed  # a retry replays the stored plan
        opened: list[CaseSummary] = []
        if ready or waiting or open_pending:  # the plan is stored with the cases and pending tasks it led to
            opened = await self._store_work(message, plan if save_plan else None, ready, drafts, waiting,
                                            open_pending)
            save_plan = False
        failpoint("after_cases")
        pending = [PendingSummary(kind=t.kind, missing=t.missing(), params=t.params.model_dump(exclude_none=True),
                                  asked=max(1, t.asked)) for _, t in waiting]
        for c in opened:
            if c.new:
                telemetry.CASES.labels(c.kind).inc()
            _log.info("%s case=%s kind=%s %s", log_ctx, c.ref, c.kind, "opened" if c.new else "reused")

        general = None
        if not plan.tasks and self.general_answerer is not None and text:
            general = await self.general_answerer(text)
        ctx = ReplyContext(text=text, routes=plan.routes, cases=list(opened), pending=pending, truncated=truncated,
                           general_answer=general, clarify=plan.clarify, language=language,
                           tone=tone_of(text, history), turn=len(history))
        reply_text = defuse(await synthesize(ctx, self.runner, tally=tally))
        result = PipelineResult(reply=reply_text, route=plan.route, routes=plan.routes, cases=list(opened),
                                pending=pending, llm_calls=tally.llm_calls, truncated=truncated, target=target,
                                clarify=plan.clarify and not opened and not pending, confidence=plan.confidence,
                                language=language)
        async with self.db.write() as s:
            if save_plan:  # nothing else came of the plan: it is stored with the reply
                await inbox.set_meta(s, message.id, {**message.meta, "plan": plan.model_dump()})
            if detected:
                await language_store.set_conversation_language(s, message.conversation_id, detected)
            reply_id = await inbox.add_reply(s, inbound=message, text=reply_text, meta=result.as_json())
            earlier = await inbox.reply_for(s, message.id) if reply_id is None else None
        failpoint("after_reply_stored")
        if earlier is not None:  # another attempt stored its reply first: that one is the answer
            return self._from_stored(earlier, target)
        assert reply_id is not None
        result.reply_message_id = reply_id
        result.maybe_posted = message.attempts > 1
        _log.info("%s route=%s cases=%s pending=%d llm_calls=%d", log_ctx, plan.route,
                  ",".join(c.ref for c in opened) or "-", len(pending), tally.llm_calls)
        return result

    async def _store_work(self, message: inbox.InboundRow, plan: Plan | None, ready: list[tuple[int, Task]],
                          drafts: list[CaseDraft], waiting: list[tuple[int, Task]],
                          open_pending: list[PendingTask]) -> list[CaseSummary]:
        """One transaction: the plan (unless replayed), the cases of the ready tasks, the pending tasks
        this message resolves and the ones it leaves waiting."""
        async with self.db.write() as s:
            if plan is not None:
                await inbox.set_meta(s, message.id, {**message.meta, "plan": plan.model_dump()})
            stored = await case_store.open_cases(
                s, [case_store.CaseSpec(kind=d.kind, task_key=f"{i}:{t.kind}", details=d.details,
                                        subject_key=d.subject_key, needs_staff=d.needs_staff)
                    for (i, t), d in zip(ready, drafts, strict=True)],
                platform=message.platform, customer_id=message.customer_id,
                conversation_id=message.conversation_id, message_id=message.id,
                first_attempt=message.attempts == 1)
            await pending_store.resolve_pending(s, [p.id for p in open_pending], by_message_id=message.id)
            for i, t in waiting:
                await pending_store.add_pending(s, conversation_id=message.conversation_id, message_id=message.id,
                                                task_key=f"{i}:{t.kind}", kind=t.kind,
                                                params={**t.params.model_dump(exclude_none=True), "asked": t.asked},
                                                missing=t.missing())
        return [CaseSummary(ref=c.ref, kind=c.kind, status=c.status, details=dict(c.details), new=created)
                for c, created in stored]

    async def _plan(self, message: inbox.InboundRow, text: str, history: list[str], open_pending: list[Any],
                    tally: Tally, language: str) -> tuple[Plan, bool]:
        """The message's plan and whether it was replayed from an earlier attempt."""
        stored = message.meta.get("plan")
        if stored:
            return Plan.model_validate(stored), True
        pending_tasks = [Task(kind=p.kind, params=TaskParams(**p.params), asked=int(p.params.get("asked", 1)))
                         for p in open_pending]
        if not text:
            return Plan(routes=["general"], tasks=pending_tasks), False
        return await make_plan(text, self.runner, history=history, pending=pending_tasks, tally=tally,
                               language=language), False

    @staticmethod
    def _from_stored(reply: Message, target: ReplyTarget) -> PipelineResult:
        meta = reply.meta or {}
        return PipelineResult(
            reply=reply.text, route=meta.get("route", "general"), routes=meta.get("routes", ["general"]),
            cases=[CaseSummary(**c) for c in meta.get("cases", [])],
            pending=[PendingSummary(**p) for p in meta.get("pending", [])], llm_calls=0,
            clarify=bool(meta.get("clarify")), confidence=float(meta.get("confidence", 1.0)),
            language=str(meta.get("language", "en")),
            reply_message_id=reply.id, reply_sent=reply.status == "sent", target=target, maybe_posted=True)
