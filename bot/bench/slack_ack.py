"""Slack acknowledgement latency: 100 signed `message` events posted at once to the HTTP endpoint
(/slack/events: slack-bolt verifies the signature, acknowledges, and hands the message to a
background task) while the pipeline is busy with a steady stream of other customers' messages.

The Slack adapter runs as in production (HTTP mode). Slack — the sender of the events and the Web
API the bot calls back (:eyes:, thread status, the reply) — is a child process (`slack_side`), so
Slack's own work is not counted as the bot's. The same burst from a sender inside the bot's process
is reported too, for comparison: on a 2-core machine that sender's HTTP-client work is most of it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
from dataclasses import dataclass

from aiohttp import web

from bot.wiring import Services

from .measure import ms, percentile
from .sandbox import bench_services, customer_message
from .slack_side import SECRET_ENV, Sender
from .throughput import MESSAGES

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench-token"


@dataclass
class SlackAckResult:
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


class _Load:
    """Keeps `concurrency` customers' messages flowing through the pipeline until stopped."""

    def __init__(self, services: Services, concurrency: int) -> None:
        self.services, self.concurrency = services, concurrency
        self.done = 0
        self._stop = asyncio.Event()
        self._counter = itertools.count()
        self._tasks: list[asyncio.Task[None]] = []

    async def _sender(self) -> None:
        while not self._stop.is_set():
            i = next(self._counter)
            await self.services.support.handle(customer_message(i, MESSAGES[i % len(MESSAGES)], run="load"))
            self.done += 1

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._sender()) for _ in range(self.concurrency)]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)


class _SlackProcess:
    """The child process playing Slack (see slack_side for the line protocol)."""

    def __init__(self, events: int) -> None:
        self.events = events
        self._child: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> _SlackProcess:
        self._child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.bench.slack_side", str(self.events), "0",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env={**os.environ, SECRET_ENV: SIGNING_SECRET})
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
            raise RuntimeError("the process playing Slack stopped")
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


async def run(*, events: int = 100, bursts: int = 3, background_concurrency: int = 32,
              warm_s: float = 0.5) -> SlackAckResult:
    from bot.runtime import slack_adapter  # the benchmark drives the real adapter

    async with _SlackProcess(events) as slack, bench_services(
            SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SUPPORTBOT_SLACK_API_URL=slack.api_url,
            concurrency=background_concurrency + events) as services:
        adapter = slack_adapter(services, mode="http")
        app = web.Application()
        app.add_routes(adapter.routes())
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
        await adapter.start()
        load = _Load(services, background_concurrency)
        loop = asyncio.get_running_loop()
        try:
            await slack.connect(url)
            async with Sender(url, SIGNING_SECRET, events) as local:
                await local.send(900_000)  # warms bolt's and the pipeline's code paths
                await adapter.idle(timeout=60)
                load.start()
                started, before = loop.time(), load.done
                external: list[tuple[int, float]] = []
                burst_p99: list[float] = []
                for _ in range(bursts):
                    await asyncio.sleep(warm_s)  # the pipeline is busy now
                    burst = await slack.send()
                    burst_p99.append(ms(percentile([seconds for _, seconds in burst], 99)))
                    external += burst
                    await adapter.idle(timeout=120)  # the burst answered: back to the steady load only
                await asyncio.sleep(warm_s)
                in_process = await local.send(500_000)
                pace = (load.done - before) / (loop.time() - started)
        finally:
            await load.stop()
            await adapter.idle(timeout=120)
            await adapter.stop()
            await runner.cleanup()
        posted = (await slack.calls()).get("chat.postMessage", 0) - events  # less the warm-up burst's replies
    latencies = [seconds for _, seconds in external]
    local_latencies = [seconds for _, seconds in in_process]
    return SlackAckResult(
        events=events, bursts=bursts, background_concurrency=background_concurrency,
        sender="a child process (as Slack is)",
        p50_ms=ms(percentile(latencies, 50)), p99_ms=ms(percentile(latencies, 99)), max_ms=ms(max(latencies)),
        burst_p99_ms=burst_p99,
        non_200=sum(status != 200 for status, _ in external + in_process),
        in_process_sender_p50_ms=ms(percentile(local_latencies, 50)),
        in_process_sender_p99_ms=ms(percentile(local_latencies, 99)),
        background_messages_per_s=round(pace, 1), replies_posted=posted)
