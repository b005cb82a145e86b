"""One worker process of the scale-out benchmark (`python -m bot.bench.scale_worker URL CONCURRENCY`): the
bot's own worker loop (`bot.inbox_worker.work_inbox`) on the given database, delivering to an in-memory
platform. Line protocol: prints `ready`; `reset` clears its timings (answers `ok`); `stop` (or end of
input) finishes the work in flight and prints `{"processed": n, "latencies": [seconds, …]}`."""

from __future__ import annotations

import asyncio
import json
import logging
import sys

from adapters.memory import MemoryPlatform
from bot.inbox_worker import work_inbox
from bot.settings import Settings
from bot.wiring import open_services

from .sandbox import PLATFORM


async def _child(url: str, concurrency: int) -> None:
    loop = asyncio.get_running_loop()
    settings = Settings(_env_file=None, SUPPORTBOT_DATABASE_URL=url, SUPPORTBOT_LLM="offline")  # type: ignore[call-arg]
    async with open_services(settings, use_settings_llm=False, concurrency=concurrency) as services:
        services.add_platform(MemoryPlatform(PLATFORM))
        services.support.queue_notice_s = None
        stop = asyncio.Event()
        latencies: list[float] = []
        worker = asyncio.create_task(work_inbox(services.support, stop, concurrency=concurrency, poll_s=0.01,
                                                latencies=latencies))
        print("ready", flush=True)
        while True:
            command = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if command == "reset":
                await services.support.drain(timeout_s=30)  # the warm-up's last answers are not counted
                await asyncio.sleep(0)
                latencies.clear()
                print("ok", flush=True)
                continue
            break
        stop.set()
        processed = await worker
        await services.support.drain(timeout_s=30)
        print(json.dumps({"processed": processed, "latencies": latencies}), flush=True)


if __name__ == "__main__":
    logging.disable(logging.WARNING)
    asyncio.run(_child(sys.argv[1], int(sys.argv[2])))
