"""Scale-out on PostgreSQL: the same load answered by 1 and by 2 worker processes.

Per run: a throw-away database (created, migrated, dropped), N worker processes (`scale_worker`: the
bot's own worker loop, 32 messages at a time each, offline engine, replies delivered in memory). This
process plays the receiver: it stores a warm-up batch and waits until it is answered, then stores the
measured messages (one conversation each, one transaction, as after a burst) and times until the inbox
is empty. `p99_ms` is per message, from its claim to its answer (delivered and marked replied).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass, field

from sqlalchemy.engine import make_url

from storage import inbox, migrate
from storage.db import Database

from .measure import CORES, CpuMeter, ms, percentile
from .sandbox import customer_message
from .scale_worker import NICE_ENV
from .throughput import MESSAGES

POSTGRES_URL = os.environ.get("SUPPORTBOT_BENCH_POSTGRES_URL", "postgresql+asyncpg://127.0.0.1:5432/test")


@dataclass
class ScaleRun:
    processes: int
    messages: int
    elapsed_s: float
    messages_per_s: float
    p50_ms: float
    p99_ms: float
    per_process: list[int]  # messages each process answered
    # The whole machine's CPU meanwhile (workers, PostgreSQL, this process): cores kept busy, ms a message.
    busy_cores: float = 0.0
    cpu_ms_per_message: float = 0.0


@dataclass
class ScaleOutResult:
    database: str
    concurrency_per_process: int
    runs: list[ScaleRun] = field(default_factory=list)
    speedup: float | None = None  # the last run's pace over the first's
    # The most any number of processes could give over the first run at its CPU cost a message: the
    # machine's cores over the cores the first run kept busy.
    cpu_bound_speedup: float | None = None
    skipped: str | None = None  # why no run happened (PostgreSQL not reachable)


async def _admin(sql: str) -> None:
    import asyncpg

    url = make_url(POSTGRES_URL)
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database, timeout=5
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class WorkerProcess:
    """A benchmark's worker process (`scale_worker`), driven over its stdin/stdout."""

    def __init__(self, url: str, concurrency: int, *, slack_api_url: str | None = None, nice: int = 0) -> None:
        self.url, self.concurrency, self.slack_api_url, self.nice = url, concurrency, slack_api_url, nice
        self.child: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        extra = [self.slack_api_url] if self.slack_api_url else []
        self.child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.bench.scale_worker",
            self.url,
            str(self.concurrency),
            *extra,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, NICE_ENV: str(self.nice)},
        )
        if await self._read() != "ready":
            raise RuntimeError("a scale-out worker did not start")

    async def _read(self) -> str:
        assert self.child is not None and self.child.stdout is not None
        line = await asyncio.wait_for(self.child.stdout.readline(), 120)
        if not line:
            raise RuntimeError("a scale-out worker stopped")
        return line.decode().strip()

    async def say(self, line: str) -> str:
        assert self.child is not None and self.child.stdin is not None
        self.child.stdin.write(line.encode() + b"\n")
        await self.child.stdin.drain()
        return await self._read()

    async def close(self) -> None:
        if self.child is not None and self.child.returncode is None:
            self.child.kill()
            await self.child.wait()


async def _store(db: Database, first: int, count: int, run: str) -> None:
    async with db.write() as s:
        for i in range(first, first + count):
            m = customer_message(i, MESSAGES[i % len(MESSAGES)], run=run)
            await inbox.store_inbound(
                s,
                platform=m.platform,
                channel_id=m.channel_id,
                thread_id=m.thread_id,
                customer_id=m.user_id,
                platform_message_id=m.message_id,
                author_id=m.user_id,
                text=m.text,
                meta={"user_name": m.user_name, "is_dm": m.is_dm},
            )


async def _drained(db: Database, *, timeout_s: float = 300) -> None:
    async with asyncio.timeout(timeout_s):
        while True:
            async with db.session() as s:
                if await inbox.count_unfinished(s) == 0:
                    return
            await asyncio.sleep(0.02)


async def _one_run(processes: int, *, messages: int, concurrency: int, warmup: int) -> ScaleRun:
    name = f"sbbench_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    workers = [WorkerProcess(url, concurrency) for _ in range(processes)]
    try:
        await migrate.upgrade(db)
        await asyncio.gather(*(w.start() for w in workers))
        await _store(db, 0, warmup, "warm")
        await _drained(db)
        await asyncio.gather(*(w.say("reset") for w in workers))
        await _store(db, 0, messages, "scale")
        started = time.perf_counter()
        with CpuMeter() as cpu:
            await _drained(db)
        elapsed = time.perf_counter() - started
        reports = [json.loads(line) for line in await asyncio.gather(*(w.say("stop") for w in workers))]
    finally:
        await asyncio.gather(*(w.close() for w in workers))
        await db.aclose()
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    latencies = [x for r in reports for x in r["latencies"]]
    return ScaleRun(
        processes=processes,
        messages=messages,
        elapsed_s=round(elapsed, 3),
        messages_per_s=round(messages / elapsed, 1),
        p50_ms=ms(percentile(latencies, 50)),
        p99_ms=ms(percentile(latencies, 99)),
        per_process=[len(r["latencies"]) for r in reports],
        busy_cores=round(cpu.use.busy_cores, 2) if cpu.use else 0.0,
        cpu_ms_per_message=round(cpu.use.ms_per(messages), 2) if cpu.use else 0.0,
    )


async def run(
    *, messages: int = 2000, processes: tuple[int, ...] = (1, 2), concurrency: int = 32, warmup: int = 100
) -> ScaleOutResult:
    result = ScaleOutResult(
        database=f"PostgreSQL at {make_url(POSTGRES_URL).host}:{make_url(POSTGRES_URL).port}",
        concurrency_per_process=concurrency,
    )
    try:
        await _admin("SELECT 1")
    except Exception as exc:  # no PostgreSQL here: reported, not failed
        result.skipped = f"PostgreSQL not reachable ({type(exc).__name__})"
        return result
    for n in processes:
        result.runs.append(await _one_run(n, messages=messages, concurrency=concurrency, warmup=warmup))
    if len(result.runs) > 1 and result.runs[0].messages_per_s:
        result.speedup = round(result.runs[-1].messages_per_s / result.runs[0].messages_per_s, 2)
    if result.runs and result.runs[0].busy_cores:
        result.cpu_bound_speedup = round(CORES / result.runs[0].busy_cores, 2)
    return result
