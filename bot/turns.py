"""Turns: the messages of one conversation are processed one at a time, in the order they arrived
(asyncio.Lock is FIFO); different conversations in parallel. Also says when nothing is in flight
(shutdown's drain waits for that)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Hashable
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

    async def drain(self, *, timeout_s: float) -> bool:
        """Wait (bounded) until no message is in flight. False when the bound ran out first."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._idle.wait()
        except TimeoutError:
            _log.warning("messages still in flight after %gs: %d; left in the inbox for the next start",
                         timeout_s, self.in_flight)
            return False
        return True
