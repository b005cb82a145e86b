"""The support service: stores each inbound message (the durable inbox), processes it through the
pipeline, delivers the one reply, and records that it was delivered.

Messages of one conversation are processed in order; different conversations in parallel under a
global limit. A message that fails stays in the inbox and is retried by `resume()` — at start-up and
periodically — so nothing is lost; a redelivered event finds its stored message and is not answered
twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import defaultdict
from dataclasses import dataclass

from storage import inbox
from storage.db import Database
from workflows import telemetry
from workflows.pipeline import PipelineResult, SupportPipeline
from workflows.text import storable

from .messages import Deliver, Inbound, Outbound

_log = logging.getLogger(__name__)

CLAIM_LEASE_S = 120.0
MAX_ATTEMPTS = 8
SORRY = ("Sorry — I hit a problem while working on your message. It is saved, and I'll answer here as "
         "soon as I can.")


@dataclass
class HandleOutcome:
    result: PipelineResult | None
    duplicate: bool = False
    message_id: int | None = None
    error: str | None = None


class DeliveryUnavailable(Exception):
    """No deliverer is registered for a platform (its adapter is not running in this process)."""


class SupportService:
    def __init__(self, db: Database, pipeline: SupportPipeline, *, concurrency: int = 32,
                 worker_id: str | None = None) -> None:
        self.db = db
        self.pipeline = pipeline
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self._deliverers: dict[str, Deliver] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self._conversation_locks: defaultdict[tuple[str, str, str], asyncio.Lock] = defaultdict(asyncio.Lock)
        self._lock_users: defaultdict[tuple[str, str, str], int] = defaultdict(int)
        self.accepting = True

    async def drain(self, *, timeout_s: float) -> None:
        """Wait (bounded) for messages in flight; what is left stays in the inbox for the next start."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self._lock_users and loop.time() < deadline:
            await asyncio.sleep(0.05)

    def register_deliverer(self, platform: str, deliver: Deliver) -> None:
        self._deliverers[platform] = deliver

    async def handle(self, inbound: Inbound) -> HandleOutcome:
        """Store, process and answer one inbound message, at most once."""
        async with self.db.write() as s:
            conversation = await inbox.get_or_create_conversation(
                s, platform=inbound.platform, channel_id=inbound.channel_id, thread_id=inbound.thread_id,
                customer_id=inbound.user_id)
            message, created = await inbox.receive_message(
                s, conversation=conversation, platform_message_id=inbound.message_id, author_id=inbound.user_id,
                text=storable(inbound.text), meta={"user_name": inbound.user_name, "is_dm": inbound.is_dm})
        if created:
            telemetry.MESSAGES.labels("received").inc()
        elif message.status != "received":
            _log.info("message %s (%s) seen again; status %s — not answered twice",
                      message.id, inbound.message_id, message.status)
            return HandleOutcome(result=None, duplicate=True, message_id=message.id)
        key = (inbound.platform, inbound.channel_id, inbound.thread_id)
        return await self._process(message.id, key)

    async def record_staff_message(self, inbound: Inbound) -> bool:
        """A staff member wrote in a support thread: keep it in the transcript, do not answer it."""
        async with self.db.write() as s:
            conversation = await inbox.get_or_create_conversation(
                s, platform=inbound.platform, channel_id=inbound.channel_id, thread_id=inbound.thread_id,
                customer_id=inbound.user_id)
            _message, created = await inbox.receive_message(
                s, conversation=conversation, platform_message_id=inbound.message_id, author_id=inbound.user_id,
                text=storable(inbound.text), role="staff")
        return created

    async def resume(self, *, platforms: tuple[str, ...] | None = None) -> int:
        """Process every unfinished message (after a crash or a failed delivery). Returns how many."""
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
        self._lock_users[key] += 1
        try:
            async with self._conversation_locks[key], self._slots:
                return await self._process_claimed(message_id)
        finally:
            self._lock_users[key] -= 1
            if not self._lock_users[key]:
                del self._lock_users[key]
                self._conversation_locks.pop(key, None)

    async def _process_claimed(self, message_id: int) -> HandleOutcome:
        async with self.db.write() as s:
            claimed = await inbox.claim_message(s, message_id, worker=self.worker_id, lease_s=CLAIM_LEASE_S)
        if not claimed:
            return HandleOutcome(result=None, duplicate=True, message_id=message_id)
        try:
            result = await self.pipeline.process(message_id)
            platform_id = None if result.reply_sent else await self._deliver(result)
        except Exception as exc:  # kept in the inbox and retried; the customer never sees exception text
            _log.exception("message %s failed; left in the inbox for a retry", message_id)
            telemetry.MESSAGES.labels("failed").inc()
            async with self.db.write() as s:
                await inbox.release_message(s, message_id, error=f"{type(exc).__name__}: {exc}"[:500])
            return HandleOutcome(result=None, message_id=message_id, error=type(exc).__name__)
        async with self.db.write() as s:  # the reply marked sent and the message finished: one transaction
            if platform_id is not None:
                await inbox.mark_reply_sent(s, result.reply_message_id, platform_message_id=platform_id)
            await inbox.finish_message(s, message_id, status="replied")
        result.reply_sent = True
        telemetry.MESSAGES.labels("replied").inc()
        return HandleOutcome(result=result, message_id=message_id)

    async def _deliver(self, result: PipelineResult) -> str:
        """Post the reply; returns the platform's id for it (recorded by the caller)."""
        target = result.target
        assert target is not None  # the pipeline read it with the message
        deliver = self._deliverers.get(target.platform)
        if deliver is None:
            raise DeliveryUnavailable(f"no adapter for {target.platform} is running")
        out = Outbound(platform=target.platform, channel_id=target.channel_id, thread_id=target.thread_id,
                       text=result.reply, reply_id=result.reply_message_id, in_reply_to=target.in_reply_to,
                       customer_id=target.customer_id)
        return await deliver(out)
