"""A worker process of the benchmarks (`python -m bot.bench.scale_worker URL CONCURRENCY [SLACK_API_URL]`):
the bot's own worker loop (`bot.inbox_worker.work_inbox`) on the given database, delivering the bench
platform's replies in memory and, given a Slack Web API URL, Slack's through an outbound-only Slack
adapter (as a worker of `supportbot run --workers N` does).

Line protocol: prints `ready`; `load N` starts N senders keeping the pipeline busy with other customers'
messages, as the acknowledgement benchmark's background (answers `ok`); `reset` clears its timings
(answers `ok`); `stop` (or end of input) finishes the work in flight and prints
`{"processed": n, "latencies": [seconds, …], "load_done": n, "load_seconds": s}`."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import sys

from adapters.memory import MemoryPlatform
from bot.heap import frozen_heap
from bot.inbox_worker import work_inbox
from bot.settings import Settings
from bot.wiring import Services, open_services, warm_up

from .sandbox import PLATFORM, customer_message
from .throughput import MESSAGES

SLACK_BOT_TOKEN = "xoxb-bench-token"
NICE_ENV = "SUPPORTBOT_BENCH_NICE"


class Load:
    """Keeps `concurrency` customers' messages flowing through the pipeline until stopped."""

    def __init__(self, services: Services, concurrency: int) -> None:
        self.services, self.concurrency = services, concurrency
        self.done = 0
        self.started = 0.0
        self._stop = asyncio.Event()
        self._counter = itertools.count()
        self._tasks: list[asyncio.Task[None]] = []

    async def _sender(self) -> None:
        while not self._stop.is_set():
            i = next(self._counter)
            await self.services.support.handle(customer_message(i, MESSAGES[i % len(MESSAGES)], run="load"))
            self.done += 1

    def start(self) -> None:
        self.started = asyncio.get_running_loop().time()
        self._tasks = [asyncio.create_task(self._sender()) for _ in range(self.concurrency)]

    async def stop(self) -> float:
        """Stops the senders; returns the seconds they ran."""
        self._stop.set()
        await asyncio.gather(*self._tasks)
        return asyncio.get_running_loop().time() - self.started if self._tasks else 0.0


async def _child(url: str, concurrency: int, slack_api_url: str | None) -> None:
    from bot.runtime import outbound_platforms

    loop = asyncio.get_running_loop()
    values = {"SUPPORTBOT_DATABASE_URL": url, "SUPPORTBOT_LLM": "offline"}
    if slack_api_url:
        values.update(SLACK_BOT_TOKEN=SLACK_BOT_TOKEN, SUPPORTBOT_SLACK_API_URL=slack_api_url)
    settings = Settings(_env_file=None, **values)  # type: ignore[arg-type]
    async with open_services(settings, use_settings_llm=False, concurrency=concurrency) as services:
        services.add_platform(MemoryPlatform(PLATFORM))
        outbound = await outbound_platforms(services)
        for platform in outbound:
            services.add_platform(platform)
        services.support.queue_notice_s = None
        await warm_up(services)  # as run_worker: the encoder loaded, then start-up frozen
        with frozen_heap():
            stop = asyncio.Event()
            latencies: list[float] = []
            load: Load | None = None
            worker = asyncio.create_task(
                work_inbox(services.support, stop, concurrency=concurrency, poll_s=0.01, latencies=latencies)
            )
            print("ready", flush=True)
            while True:
                command = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
                if command.startswith("load "):
                    load = Load(services, int(command.split()[1]))
                    load.start()
                elif command == "reset":
                    await services.support.drain(timeout_s=30)  # the warm-up's last answers are not counted
                    await asyncio.sleep(0)
                    latencies.clear()
                else:
                    break
                print("ok", flush=True)
            load_seconds = await load.stop() if load is not None else 0.0
            stop.set()
            processed = await worker
        await services.support.drain(timeout_s=30)
        for platform in outbound:
            await platform.stop()
        print(
            json.dumps(
                {
                    "processed": processed,
                    "latencies": latencies,
                    "load_done": load.done if load else 0,
                    "load_seconds": load_seconds,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    logging.disable(logging.WARNING)
    os.nice(int(os.environ.get(NICE_ENV, "0")))
    asyncio.run(_child(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None))
