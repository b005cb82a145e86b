"""Group commit: short write transactions of concurrent tasks share one database transaction.

`await grouped(work)` queues `work(session)`; a flusher takes everything queued, runs each in order in
one transaction and commits once, then hands each caller its own result. Writers that arrive while a
flush runs go together in the next one. A caller's await returns only after the commit that holds its
writes, so what it does next (post a reply, report done) sees them durable, as with its own
transaction.

If the shared transaction fails, nothing of it was written; each work is then run again alone, in
its own transaction, so an error reaches only the writer that caused it. Works must therefore be
safe to run twice (ours are: inserts are `ON CONFLICT DO NOTHING`, updates are conditional).

Why: on SQLite one writer at a time holds the lock, and every transaction's begin and commit is time
the others wait; on PostgreSQL each is a round trip. Per message that is four transactions; grouped,
it is four per batch.

`await grouped.together(write, item)` goes further for a write that every message makes the same way
(claim it, mark it finished): the flusher runs `write` once for all such items of its batch — one
`UPDATE … WHERE id IN (…)`, one executemany — instead of once an item. On SQLite the single flusher is
what limits a busy process (it is busy 98% of the time at 32 conversations), and each statement costs
it a trip to the database's thread and back to a busy event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession

_log = logging.getLogger(__name__)

T = TypeVar("T")
Item = TypeVar("Item")
Work = Callable[[AsyncSession], Awaitable[Any]]
Transaction = Callable[[], AbstractAsyncContextManager[AsyncSession]]

MAX_BATCH = 64


@dataclass(frozen=True, eq=False)
class Together(Generic[Item, T]):
    """A write run once for many callers' items: `run(session, items)` returns one result an item, in
    order. It must give each item the result it would give it alone (a failed batch is run item by item)."""

    name: str
    run: Callable[[AsyncSession, list[Item]], Awaitable[list[T]]]


@dataclass(frozen=True)
class _Item(Generic[Item, T]):
    write: Together[Item, T]
    item: Item


class GroupCommit:
    def __init__(self, transaction: Transaction, *, flushers: int = 1, max_batch: int = MAX_BATCH) -> None:
        self._transaction = transaction
        self._flushers = flushers
        self.max_batch = max_batch  # 1: every write its own transaction (the benchmark's comparison)
        self._queue: list[tuple[Work | _Item[Any, Any], asyncio.Future[Any]]] = []
        self._running: set[asyncio.Task[None]] = set()

    async def __call__(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        return cast(T, await self._queued(work))

    async def together(self, write: Together[Item, T], item: Item) -> T:
        """`write.run(session, [item, …])` for this item and those of other callers in the same batch."""
        return cast(T, await self._queued(_Item(write, item)))

    async def _queued(self, work: Work | _Item[Any, Any]) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((work, future))
        if len(self._running) < self._flushers:
            task = asyncio.create_task(self._flush(), name="group-commit")
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        # Shielded: a caller cancelled meanwhile does not cancel the batch its writes are part of.
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                results = await self._run(batch)
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0][1], error=exc)
                    continue
                _log.debug("a grouped transaction of %d writes failed (%s); each runs alone", len(batch), exc)
                for item in batch:
                    try:
                        [result] = await self._run([item])
                    except Exception as alone:
                        _settle(item[1], error=alone)
                    else:
                        _settle(item[1], result=result)
                continue
            except BaseException:  # cancelled (shutdown): so are the callers' waits
                for _, future in batch:
                    future.cancel()
                raise
            for (_, future), result in zip(batch, results, strict=True):
                _settle(future, result=result)

    async def _run(self, batch: list[tuple[Work | _Item[Any, Any], asyncio.Future[Any]]]) -> list[Any]:
        results: list[Any] = [None] * len(batch)
        joined: dict[Together[Any, Any], list[int]] = {}  # a together-write's items, run where its first one sits
        for i, (work, _) in enumerate(batch):
            if isinstance(work, _Item):
                joined.setdefault(work.write, []).append(i)
        async with self._transaction() as session:
            for i, (work, _) in enumerate(batch):
                if not isinstance(work, _Item):
                    results[i] = await work(session)
                elif (places := joined[work.write])[0] == i:
                    items = [cast(_Item[Any, Any], batch[j][0]).item for j in places]
                    for j, result in zip(places, await work.write.run(session, items), strict=True):
                        results[j] = result
        return results


def _settle(future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
