"""A slow batch function run on a thread of its own, with the calls that arrive while it runs coalesced.

The sentence encoder costs milliseconds of CPU a text. On the event loop that time would stop every
other conversation; onnxruntime lets go of the GIL while it computes, so on its own thread it uses
another core. And one run over eight texts costs far less than eight runs over one (each run pays a
fixed cost per graph node), so calls made while a run is under way wait for it and then go together
in the next one. Each caller gets exactly the rows of its own items, whatever it was batched with: the
function must give an item the same result alone or in company (the encoder does, to the bit).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

R = TypeVar("R")

MAX_ITEMS = 64  # per run: a bigger run is hardly cheaper per item and keeps its callers waiting longer


class Batcher(Generic[R]):
    """`await batcher(items)` runs `run` over these items and whatever else is waiting, on one thread."""

    def __init__(self, run: Callable[[list[str]], Sequence[R]], *, name: str, max_items: int = MAX_ITEMS) -> None:
        self._run = run
        self._name = name
        self._max_items = max_items
        self._lock = threading.Lock()
        self._waiting: list[tuple[list[str], Future[list[R]]]] = []
        self._busy = False  # a drain is scheduled or running: new calls only join the queue
        self._executor: ThreadPoolExecutor | None = None
        self.runs = 0  # how many times `run` was called (what batching saved shows as runs < calls)
        self.items = 0  # items run, all runs together
        self.cpu_s = 0.0  # the thread's CPU time in `run` (what the work costs, whoever waits for it)

    async def __call__(self, items: list[str]) -> list[R]:
        if not items:
            return []
        future: Future[list[R]] = Future()
        with self._lock:
            self._waiting.append((list(items), future))
            start, self._busy = not self._busy, True
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
            executor = self._executor
        if start:
            executor.submit(self._drain)
        return await asyncio.wrap_future(future)

    def _take(self) -> list[tuple[list[str], Future[list[R]]]]:
        """The calls for the next run, oldest first (a cancelled call is dropped); empty ends the drain."""
        with self._lock:
            taken: list[tuple[list[str], Future[list[R]]]] = []
            count = 0
            while self._waiting and (not taken or count + len(self._waiting[0][0]) <= self._max_items):
                items, future = self._waiting.pop(0)
                if future.set_running_or_notify_cancel():
                    taken.append((items, future))
                    count += len(items)
            if not taken and not self._waiting:
                self._busy = False
            return taken

    def _drain(self) -> None:
        while taken := self._take():
            batch = [item for items, _ in taken for item in items]
            cpu = time.thread_time()
            try:
                results = list(self._run(batch))
            except BaseException as e:  # every caller of this run sees the failure; the next run is apart
                for _, future in taken:
                    future.set_exception(e)
                continue
            finally:
                self.cpu_s += time.thread_time() - cpu
            self.runs += 1
            self.items += len(batch)
            start = 0
            for items, future in taken:
                future.set_result(results[start : start + len(items)])
                start += len(items)
