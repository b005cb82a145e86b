"""Slack acknowledgement latency: 100 signed `message` events posted at once to the HTTP endpoint
(/slack/events: slack-bolt verifies the signature, acknowledges, and hands the message to a
background task) while the pipeline is busy with a steady stream of other customers' messages.

The Slack adapter runs as in production (HTTP mode). Slack — the sender of the events, and the Web
API the bot calls back (:eyes:, thread status, the reply) — is two child processes (`slack_side`), so
Slack's own work is not counted as the bot's. The same burst from a sender inside the bot's process
is reported too, for comparison: on a 2-core machine that sender's HTTP-client work is most of it.

Two deployments: `workers=1` (the default) is `supportbot run --workers 1` — this process is the
receiver (acknowledge, store) and a worker process runs the pipeline, the background load included,
and posts the replies; `workers=0` is the single process where acknowledgements and the pipeline
share one event loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass

from aiohttp import web

from bot.heap import frozen_heap
from bot.inbox_worker import WORKER_NICE

from .measure import ms, percentile
from .sandbox import bench_services
from .scale_out import WorkerProcess
from .scale_worker import SLACK_BOT_TOKEN as BOT_TOKEN
from .scale_worker import Load
from .slack_side import SECRET_ENV, Sender

SIGNING_SECRET = "bench-signing-secret"


@dataclass
class SlackAckResult:
    deployment: str  # "one process" or "receiver + N worker processes"
    events: int  # per burst, all at once
    bursts: int  # percentiles over all bursts' acknowledgements
    background_concurrency: int
    sender: str
    p50_ms: float
    p99_ms: float
    max_ms: float
    burst_p99_ms: list[float]
    non_200: int
    in_process_sender_p50_ms: float
    in_process_sender_p99_ms: float
    background_messages_per_s: float  # the pipeline's pace meanwhile
    replies_posted: int  # every measured event (bursts + the in-process one) still gets its threaded reply


class _SlackProcess:
    """A child process playing one side of Slack, `api` or `events` (see slack_side for the line protocol)."""

    def __init__(self, events: int, role: str) -> None:
        self.events, self.role = events, role
        self._child: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> _SlackProcess:
        self._child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.bench.slack_side",
            str(self.events),
            "0",
            self.role,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, SECRET_ENV: SIGNING_SECRET},
        )
        if self.role == "api":
            self.api_url = (await self._read()).removeprefix("api ").strip()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._child is not None
        if self._child.returncode is None:
            try:
                await self._say("quit")
                await asyncio.wait_for(self._child.wait(), 10)
            except (TimeoutError, ConnectionError):
                self._child.kill()
                await self._child.wait()

    async def _say(self, line: str) -> None:
        assert self._child is not None and self._child.stdin is not None
        self._child.stdin.write(line.encode() + b"\n")
        await self._child.stdin.drain()

    async def _read(self) -> str:
        assert self._child is not None and self._child.stdout is not None
        line = await asyncio.wait_for(self._child.stdout.readline(), 120)
        if not line:
            raise RuntimeError(f"the process playing Slack's {self.role} stopped")
        return line.decode()

    async def connect(self, url: str) -> None:
        await self._say(url)
        if (await self._read()).strip() != "ready":
            raise RuntimeError("the process playing Slack could not connect")

    async def send(self) -> list[tuple[int, float]]:
        await self._say("go")
        return [(int(status), float(seconds)) for status, seconds in json.loads(await self._read())["results"]]

    async def calls(self) -> dict[str, int]:
        await self._say("calls")
        return dict(json.loads(await self._read()))


async def _replies_posted(slack: _SlackProcess, count: int, *, timeout_s: float = 120) -> None:
    """Until Slack has seen `count` replies (posted by the worker process)."""
    async with asyncio.timeout(timeout_s):
        while (await slack.calls()).get("chat.postMessage", 0) < count:
            await asyncio.sleep(0.05)


async def run(
    *, events: int = 100, bursts: int = 3, background_concurrency: int = 32, warm_s: float = 0.5, workers: int = 1
) -> SlackAckResult:
    from bot.runtime import slack_adapter  # the benchmark drives the real adapter

    concurrency = background_concurrency + events
    async with (
        _SlackProcess(events, "api") as slack,
        _SlackProcess(events, "events") as sender,
        bench_services(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SUPPORTBOT_SLACK_API_URL=slack.api_url,
            concurrency=concurrency,
        ) as services,
    ):
        adapter = slack_adapter(services, mode="http")
        worker = None
        if workers:
            services.support.receive_only = True
            services.support.queue_notice_s = None
            worker = WorkerProcess(
                services.settings.database_url, concurrency, slack_api_url=slack.api_url, nice=WORKER_NICE
            )
            await worker.start()
        app = web.Application(middlewares=[services.acks.middleware])
        app.add_routes(adapter.routes())
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
        await adapter.start()
        load = Load(services, background_concurrency)
        loop = asyncio.get_running_loop()
        pace = 0.0

        async def answered(count: int) -> None:
            await adapter.idle(timeout=120)
            if worker is not None:
                await _replies_posted(slack, count)

        try:
            await sender.connect(url)
            with frozen_heap():  # as `supportbot run` serves: start-up out of the collector's walks
                async with Sender(url, SIGNING_SECRET, events) as local:
                    await local.send(900_000)  # warms bolt's and the pipeline's code paths
                    await answered(events)
                    if worker is not None:
                        await worker.say(f"load {background_concurrency}")
                    else:
                        load.start()
                    started, before = loop.time(), load.done
                    external: list[tuple[int, float]] = []
                    burst_p99: list[float] = []
                    for n in range(bursts):
                        await asyncio.sleep(warm_s)  # the pipeline is busy now
                        burst = await sender.send()
                        burst_p99.append(ms(percentile([seconds for _, seconds in burst], 99)))
                        external += burst
                        await answered(events * (n + 2))  # the burst answered: back to the steady load only
                    await asyncio.sleep(warm_s)
                    in_process = await local.send(500_000)
                    await answered(events * (bursts + 2))
                    pace = (load.done - before) / (loop.time() - started)
        finally:
            if worker is not None:
                report = json.loads(await worker.say("stop"))
                pace = report["load_done"] / report["load_seconds"] if report["load_seconds"] else 0.0
                await worker.close()
            else:
                await load.stop()
            await adapter.idle(timeout=120)
            await adapter.stop()
            await runner.cleanup()
        posted = (await slack.calls()).get("chat.postMessage", 0) - events  # less the warm-up burst's replies
    latencies = [seconds for _, seconds in external]
    local_latencies = [seconds for _, seconds in in_process]
    return SlackAckResult(
        deployment=f"receiver + {workers} worker process{'es' if workers > 1 else ''}" if workers else "one process",
        events=events,
        bursts=bursts,
        background_concurrency=background_concurrency,
        sender="a child process, the Web API another (as at Slack)",
        p50_ms=ms(percentile(latencies, 50)),
        p99_ms=ms(percentile(latencies, 99)),
        max_ms=ms(max(latencies)),
        burst_p99_ms=burst_p99,
        non_200=sum(status != 200 for status, _ in external + in_process),
        in_process_sender_p50_ms=ms(percentile(local_latencies, 50)),
        in_process_sender_p99_ms=ms(percentile(local_latencies, 99)),
        background_messages_per_s=round(pace, 1),
        replies_posted=posted,
    )
