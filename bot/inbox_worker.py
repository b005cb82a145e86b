"""Worker processes: scale-out behind one receiver (`supportbot run --workers N`, `supportbot worker`).

The receiver (the process holding Slack's HTTP endpoint or Socket Mode and Discord's gateway) only
stores each inbound message in the durable inbox and acknowledges it. Workers — any number of
processes, on this host or others, sharing the database — claim waiting messages in batches
(`SupportService.claim_waiting`: one statement, a lease per message, SKIP LOCKED on PostgreSQL, a
conversation's messages in order), answer them and deliver the replies through their own platform
clients: the adapter built without its inbound side (no route mounted, no socket or gateway), so
only its Web API / REST client is used. A worker that dies leaves claims that are given back when
their lease runs out (at once for processes of the same host), exactly as for a crashed single process.

Idle workers poll the inbox (`POLL_S`); a worker with free slots claims again as soon as a message
finishes, so a busy worker never waits for the poll.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Sequence

from adapters.platform import Platform

from .heap import frozen_heap
from .leases import CLAIM_LEASE_S
from .service import SupportService
from .signals import stop_on_signals
from .wiring import Services, warm_up

_log = logging.getLogger(__name__)

POLL_S = 0.05
# Workers of `run --workers N` run at a lower CPU priority than their receiver: when the machine is
# busy, acknowledging Slack's events (within 3 s, or it retries) comes before answering them.
WORKER_NICE = 10
SHUTDOWN_GRACE_S = 20.0
RESTART_DELAY_S = 1.0


async def work_inbox(
    service: SupportService,
    stop: asyncio.Event,
    *,
    concurrency: int,
    poll_s: float = POLL_S,
    latencies: list[float] | None = None,
) -> int:
    """Claim and answer waiting messages until `stop` is set; returns how many were claimed.
    `latencies` (the benchmark's) receives each message's seconds from its claim to its answer."""
    in_flight: set[asyncio.Task[object]] = set()
    wake = asyncio.Event()
    processed = 0
    loop = asyncio.get_running_loop()

    def finished_after(claimed_at: float) -> Callable[[asyncio.Task[object]], None]:
        def finished(task: asyncio.Task[object]) -> None:
            in_flight.discard(task)
            wake.set()
            if latencies is not None:
                latencies.append(loop.time() - claimed_at)

        return finished

    while not stop.is_set():
        wake.clear()
        free = concurrency - len(in_flight)
        try:
            batch = await service.claim_waiting(limit=free) if free > 0 else []
        except Exception:  # the database is away for now: try again after the poll interval
            _log.exception("claiming waiting messages failed; will try again")
            batch = []
        claimed_at = loop.time()
        for loaded in batch:
            task: asyncio.Task[object] = asyncio.create_task(
                service.run_claimed(loaded), name=f"message-{loaded.message.id}"
            )
            in_flight.add(task)
            task.add_done_callback(finished_after(claimed_at))
        processed += len(batch)
        if batch and len(batch) == free:
            continue  # more may be waiting: claim again once a slot frees (below) — or at once if one did
        waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
        await asyncio.wait(
            waiters, timeout=None if free <= 0 and in_flight else poll_s, return_when=asyncio.FIRST_COMPLETED
        )
        for waiter in waiters:
            waiter.cancel()
    return processed


async def renew_claims_forever(service: SupportService) -> None:
    while True:  # a lease outlives three missed renewals
        await asyncio.sleep(CLAIM_LEASE_S / 4)
        try:
            await service.renew_claims()
        except Exception:
            _log.exception("renewing message claims failed; will try again")


async def run_worker(
    services: Services, platforms: Sequence[Platform], *, concurrency: int, stop: asyncio.Event | None = None
) -> None:
    """One worker process: answer the inbox's messages for `platforms` until SIGTERM/SIGINT (or `stop`)."""
    stop = stop or asyncio.Event()
    remove_signal_handlers = stop_on_signals(stop)
    for platform in platforms:
        services.add_platform(platform)
    support = services.support
    await warm_up(services)
    await support.release_dead_claims()
    renewer = asyncio.create_task(renew_claims_forever(support), name="renew-claims")
    _log.info(
        "worker %s: answering the inbox for %s (%d at a time)",
        support.worker_id,
        ", ".join(p.name for p in platforms),
        concurrency,
    )
    try:
        with frozen_heap():  # what start-up loaded (the encoder's index too), out of the collector's full walks
            await work_inbox(support, stop, concurrency=concurrency)
    finally:
        support.accepting = False
        drained = await support.drain(timeout_s=SHUTDOWN_GRACE_S)
        renewer.cancel()
        await asyncio.gather(renewer, return_exceptions=True)
        remove_signal_handlers()
        _log.info("worker %s stopped%s", support.worker_id, "" if drained else " (messages left for the next start)")


class WorkerProcesses:
    """The receiver's children: N `supportbot worker` processes, restarted if one exits unexpectedly."""

    def __init__(self, count: int, *, args: Sequence[str] = ()) -> None:
        self.count = count
        self.args = list(args)
        self._children: list[asyncio.subprocess.Process | None] = [None] * count
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False

    async def _spawn(self, index: int) -> asyncio.subprocess.Process:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "worker", "--nice", str(WORKER_NICE), *self.args
        )
        _log.info("worker process %d started (pid %d)", index, child.pid)
        return child

    async def start(self) -> None:
        for i in range(self.count):
            self._children[i] = await self._spawn(i)
        self._supervisor = asyncio.create_task(self._supervise(), name="worker-processes")

    async def _supervise(self) -> None:
        while not self._stopping:
            waits = {asyncio.ensure_future(c.wait()): i for i, c in enumerate(self._children) if c is not None}
            done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            for task in done:
                i = waits[task]
                if self._stopping:
                    return
                _log.error("worker process %d exited (code %s); starting another", i, task.result())
                await asyncio.sleep(RESTART_DELAY_S)
                self._children[i] = await self._spawn(i)

    async def stop(self, *, grace_s: float = SHUTDOWN_GRACE_S + 5) -> None:
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        children = [c for c in self._children if c is not None and c.returncode is None]
        for child in children:
            child.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(grace_s):
                await asyncio.gather(*(c.wait() for c in children))
        except TimeoutError:
            for child in children:
                if child.returncode is None:
                    child.kill()
            await asyncio.gather(*(c.wait() for c in children))
