"""Slack acknowledgement latency: 100 signed `message` events posted at once to the HTTP endpoint
(/slack/events: slack-bolt verifies the signature, acknowledges, and hands the message to a
background task) while the pipeline is busy with a steady stream of other customers' messages.

The Slack adapter runs as in production (HTTP mode) against a local fake Slack Web API; the load
generator and the client share the process, so their work is part of what the endpoint competes with.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass


import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bot.wiring import Services

from .fakes import FakeSlackApi
from .measure import ms, percentile
from .sandbox import bench_services, customer_message
from .throughput import MESSAGES

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench-token"


@dataclass
class SlackAckResult:
    events: int
    background_concurrency: int
    background_messages_during: int  # other messages the pipeline finished while the events arrived
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_200: int
    replies_posted: int  # every event still gets its threaded reply afterwards


def _signed(body: str) -> dict[str, str]:
    ts = str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature, "Content-Type": "application/json"}


def _event(i: int, text: str) -> str:
    ts = f"1700000000.{i:06d}"
    event = {"type": "message", "channel_type": "channel", "user": f"UCUST{i}", "text": text, "ts": ts,
             "channel": "CBENCH", "event_ts": ts, "team": "TBENCH"}
    return json.dumps({"token": "legacy", "team_id": "TBENCH", "api_app_id": "ABENCH", "type": "event_callback",
                       "event": event, "event_id": f"EvBENCH{i:06d}", "event_time": int(time.time()),
                       "authorizations": [{"team_id": "TBENCH", "user_id": "UBOT", "is_bot": True}]})


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


async def run(*, events: int = 100, background_concurrency: int = 32, warm_s: float = 0.5) -> SlackAckResult:
    from adapters.slack import SlackAdapter  # noqa: PLC0415 — the benchmark drives the real adapter

    async with FakeSlackApi() as slack_api, bench_services(
            SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SUPPORTBOT_SLACK_API_URL=slack_api.base_url, concurrency=background_concurrency + events) as services:
        adapter = SlackAdapter(services, mode="http")
        app = web.Application()
        app.add_routes(adapter.routes())
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
        await adapter.start()
        load = _Load(services, background_concurrency)
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=events)) as http:
                async def post(body: str) -> tuple[int, float]:
                    started = time.perf_counter()
                    async with http.post(url, data=body.encode(), headers=_signed(body)) as response:
                        await response.read()
                    return response.status, time.perf_counter() - started

                # Open the client's connections first (url_verification needs no pipeline work), as Slack
                # keeps its connections alive.
                challenge = json.dumps({"token": "legacy", "challenge": "warm", "type": "url_verification"})
                await asyncio.gather(*(post(challenge) for _ in range(events)))
                await post(_event(999_999, MESSAGES[0]))
                await adapter.idle(timeout=30)

                load.start()
                await asyncio.sleep(warm_s)  # the pipeline is busy now
                before = load.done
                results = await asyncio.gather(*(post(_event(i, MESSAGES[i % len(MESSAGES)]))
                                                 for i in range(events)))
                during = load.done - before
        finally:
            await load.stop()
            await adapter.idle(timeout=120)
            await adapter.stop()
            await runner.cleanup()
    latencies = [elapsed for _, elapsed in results]
    return SlackAckResult(events=events, background_concurrency=background_concurrency,
                          background_messages_during=during, p50_ms=ms(percentile(latencies, 50)),
                          p99_ms=ms(percentile(latencies, 99)), max_ms=ms(max(latencies)),
                          non_200=sum(status != 200 for status, _ in results),
                          replies_posted=slack_api.calls.get("chat.postMessage", 0) - 1)


