"""Throughput: messages per second end to end through SupportService.handle (durable inbox, offline
engine, SQLite file database, reply delivered), each message in its own conversation, with a fixed
number of senders; latency percentiles per message; peak RSS and RSS growth over a long run."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass

from bot.heap import frozen_heap
from bot.wiring import Services
from storage.group_commit import MAX_BATCH
from workflows.offline.semantic import encoder_work

from .measure import CpuMeter, RssSampler, ms, percentile, settled_rss_mb
from .sandbox import bench_services, customer_message
from .simulated import EXAMPLE

# A realistic mix: the three-request example, single requests, a reply-needing return, a general question.
MESSAGES = (
    EXAMPLE,
    "Where is my order #A-55120? It was supposed to arrive on Monday.",
    "I was charged twice on invoice INV-20431, please check.",
    "I want to return the Aurora Desk Lamp because it flickers all the time.",
    "The app crashes every time I open the settings page.",
    "Do you ship to Canada?",
    "I'd like to return my headphones.",
)


@dataclass
class Run:
    concurrency: int
    messages: int
    elapsed_s: float
    messages_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    failed: int
    # The whole machine's CPU meanwhile: milliseconds a message, cores kept busy, and the pace the machine
    # allows at most at that cost with every core busy (the benchmark's own senders included).
    cpu_ms_per_message: float = 0.0
    loop_cpu_ms_per_message: float = 0.0  # of which the event loop's thread
    encoder_cpu_ms_per_message: float = 0.0  # ... and the sentence encoder's thread (one thread: its pace caps ours)
    encoded_per_message: float = 0.0  # texts the encoder ran a message (requests the rules were not sure of)
    busy_cores: float = 0.0
    cpu_bound_messages_per_s: float = 0.0


@dataclass
class RssGrowth:
    warmup_messages: int
    messages: int
    concurrency: int
    start_mb: float
    end_mb: float
    growth_mb: float


@dataclass
class ThroughputResult:
    engine: str
    database: str
    message_mix: int
    runs: list[Run]
    peak_rss_mb: float
    rss: RssGrowth | None
    # The highest concurrency again with every write in its own transaction (no group commit), for comparison.
    ungrouped: Run | None = None
    # ...and with group commit on stock aiosqlite (four hops to its thread a statement instead of one).
    stock_aiosqlite: Run | None = None


async def drive(services: Services, *, messages: int, concurrency: int, run: str) -> Run:
    """`concurrency` senders, each sending its next message as soon as the previous one is answered."""
    latencies: list[float] = []
    failed = 0
    counter = itertools.count()

    async def sender() -> None:
        nonlocal failed
        while (i := next(counter)) < messages:
            started = time.perf_counter()
            outcome = await services.support.handle(customer_message(i, MESSAGES[i % len(MESSAGES)], run=run))
            latencies.append(time.perf_counter() - started)
            failed += outcome.result is None

    started, loop_cpu, encoder = time.perf_counter(), time.thread_time(), encoder_work()
    with CpuMeter() as cpu:
        await asyncio.gather(*(sender() for _ in range(concurrency)))
    elapsed, loop_cpu, encoded = time.perf_counter() - started, time.thread_time() - loop_cpu, encoder_work()
    assert cpu.use is not None
    cpu_ms = cpu.use.ms_per(messages)
    return Run(
        concurrency=concurrency,
        messages=messages,
        elapsed_s=round(elapsed, 3),
        messages_per_s=round(messages / elapsed, 1),
        p50_ms=ms(percentile(latencies, 50)),
        p99_ms=ms(percentile(latencies, 99)),
        max_ms=ms(max(latencies, default=0.0)),
        failed=failed,
        cpu_ms_per_message=round(cpu_ms, 2),
        loop_cpu_ms_per_message=round(loop_cpu * 1000 / messages, 2) if messages else 0.0,
        encoder_cpu_ms_per_message=round((encoded.cpu_s - encoder.cpu_s) * 1000 / messages, 2) if messages else 0.0,
        encoded_per_message=round((encoded.texts - encoder.texts) / messages, 2) if messages else 0.0,
        busy_cores=round(cpu.use.busy_cores, 2),
        cpu_bound_messages_per_s=round(cpu.use.cores * 1000 / cpu_ms, 1) if cpu_ms else 0.0,
    )


async def run(
    *,
    messages: int = 2000,
    concurrencies: tuple[int, ...] = (1, 32),
    warmup: int = 200,
    growth_messages: int = 10_000,
    growth_concurrency: int = 32,
    compare: bool = True,
) -> ThroughputResult:
    runs: list[Run] = []
    growth: RssGrowth | None = None
    ungrouped: Run | None = None
    async with bench_services(concurrency=max((*concurrencies, growth_concurrency))) as services:
        async with RssSampler() as sampler:
            await drive(services, messages=warmup, concurrency=max(concurrencies), run="warm")
            with frozen_heap():  # as `supportbot run` serves: start-up out of the collector's walks
                for concurrency in concurrencies:
                    runs.append(
                        await drive(services, messages=messages, concurrency=concurrency, run=f"c{concurrency}-")
                    )
                if compare:
                    services.db.grouped.max_batch = 1
                    ungrouped = await drive(services, messages=messages, concurrency=max(concurrencies), run="single-")
                    services.db.grouped.max_batch = MAX_BATCH
                if growth_messages:
                    start = settled_rss_mb()
                    await drive(services, messages=growth_messages, concurrency=growth_concurrency, run="rss-")
                    end = settled_rss_mb()
                    growth = RssGrowth(
                        warmup_messages=warmup + messages * (len(concurrencies) + compare),
                        messages=growth_messages,
                        concurrency=growth_concurrency,
                        start_mb=round(start, 1),
                        end_mb=round(end, 1),
                        growth_mb=round(end - start, 1),
                    )
    stock: Run | None = None
    if compare:  # a fresh file and process state, so that neither driver inherits the other's database
        async with bench_services(concurrency=max(concurrencies), sqlite_driver="aiosqlite") as services:
            await drive(services, messages=warmup, concurrency=max(concurrencies), run="warm")
            with frozen_heap():
                stock = await drive(services, messages=messages, concurrency=max(concurrencies), run="stock-")
    return ThroughputResult(
        engine="offline",
        database="SQLite file (WAL), one thread hop a statement (storage/sqlite_thread.py), durable inbox on, "
        "group commit",
        message_mix=len(MESSAGES),
        runs=runs,
        peak_rss_mb=round(sampler.peak_mb, 1),
        rss=growth,
        ungrouped=ungrouped,
        stock_aiosqlite=stock,
    )
