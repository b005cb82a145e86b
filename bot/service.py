"""The support service: stores each inbound message (the durable inbox), processes it through the
pipeline, delivers the one reply, and records that it was delivered.

Messages of one conversation are processed in order; different conversations in parallel under a
global limit. When every slot is busy a message waits, stored, in the inbox (never dropped); if it
waits longer than `queue_notice_s` the customer gets one short "you're in the queue" notice in the
thread. A message that fails stays in the inbox and is retried by `resume()` — at start-up and
periodically — so nothing is lost; a redelivered event finds its stored message and is not answered
twice. At shutdown (`accepting = False`) new and waiting messages are stored and left for the next
start; `drain()` waits, bounded, for the ones in flight.

Several processes may share one database: a message is claimed by a one-row update with a lease
(`inbox.claim_message`), and so is its queue notice. A process that dies (SIGKILL, OOM) leaves its
claims; `resume()` gives back those of dead processes of this host at once, others when the lease ends.
A reply that an earlier attempt may already have posted is delivered with `maybe_posted`, and the
adapter looks for it on the platform before posting (crash between posting and marking it sent).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage import inbox
from storage.db import Database
from workflows import telemetry
from workflows.faults import failpoint
from workflows.pipeline import PipelineResult, SupportPipeline
from workflows.text import storable

from .messages import Deliver, Inbound, Outbound

_log = logging.getLogger(__name__)

CLAIM_LEASE_S = 120.0
MAX_ATTEMPTS = 8
QUEUE_NOTICE_S = 5.0  # a message waiting this long for a free slot gets one "you're in the queue" notice
QUEUE_NOTICE = ("Thanks for your message — it's in the queue and I'll answer here as soon as it's your turn.")
_NOTICED_MAX = 10_000
SORRY = ("Sorry — I hit a problem while working on your message. It is saved, and I'll answer here as "
         "soon as I can.")


_HOST = socket.gethostname()[:40]  # worker ids fit Message.claimed_by (64 characters)
_LIVE_WORKERS: set[str] = set()  # worker ids of the services of this process


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def dead_local_worker(worker: str, *, me: str) -> bool:
    """True if `worker` (host:pid[:token]) was a process on this host that is gone: its pid is not
    running, or it is our own pid but no service of this process (we are its restart, e.g. pid 1 in a
    container)."""
    host, sep, rest = worker.partition(":")
    pid_text = rest.partition(":")[0]
    if not sep or host != _HOST or not pid_text.isdigit() or worker == me or worker in _LIVE_WORKERS:
        return False
    pid = int(pid_text)
    return pid == os.getpid() or not _pid_alive(pid)


@dataclass
class HandleOutcome:
    result: PipelineResult | None
    duplicate: bool = False
    message_id: int | None = None
    error: str | None = None
    deferred: bool = False  # stored but not processed (shutting down): answered after the next start
    held: bool = False  # stored, not answered: a staff member has taken the conversation over


class DeliveryUnavailable(Exception):
    """No deliverer is registered for a platform (its adapter is not running in this process)."""


class SupportService:
    def __init__(self, db: Database, pipeline: SupportPipeline, *, concurrency: int = 32,
                 worker_id: str | None = None, queue_notice_s: float | None = QUEUE_NOTICE_S) -> None:
        self.db = db
        self.pipeline = pipeline
        # host:pid:token — the token tells this process from an earlier one with the same pid (a container's pid 1)
        self.worker_id = worker_id or f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        _LIVE_WORKERS.add(self.worker_id)
        self._deliverers: dict[str, Deliver] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self._conversation_locks: defaultdict[tuple[str, str, str], asyncio.Lock] = defaultdict(asyncio.Lock)
        self._lock_users: defaultdict[tuple[str, str, str], int] = defaultdict(int)
        self.accepting = True
        self.queue_notice_s = queue_notice_s
        self._idle = asyncio.Event()
        self._idle.set()
        self._noticed: OrderedDict[int, None] = OrderedDict()  # message ids told "you're in the queue"
        self._notices: dict[int, asyncio.Task[None]] = {}  # queue notices being posted, by message id
        # The staff loop's takeover: is the bot quiet in a conversation; a staff member wrote in one.
        self.quiet: Callable[[AsyncSession, int], Awaitable[bool]] | None = None
        self.staff_wrote: Callable[[int, str], Awaitable[None]] | None = None

    async def drain(self, *, timeout_s: float) -> bool:
        """Wait (bounded) for messages in flight; what is left stays in the inbox for the next start.

        Returns False when the bound ran out first."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._idle.wait()
        except TimeoutError:
            _log.warning("messages still in flight after %gs: %d; left in the inbox for the next start",
                         timeout_s, sum(self._lock_users.values()))
            return False
        return True

    def register_deliverer(self, platform: str, deliver: Deliver) -> None:
        self._deliverers[platform] = deliver

    async def handle(self, inbound: Inbound) -> HandleOutcome:
        """Store, process and answer one inbound message, at most once."""
        key = (inbound.platform, inbound.channel_id, inbound.thread_id)
        # The conversation's turn is taken before storing: its messages are answered in the order they arrived.
        async with self._conversation_turn(key):
            async with self.db.write() as s:
                message = await inbox.store_inbound(
                    s, platform=inbound.platform, channel_id=inbound.channel_id, thread_id=inbound.thread_id,
                    customer_id=inbound.user_id, platform_message_id=inbound.message_id,
                    author_id=inbound.user_id, text=storable(inbound.text),
                    meta={"user_name": inbound.user_name, "is_dm": inbound.is_dm})
                created = message.created
            failpoint("after_store")
            if created:
                telemetry.MESSAGES.labels("received").inc()
            elif message.status != "received":
                _log.info("message %s (%s) seen again; status %s — not answered twice",
                          message.id, inbound.message_id, message.status)
                return HandleOutcome(result=None, duplicate=True, message_id=message.id)
            if not self.accepting:
                _log.info("message %s (conversation %s) stored while shutting down; answered after the next "
                          "start", message.id, message.conversation_id)
                return HandleOutcome(result=None, message_id=message.id, deferred=True)
            return await self._when_slot_free(message.id, key)

    async def record_staff_message(self, inbound: Inbound) -> bool:
        """A staff member wrote in a support thread: keep it in the transcript, do not answer it.

        Returns whether it was stored now (False: seen before, or the database failed — logged)."""
        try:
            async with self.db.write() as s:
                stored = await inbox.store_inbound(
                    s, platform=inbound.platform, channel_id=inbound.channel_id, thread_id=inbound.thread_id,
                    customer_id=inbound.user_id, platform_message_id=inbound.message_id,
                    author_id=inbound.user_id, text=storable(inbound.text), role="staff")
            created = stored.created
            if created and self.staff_wrote is not None:
                await self.staff_wrote(stored.conversation_id, f"{inbound.platform}:{inbound.user_id}")
        except Exception:  # a transcript line, not a customer request: nothing waits on it
            _log.exception("could not record staff message %s", inbound.message_id)
            return False
        _log.info("staff message %s by %s in thread %s recorded%s", inbound.message_id, inbound.user_id,
                  inbound.thread_id, "" if created else " (seen before)")
        return created

    async def release_dead_claims(self) -> int:
        """Give back messages claimed by processes of this host that died (killed, crashed) instead of
        waiting out their lease: a restart answers them at once. Claims of other hosts wait for their lease."""
        async with self.db.session() as s:
            claims = await inbox.claims_with_prefix(s, f"{_HOST}:")
        dead = [(mid, worker) for mid, worker in claims if dead_local_worker(worker, me=self.worker_id)]
        released = 0
        for message_id, worker in dead:
            async with self.db.write() as s:
                released += await inbox.release_message(s, message_id, error="worker died", worker=worker)
        if released:
            _log.info("released %d messages claimed by workers of this host that are gone", released)
        return released

    async def renew_claims(self) -> int:
        """Extend the leases of the messages this service is working on; returns how many."""
        async with self.db.write() as s:
            return await inbox.extend_claims(s, worker=self.worker_id, lease_s=CLAIM_LEASE_S)

    async def resume(self, *, platforms: tuple[str, ...] | None = None) -> int:
        """Process every unfinished message (after a crash or a failed delivery). Returns how many."""
        await self.release_dead_claims()
        async with self.db.session() as s:
            rows = await inbox.unfinished_messages(s, platforms=platforms or tuple(self._deliverers))
            conversations = {r.conversation_id: await inbox.get_conversation(s, r.conversation_id) for r in rows}
        jobs = []
        for row in rows:
            if row.attempts >= MAX_ATTEMPTS:
                continue
            conv = conversations[row.conversation_id]
            assert conv is not None
            jobs.append(self._process(row.id, (conv.platform, conv.channel_id, conv.thread_id)))
        if jobs:
            _log.info("resuming %d unfinished messages", len(jobs))
        outcomes = await asyncio.gather(*jobs)
        return sum(1 for o in outcomes if o.result is not None)

    async def _process(self, message_id: int, key: tuple[str, str, str]) -> HandleOutcome:
        async with self._conversation_turn(key):
            return await self._when_slot_free(message_id, key)

    @asynccontextmanager
    async def _conversation_turn(self, key: tuple[str, str, str]) -> AsyncIterator[None]:
        """One message of a conversation at a time, first come first served (asyncio.Lock is FIFO)."""
        self._lock_users[key] += 1
        self._idle.clear()
        try:
            async with self._conversation_locks[key]:
                yield
        finally:
            self._lock_users[key] -= 1
            if not self._lock_users[key]:
                del self._lock_users[key]
                self._conversation_locks.pop(key, None)
            if not self._lock_users:  # nothing running or waiting for its turn
                self._idle.set()

    async def _when_slot_free(self, message_id: int, key: tuple[str, str, str]) -> HandleOutcome:
        """Wait for one of the global slots (stored meanwhile, never dropped), then process."""
        timer = None
        if self.queue_notice_s is not None and key[0] in self._deliverers and self._slots.locked():
            timer = asyncio.get_running_loop().call_later(self.queue_notice_s, self._queue_notice, message_id, key)
        try:
            async with self._slots:
                if timer is not None:
                    timer.cancel()
                if not self.accepting:  # shutting down: it waits, stored, for the next start
                    return HandleOutcome(result=None, message_id=message_id, deferred=True)
                if (notice := self._notices.get(message_id)) is not None:  # it goes out before the answer
                    await asyncio.wait({notice}, timeout=10)
                return await self._process_claimed(message_id)
        finally:
            if timer is not None:
                timer.cancel()

    def _queue_notice(self, message_id: int, key: tuple[str, str, str]) -> None:
        """The message has waited `queue_notice_s` for a slot: tell the customer once (per message)."""
        if message_id in self._noticed:
            return
        self._noticed[message_id] = None
        if len(self._noticed) > _NOTICED_MAX:
            self._noticed.popitem(last=False)
        task = asyncio.get_running_loop().create_task(self._post_queue_notice(message_id, key),
                                                      name=f"queue-notice-{message_id}")
        self._notices[message_id] = task
        task.add_done_callback(lambda _t: self._notices.pop(message_id, None))

    async def _post_queue_notice(self, message_id: int, key: tuple[str, str, str]) -> None:
        platform, channel_id, thread_id = key
        deliver = self._deliverers.get(platform)
        if deliver is None:
            return
        try:  # one notice per message across processes, none once some process is answering it
            async with self.db.write() as s:
                if not await inbox.claim_queue_notice(s, message_id, worker=self.worker_id):
                    return
        except Exception:
            _log.warning("message %s: could not record its queue notice; posting it", message_id)
        # A negative reply id never collides with a stored reply's id (adapters key retries on it).
        out = Outbound(platform=platform, channel_id=channel_id, thread_id=thread_id, text=QUEUE_NOTICE,
                       reply_id=-message_id)
        try:
            posted = await deliver(out)
        except Exception as exc:  # only a courtesy: the answer itself still comes
            _log.warning("message %s: queue notice not posted (%s)", message_id, type(exc).__name__)
            return
        try:
            async with self.db.write() as s:
                await inbox.record_notice(s, message_id, text=QUEUE_NOTICE, platform_message_id=posted)
        except Exception:
            _log.warning("message %s: queue notice posted but not kept in the transcript", message_id)
        telemetry.QUEUE_NOTICES.inc()
        _log.info("message %s waited over %.0fs for a free slot; queue notice posted in %s thread %s",
                  message_id, self.queue_notice_s, channel_id, thread_id)

    async def _process_claimed(self, message_id: int) -> HandleOutcome:
        held = False
        async with self.db.write() as s:
            claimed = await inbox.claim_message(s, message_id, worker=self.worker_id, lease_s=CLAIM_LEASE_S)
            # The pipeline's first reads share the claim's transaction: one transaction fewer per message.
            loaded = await self.pipeline.load(s, message_id) if claimed else None
            # A thread staff took over (it has earlier messages): stored, in the transcript, not answered.
            if loaded is not None and loaded.message.has_history and self.quiet is not None:
                held = await self.quiet(s, loaded.message.conversation_id)
                if held:
                    await inbox.finish_message(s, message_id, status="taken_over")
        if not claimed:
            return HandleOutcome(result=None, duplicate=True, message_id=message_id)
        if held:
            _log.info("message %s: its conversation is taken over by staff; stored, not answered", message_id)
            return HandleOutcome(result=None, message_id=message_id, held=True)
        failpoint("after_claim")
        step = "pipeline"
        try:
            result = await self.pipeline.process(message_id, loaded=loaded)
            step = "deliver"
            platform_id = None if result.reply_sent else await self._deliver(result)
            failpoint("after_post")
        except asyncio.CancelledError:  # shutdown ran out of time: give the message back for the next start
            await asyncio.shield(self._release(message_id, "interrupted by shutdown"))
            raise
        except Exception as exc:  # kept in the inbox and retried; the customer never sees exception text
            _log.exception("message %s failed at %s; left in the inbox for a retry", message_id, step)
            telemetry.MESSAGES.labels("failed").inc()
            telemetry.ERRORS.labels(step).inc()
            await self._release(message_id, f"{type(exc).__name__}: {exc}"[:500])
            return HandleOutcome(result=None, message_id=message_id, error=type(exc).__name__)
        async with self.db.write() as s:  # the reply marked sent and the message finished: one transaction
            if platform_id is not None:
                await inbox.mark_reply_sent(s, result.reply_message_id, platform_message_id=platform_id)
            await inbox.finish_message(s, message_id, status="replied")
        failpoint("after_mark_sent")
        result.reply_sent = True
        telemetry.MESSAGES.labels("replied").inc()
        return HandleOutcome(result=result, message_id=message_id)

    async def _release(self, message_id: int, error: str) -> None:
        try:
            async with self.db.write() as s:
                await inbox.release_message(s, message_id, error=error)
        except Exception:  # the claim's lease runs out instead
            _log.warning("message %s could not be released; retried when its claim expires", message_id)

    async def _deliver(self, result: PipelineResult) -> str:
        """Post the reply; returns the platform's id for it (recorded by the caller)."""
        target = result.target
        assert target is not None  # the pipeline read it with the message
        deliver = self._deliverers.get(target.platform)
        if deliver is None:
            raise DeliveryUnavailable(f"no adapter for {target.platform} is running")
        out = Outbound(platform=target.platform, channel_id=target.channel_id, thread_id=target.thread_id,
                       text=result.reply, reply_id=result.reply_message_id, in_reply_to=target.in_reply_to,
                       customer_id=target.customer_id, maybe_posted=result.maybe_posted)
        return await deliver(out)
