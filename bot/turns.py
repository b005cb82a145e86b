"""Turns: the messages of one conversation are processed one at a time, in the order they arrived
(asyncio.Lock is FIFO); different conversations in parallel. Also says when nothing is in flight
(shutdown's drain waits for that)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager

_log = logging.getLogger(__name__)


class ConversationTurns:
    def __init__(self) -> None:
        self._locks: defaultdict[Hashable, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._users: defaultdict[Hashable, int] = defaultdict(int)  # running or waiting, per conversation
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def in_flight(self) -> int:
        return sum(self._users.values())

    @asynccontextmanager
    async def turn(self, key: Hashable) -> AsyncIterator[None]:
        self._users[key] += 1
        self._idle.clear()
        try:
            async with self._locks[key]:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                self._locks.pop(key, None)
            if not self._users:  # nothing running or waiting for its turn
                self._idle.set()

    @asynccontextmanager
    async def in_line(self, key: Hashable) -> AsyncIterator[Callable[[], Awaitable[None]]]:
        """Take a place in the conversation's line now (first come, first served) and wait for the turn
        later: the caller stores its message meanwhile, so a message acknowledged to the platform is in
        the database even while it waits behind an earlier one (a kill then loses nothing). Yields the
        wait; the turn, once had, is held until the block ends."""
        self._users[key] += 1
        self._idle.clear()
        lock = self._locks[key]
        # Tasks start in the order they are created: places in line follow the order of arrival.
        acquiring = asyncio.ensure_future(lock.acquire())

        async def wait() -> None:
            await acquiring

        try:
            yield wait
        finally:
            if not acquiring.done():
                acquiring.cancel()
            await asyncio.wait({acquiring})
            if not acquiring.cancelled() and acquiring.exception() is None:
                lock.release()
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                self._locks.pop(key, None)
            if not self._users:
                self._idle.set()

    async def drain(self, *, timeout_s: float) -> bool:
        """Wait (bounded) until no message is in flight. False when the bound ran out first."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._idle.wait()
        except TimeoutError:
            _log.warning(
                "messages still in flight after %gs: %d; left in the inbox for the next start",
                timeout_s,
                self.in_flight,
            )
            return False
        return True
