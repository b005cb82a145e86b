"""Background work of an adapter: a listener acknowledges at once and hands the work to a task here,
so it is neither lost (a reference is kept) nor orphaned (`stop()` waits for it, bounded, then cancels).

One `TaskGroup` per adapter, made by the bot and passed in (or made by the adapter itself)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

_log = logging.getLogger(__name__)


class TaskGroup:
    def __init__(self, name: str = "adapter", *, before: Callable[[], Awaitable[None]] | None = None) -> None:
        self.name = name
        self._before = before  # awaited before each task's work (e.g. until the acknowledgements are out)
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run work after the acknowledgement; the task is kept until it ends."""
        task = asyncio.get_running_loop().create_task(self._after_before(coro) if self._before else coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    async def _after_before(self, coro: Coroutine[Any, Any, Any]) -> Any:
        assert self._before is not None
        try:
            await self._before()
        except BaseException:
            coro.close()
            raise
        return await coro

    @contextmanager
    def tracked(self) -> Iterator[None]:
        """Count the current task (one the SDK started, e.g. an app command) as work in flight."""
        task = asyncio.current_task()
        if task is None or task in self._tasks:
            yield
            return
        self._tasks.add(task)
        try:
            yield
        finally:
            self._tasks.discard(task)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("%s task %s failed", self.name, task.get_name(), exc_info=task.exception())

    async def idle(self, *, timeout: float | None = None) -> bool:
        """Wait until no work is left (tasks may start more; the caller's own task does not count).
        False when `timeout` ran out first."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        current = asyncio.current_task()
        while pending := {t for t in self._tasks if t is not current}:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            await asyncio.wait(pending, timeout=remaining)
        return True

    async def close(self, *, grace_s: float) -> None:
        """Wait up to `grace_s` for the work in flight, then cancel what is left (its messages stay stored)."""
        if await self.idle(timeout=grace_s):
            return
        _log.warning(
            "%s: %d tasks still running at shutdown; cancelled (the inbox keeps their messages)",
            self.name,
            len(self._tasks),
        )
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
