"""Progress of an FAQ build, reported to an optional async callback (a terminal progress bar, a chat
adapter editing its acknowledgement message).

The callback never slows the FAQ down: events are handed to one background task that delivers them
in order, one at a time; while a slow callback runs (a rate-limited message edit), newer events replace
the waiting one, so it only ever sees the latest state. `aclose()` delivers the last event. A failing
callback is logged and otherwise ignored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

_log = logging.getLogger(__name__)

Stage = Literal["fetch", "questions", "answers", "sources", "done"]


@dataclass(frozen=True)
class ProgressEvent:
    stage: Stage
    done: int
    total: int
    message: str


ProgressCallback = Callable[[ProgressEvent], Awaitable[None]]


class ProgressReporter:
    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self._pending: ProgressEvent | None = None
        self._task: asyncio.Task[None] | None = None

    def emit(self, stage: Stage, done: int, total: int, message: str) -> None:
        if self._callback is None:
            return
        self._pending = ProgressEvent(stage, done, total, message)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._deliver())

    async def _deliver(self) -> None:
        assert self._callback is not None
        while self._pending is not None:
            event, self._pending = self._pending, None
            try:
                await self._callback(event)
            except Exception:  # a progress display must never break the FAQ
                _log.exception("faq progress callback failed on %s", event.stage)

    async def aclose(self) -> None:
        """Wait until the last event was delivered."""
        if self._task is not None:
            await self._task

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
