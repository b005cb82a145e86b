"""One customer message, from the adapter to the reply in its thread — the one path, top-down:

    handle: store (the durable inbox) → wait for the conversation's turn and a free slot
    _process_claimed: claim (+ read history and pending tasks) → _answer → deliver → finish
    _answer: plan → decide each task's case → workers → store cases and pending tasks → synthesize →
             store the reply

The language work (plan, workers, synthesis) is `workflows.pipeline.SupportWorkflow`, which has no
database; storing, claiming and delivering happen here. Delivery goes to the `Platform` of the
message's platform, from the dict of running platforms the service was handed.

The path's steps call small helpers: `bot.inbound` (storing an arrival), `bot.claimed` (what a
claimed message reads), `bot.case_work` (the tasks' work orders and the transaction that stores their
cases), `bot.replies` (the stored reply and the message that delivers it).

Messages of one conversation are processed in order; different conversations in parallel under a
global limit. A message waiting for a slot is stored (never dropped) and gets one queue notice
(`bot/queue_notice.py`). A message that fails stays in the inbox and is retried by `resume()` — at
start-up and periodically — so nothing is lost; a redelivered event finds its stored message and is
not answered twice. At shutdown (`accepting = False`) new and waiting messages are stored and left for
the next start; `drain()` waits, bounded, for the ones in flight.

Every effect is idempotent, so a message processed again after a crash ends with the same cases and
one reply: the plan is stored with the cases and pending tasks it led to (in one transaction), cases
are unique per (message, task), the reply is unique per inbound message, and a reply that an earlier
attempt may have posted is delivered with `maybe_posted` (the adapter looks for it before posting).
Storage work is kept to four short writes per message (store, claim with the reads, cases, reply;
finish), and concurrent messages' writes share transactions (`storage/group_commit.py`) — SQLite has
one writer at a time, so each transaction is time every other message waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession

from adapters.platform import Inbound, Platform
from storage import case_answers, inbox, inbox_claims
from storage import languages as language_store
from storage.db import Database
from storage.group_commit import Together
from storage.models import Message
from workflows import telemetry
from workflows.faults import failpoint
from workflows.pipeline import Answer, SupportWorkflow
from workflows.types import CaseSummary, Task
from workflows.workers.base import task_subject

from . import inbound as inbound_store
from . import leases
from .case_work import decide_refs, store_work, work_context
from .claimed import Loaded, load_claimed
from .dead_letters import RetryPolicy, after_failure, describe, is_permanent
from .leases import CLAIM_LEASE_S
from .queue_notice import QUEUE_NOTICE_S, QueueNotices
from .replies import FINISH_REPLIED, StoredReply, outbound, stored_reply
from .turns import ConversationTurns

_log = logging.getLogger(__name__)

Key = tuple[str, str, str]  # platform, channel, thread: one conversation


@dataclass
class HandleOutcome:
    result: Answer | None
    duplicate: bool = False
    message_id: int | None = None
    error: str | None = None
    deferred: bool = False  # stored but not processed (shutting down): answered after the next start
    held: bool = False  # stored, not answered: a staff member has taken the conversation over


class DeliveryUnavailable(Exception):
    """No platform of that name is running in this process."""


class SupportService:
    def __init__(
        self,
        db: Database,
        workflow: SupportWorkflow,
        platforms: Mapping[str, Platform],
        *,
        concurrency: int = 32,
        worker_id: str | None = None,
        queue_notice_s: float | None = QUEUE_NOTICE_S,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.db = db
        self.retry = retry or RetryPolicy()
        self.workflow = workflow
        self.platforms = platforms  # the running platforms by name (filled by the bot as it starts them)
        self.worker_id = worker_id or leases.new_worker_id()
        leases.register_live(self.worker_id)
        self.accepting = True
        # Receiver of a split deployment (`supportbot run --workers N`): messages are stored, and worker
        # processes claim them from the inbox (`bot/inbox_worker.py`); nothing is processed here.
        self.receive_only = False
        self._slots = asyncio.Semaphore(concurrency)
        self._claim: Together[int, Loaded | None] = Together("claim", self._claim_many)
        self._turns = ConversationTurns()
        self._notices = QueueNotices(db, platforms, worker_id=self.worker_id, delay_s=queue_notice_s)
        # The staff loop's takeover: is the bot quiet in a conversation; a staff member wrote in one.
        self.quiet: Callable[[AsyncSession, int], Awaitable[bool]] | None = None
        self.staff_wrote: Callable[[int, str], Awaitable[None]] | None = None

    @property
    def queue_notice_s(self) -> float | None:
        return self._notices.delay_s

    @queue_notice_s.setter
    def queue_notice_s(self, value: float | None) -> None:
        self._notices.delay_s = value

    # --- one message ---------------------------------------------------------------------------
    async def handle(self, inbound: Inbound) -> HandleOutcome:
        """Store, process and answer one inbound message, at most once."""
        key = (inbound.platform, inbound.channel_id, inbound.thread_id)
        # A place in the conversation's line is taken on arrival (its messages are answered in the order they
        # arrived), and the message is stored before waiting for the turn: acknowledged means stored.
        async with self._turns.in_line(key) as my_turn:
            message = await self.db.grouped(
                lambda s: inbound_store.store(s, inbound, meta={"user_name": inbound.user_name, "is_dm": inbound.is_dm})
            )
            created = message.created
            failpoint("after_store")
            if created:
                telemetry.MESSAGES.labels("received").inc()
            elif message.status != "received":
                _log.info(
                    "message %s (%s) seen again; status %s — not answered twice",
                    message.id,
                    inbound.message_id,
                    message.status,
                )
                return HandleOutcome(result=None, duplicate=True, message_id=message.id)
            if not self.accepting:
                _log.info(
                    "message %s (conversation %s) stored while shutting down; answered after the next start",
                    message.id,
                    message.conversation_id,
                )
                return HandleOutcome(result=None, message_id=message.id, deferred=True)
            if self.receive_only:  # a worker process answers it; the customer hears if it waits long
                self._notices.arm(message.id, key)
                return HandleOutcome(result=None, message_id=message.id, deferred=True)
            await my_turn()
            return await self._when_slot_free(message.id, key)

    async def _when_slot_free(self, message_id: int, key: Key) -> HandleOutcome:
        """Wait for one of the global slots (stored meanwhile, never dropped), then process."""
        timer = self._notices.arm(message_id, key) if self._slots.locked() else None
        try:
            async with self._slots:
                if timer is not None:
                    timer.cancel()
                if not self.accepting:  # shutting down: it waits, stored, for the next start
                    return HandleOutcome(result=None, message_id=message_id, deferred=True)
                await self._notices.before_answer(message_id)
                return await self._process_claimed(message_id)
        finally:
            if timer is not None:
                timer.cancel()

    async def _process_claimed(self, message_id: int, *, loaded: Loaded | None = None) -> HandleOutcome:
        """Claim and process one message (`loaded`: claimed and read already, by `claim_waiting`)."""
        if loaded is None:
            loaded = await self.db.grouped.together(self._claim, message_id)
        if loaded is None:
            return HandleOutcome(result=None, duplicate=True, message_id=message_id)
        if loaded.held:
            _log.info("message %s: its conversation is taken over by staff; stored, not answered", message_id)
            return HandleOutcome(result=None, message_id=message_id, held=True)
        attempts = loaded.message.attempts
        if attempts > self.retry.max_attempts:  # its workers kept dying on it (killed, out of memory)
            await after_failure(
                self.db,
                message_id,
                attempts=attempts - 1,
                permanent=False,
                policy=self.retry,
                error="no attempt finished: its worker stopped each time (killed or crashed)",
            )
            return HandleOutcome(result=None, message_id=message_id, error="GivenUp")
        failpoint("after_claim")
        step = "pipeline"
        try:
            reply = stored_reply(loaded.existing) if loaded.existing is not None else await self._answer(loaded)
            step = "deliver"
            platform_id = None if reply.sent else await self._deliver(loaded.message, reply)
            failpoint("after_post")
        except asyncio.CancelledError:  # shutdown ran out of time: give the message back for the next start
            await asyncio.shield(self._release(message_id, "interrupted by shutdown"))
            raise
        except Exception as exc:  # retried later or given up; the customer never sees exception text
            permanent = is_permanent(exc)
            if permanent:
                _log.warning("message %s failed at %s: %s", message_id, step, exc)
            else:
                _log.exception("message %s failed at %s (attempt %d)", message_id, step, attempts)
            telemetry.MESSAGES.labels("failed").inc()
            telemetry.ERRORS.labels(step).inc()
            try:
                await after_failure(
                    self.db, message_id, attempts=attempts, error=describe(exc), permanent=permanent, policy=self.retry
                )
            except Exception:  # the claim's lease runs out instead, and the message is tried again
                _log.exception("message %s: its failure could not be recorded", message_id)
            return HandleOutcome(result=None, message_id=message_id, error=type(exc).__name__)

        # The reply marked sent and the message finished together (with the other messages finishing now).
        await self.db.grouped.together(FINISH_REPLIED, (message_id, reply.id, platform_id))
        failpoint("after_mark_sent")
        telemetry.MESSAGES.labels("replied").inc()
        return HandleOutcome(result=reply.answer, message_id=message_id)

    async def _claim_many(self, session: AsyncSession, message_ids: list[int]) -> list[Loaded | None]:
        """Claim messages (those of one group commit, in one statement) and read each claimed one; None for
        a message someone else holds or that is done. The reads share the claim's transaction."""
        claimed = await inbox_claims.claim_messages(session, message_ids, worker=self.worker_id, lease_s=CLAIM_LEASE_S)
        rows = await inbox.load_inbound_many(session, [i for i in message_ids if i in claimed])
        return [await self._claimed(session, i, rows.get(i)) if i in claimed else None for i in message_ids]

    async def _claimed(self, session: AsyncSession, message_id: int, row: inbox.InboundRow | None = None) -> Loaded:
        """A message just claimed, read in the claim's transaction; finished at once if its thread is
        taken over by staff (then `held`: stored, in the transcript, not answered)."""
        loaded = await load_claimed(session, message_id, row)
        quiet = self.quiet
        if loaded.message.has_history and quiet is not None and await quiet(session, loaded.message.conversation_id):
            await inbox.finish_message(session, message_id, status="taken_over")
            return replace(loaded, held=True)
        return loaded

    async def _answer(self, loaded: Loaded) -> StoredReply:
        """Plan, work, store the cases, write the reply and store it."""
        message = loaded.message
        log_ctx = f"conversation={message.conversation_id} message={message.id}"
        planned = await self.workflow.plan(
            message.text,
            history=loaded.history,
            stored_plan=message.meta.get("plan"),
            pending=[
                Task.model_validate({"kind": p.kind, "params": p.params, "asked": p.params.get("asked", 1)})
                for p in loaded.open_pending
            ],
            thread_language=loaded.language,
        )
        # Each task's case reference is decided before its back office runs, and handed to it.
        ready = planned.ready
        keys = [planned.task_key(i) for i, _ in ready]
        refs = planned.plan.case_refs
        save_plan = not planned.replayed
        if save_plan and any(self.workflow.backoffices.calls_out(t.kind) for _, t in ready):
            # Your systems get the reference of the case the task will be stored as (an open case about the
            # same subject, else a new one), and a retry must send the same: kept with the plan before the call.
            async with self.db.write() as s:
                reuse = await case_answers.open_refs_by_subject(
                    s,
                    platform=message.platform,
                    customer_id=message.customer_id,
                    subjects=[k for _, t in ready if (k := task_subject(t)) is not None],
                )
                decide_refs(refs, keys, ready, reuse)
                await inbox.set_meta(s, message.id, {**message.meta, "plan": planned.plan.model_dump()})
            save_plan = False
        decide_refs(refs, keys, ready, {})
        orders = [(task, work_context(message, key, refs[key])) for key, (_, task) in zip(keys, ready, strict=True)]
        drafts = await self.workflow.work(orders)
        failpoint("after_backoffice")
        cases: list[CaseSummary] = []
        new_language = planned.detected if planned.detected != loaded.language else None  # written once, if new
        if orders or planned.waiting or loaded.open_pending:  # the plan is stored with what it led to
            cases = await store_work(
                self.db,
                message,
                planned,
                keys,
                orders,
                drafts,
                loaded.open_pending,
                save_plan=save_plan,
                calls_out=self.workflow.backoffices.calls_out,
                language=new_language,
            )
            save_plan, new_language = False, None
        failpoint("after_cases")
        for c in cases:
            if c.new:
                telemetry.CASES.labels(c.kind).inc()
            _log.info("%s case=%s kind=%s %s", log_ctx, c.ref, c.kind, "opened" if c.new else "reused")

        answer = await self.workflow.reply(planned, cases)

        async def store_reply(s: AsyncSession) -> tuple[int | None, Message | None]:
            if save_plan:  # nothing else came of the plan: it is stored with the reply
                await inbox.set_meta(s, message.id, {**message.meta, "plan": planned.plan.model_dump()})
            if new_language:  # the conversation keeps the customer's language (the staff card shows it)
                await language_store.set_conversation_language(s, message.conversation_id, new_language)
            reply_id = await inbox.add_reply(s, inbound=message, text=answer.reply, meta=answer.as_json())
            return reply_id, (await inbox.reply_for(s, message.id) if reply_id is None else None)

        reply_id, earlier = await self.db.grouped(store_reply)
        failpoint("after_reply_stored")
        if earlier is not None:  # another attempt stored its reply first: that one is the answer
            return stored_reply(earlier)
        assert reply_id is not None
        _log.info(
            "%s route=%s cases=%s pending=%d llm_calls=%d",
            log_ctx,
            answer.route,
            ",".join(c.ref for c in cases) or "-",
            len(answer.pending),
            answer.llm_calls,
        )
        return StoredReply(id=reply_id, answer=answer, sent=False, maybe_posted=message.attempts > 1)

    async def _deliver(self, message: inbox.InboundRow, reply: StoredReply) -> str:
        """Post the reply on the message's platform; returns the platform's id for it."""
        platform = self.platforms.get(message.platform)
        if platform is None:
            raise DeliveryUnavailable(f"no adapter for {message.platform} is running")
        return await platform.deliver(outbound(message, reply))

    async def _release(self, message_id: int, error: str) -> None:
        try:
            async with self.db.write() as s:
                await inbox_claims.release_message(s, message_id, error=error)
        except Exception:  # the claim's lease runs out instead
            _log.warning("message %s could not be released; retried when its claim expires", message_id)

    # --- staff messages, retries, leases, shutdown ----------------------------------------------
    async def record_staff_message(self, inbound: Inbound) -> bool:
        """A staff member wrote in a support thread: kept in the transcript, not answered (see `bot.inbound`)."""
        return await inbound_store.record_staff_message(self.db, inbound, staff_wrote=self.staff_wrote)

    async def resume(self, *, platforms: tuple[str, ...] | None = None) -> int:
        """Process every unfinished message (after a crash or a failed delivery). Returns how many."""
        if self.receive_only:  # the worker processes take what waits in the inbox
            return 0
        await self.release_dead_claims()
        async with self.db.session() as s:
            rows = await inbox_claims.unfinished_messages(s, platforms=platforms or tuple(self.platforms))
            conversations = {r.conversation_id: await inbox.get_conversation(s, r.conversation_id) for r in rows}
        jobs = []
        for row in rows:  # given-up messages and those waiting out their backoff are not among them
            conv = conversations[row.conversation_id]
            assert conv is not None
            jobs.append(self._process(row.id, (conv.platform, conv.channel_id, conv.thread_id)))
        if jobs:
            _log.info("resuming %d unfinished messages", len(jobs))
        outcomes = await asyncio.gather(*jobs)
        return sum(1 for o in outcomes if o.result is not None)

    async def claim_waiting(self, *, limit: int) -> list[Loaded]:
        """A worker process's batch: up to `limit` waiting messages of this service's platforms, claimed in
        one statement, in conversation order (see `inbox_claims.claim_waiting`), and read in the same transaction."""
        async with self.db.write() as s:
            claimed = await inbox_claims.claim_waiting(
                s, worker=self.worker_id, lease_s=CLAIM_LEASE_S, limit=limit, platforms=tuple(self.platforms)
            )
            rows = await inbox.load_inbound_many(s, [message_id for message_id, _ in claimed])
            return [await self._claimed(s, message_id, rows.get(message_id)) for message_id, _ in claimed]

    async def run_claimed(self, loaded: Loaded) -> HandleOutcome:
        """Process a message this service claimed with `claim_waiting` (counted in flight for `drain`)."""
        async with self._turns.turn(("conversation", str(loaded.message.conversation_id), "")), self._slots:
            return await self._process_claimed(loaded.message.id, loaded=loaded)

    async def _process(self, message_id: int, key: Key) -> HandleOutcome:
        async with self._turns.turn(key):
            return await self._when_slot_free(message_id, key)

    async def release_dead_claims(self) -> int:
        """Give back messages claimed by processes of this host that died (killed, crashed) instead of
        waiting out their lease: a restart answers them at once. Claims of other hosts wait for their lease."""

        async def release(s: AsyncSession, message_id: int, worker: str) -> bool:
            return await inbox_claims.release_message(s, message_id, error="worker died", worker=worker)

        released = await leases.release_dead_claims(
            self.db, me=self.worker_id, claims=inbox_claims.claims_with_prefix, release=release
        )
        if released:
            _log.info("released %d messages claimed by workers of this host that are gone", released)
        return released

    async def renew_claims(self) -> int:
        """Extend the leases of the messages this service is working on; returns how many."""
        async with self.db.write() as s:
            return await inbox_claims.extend_claims(s, worker=self.worker_id, lease_s=CLAIM_LEASE_S)

    async def drain(self, *, timeout_s: float) -> bool:
        """Wait (bounded) for messages in flight; what is left stays in the inbox for the next start.
        Returns False when the bound ran out first."""
        return await self._turns.drain(timeout_s=timeout_s)
