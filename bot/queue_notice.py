"""The "you're in the queue" notice: when every slot is busy a message waits, stored, for a free one;
if it waits longer than `delay_s` the customer gets one short notice in the thread (once per message,
across processes: the notice is claimed in the database like the message), and the answer follows it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from adapters.platform import Outbound, Platform
from adapters.recent import Recent
from storage import inbox, inbox_claims
from storage.db import Database
from workflows import telemetry

_log = logging.getLogger(__name__)

QUEUE_NOTICE_S = 5.0
QUEUE_NOTICE = "Thanks for your message — it's in the queue and I'll answer here as soon as it's your turn."
_NOTICED_MAX = 10_000
Key = tuple[str, str, str]  # platform, channel, thread


class QueueNotices:
    def __init__(
        self, db: Database, platforms: Mapping[str, Platform], *, worker_id: str, delay_s: float | None = QUEUE_NOTICE_S
    ) -> None:
        self.db = db
        self.platforms = platforms
        self.worker_id = worker_id
        self.delay_s = delay_s
        self._noticed: Recent[int, None] = Recent(_NOTICED_MAX)  # message ids told "you're in the queue"
        self._posting: dict[int, asyncio.Task[None]] = {}  # notices being posted, by message id

    def arm(self, message_id: int, key: Key) -> asyncio.TimerHandle | None:
        """Start the timer for a message about to wait for a slot (the caller cancels it once it has one)."""
        if self.delay_s is None or key[0] not in self.platforms:
            return None
        return asyncio.get_running_loop().call_later(self.delay_s, self._due, message_id, key)

    async def before_answer(self, message_id: int) -> None:
        """A notice being posted goes out before the answer (bounded)."""
        if (notice := self._posting.get(message_id)) is not None:
            await asyncio.wait({notice}, timeout=10)

    def _due(self, message_id: int, key: Key) -> None:
        if not self._noticed.first_sight(message_id, None):
            return
        task = asyncio.get_running_loop().create_task(self._post(message_id, key), name=f"queue-notice-{message_id}")
        self._posting[message_id] = task
        task.add_done_callback(lambda _t: self._posting.pop(message_id, None))

    async def _post(self, message_id: int, key: Key) -> None:
        platform_name, channel_id, thread_id = key
        platform = self.platforms.get(platform_name)
        if platform is None:
            return
        try:  # one notice per message across processes, none once some process is answering it
            async with self.db.write() as s:
                if not await inbox_claims.claim_queue_notice(s, message_id, worker=self.worker_id):
                    return
        except Exception:
            _log.warning("message %s: could not record its queue notice; posting it", message_id)
        # A negative reply id never collides with a stored reply's id (adapters key retries on it).
        out = Outbound(
            platform=platform_name, channel_id=channel_id, thread_id=thread_id, text=QUEUE_NOTICE, reply_id=-message_id
        )
        try:
            posted = await platform.deliver(out)
        except Exception as exc:  # only a courtesy: the answer itself still comes
            _log.warning("message %s: queue notice not posted (%s)", message_id, type(exc).__name__)
            return
        try:
            async with self.db.write() as s:
                await inbox.record_notice(s, message_id, text=QUEUE_NOTICE, platform_message_id=posted)
        except Exception:
            _log.warning("message %s: queue notice posted but not kept in the transcript", message_id)
        telemetry.QUEUE_NOTICES.inc()
        _log.info(
            "message %s waited over %.0fs for a free slot; queue notice posted in %s thread %s",
            message_id,
            self.delay_s or 0,
            channel_id,
            thread_id,
        )
