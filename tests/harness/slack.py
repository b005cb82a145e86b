"""The Slack adapter driven for tests against the fake Slack (tests/fakes/slack.py): in HTTP mode behind
the bot's aiohttp route with signed requests, and in Socket Mode over the fake's websocket."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from adapters.slack import SlackAdapter
from bot.runtime import slack_adapter
from bot.wiring import Services, open_services, warm_up
from storage import cases as case_store
from storage.cases import CaseFilter
from tests.fakes.slack import FakeSlack, event_callback, form_body, signed_headers, slash_command
from workflows.llm.base import LLMClient

CHANNEL, CUSTOMER, STAFF = "CSUPPORT", "UCUST", "USTAFF"
ACK_LIMIT_S = 3.0  # Slack's limit for acknowledging an event or a command


@dataclass
class Posted:
    status: int
    body: str
    elapsed_s: float


@dataclass
class SlackHttp:
    services: Services
    adapter: SlackAdapter
    fake: FakeSlack
    url: str
    http: aiohttp.ClientSession

    async def post(self, body: str, headers: dict[str, str]) -> Posted:
        started = time.perf_counter()
        async with self.http.post(self.url, data=body.encode(), headers=headers) as response:
            text = await response.text()
        return Posted(response.status, text, time.perf_counter() - started)

    async def event(self, event: dict[str, Any], *, event_id: str | None = None, retry: int | None = None) -> Posted:
        body = json.dumps(event_callback(event, event_id=event_id))
        headers = signed_headers(body)
        if retry is not None:
            headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
        return await self.post(body, headers)

    async def command(self, command: str, text: str = "", *, user: str = CUSTOMER) -> Posted:
        body = form_body(
            slash_command(command, text, user=user, channel=CHANNEL, response_url=self.fake.response_url())
        )
        return await self.post(body, signed_headers(body, content_type="application/x-www-form-urlencoded"))

    async def cases(self) -> list[Any]:
        async with self.services.db.session() as s:
            return await case_store.list_cases(s, CaseFilter(), limit=None)


@asynccontextmanager
async def slack_http(settings: Any, fake: FakeSlack, *, llm: LLMClient | None = None) -> AsyncIterator[SlackHttp]:
    async with open_services(settings, llm=llm) as services:
        adapter = slack_adapter(services, mode="http")
        app = web.Application()
        app.add_routes(adapter.routes())
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        await warm_up(services)  # as `supportbot run` does before the platforms start
        await adapter.start()
        try:
            async with aiohttp.ClientSession() as http:
                yield SlackHttp(services, adapter, fake, f"http://127.0.0.1:{port}/slack/events", http)
        finally:
            await adapter.stop()
            await runner.cleanup()


@dataclass
class SlackSocket:
    services: Services
    adapter: SlackAdapter
    fake: FakeSlack

    async def cases(self) -> list[Any]:
        async with self.services.db.session() as s:
            return await case_store.list_cases(s, CaseFilter(), limit=None)


@asynccontextmanager
async def slack_socket(settings: Any, fake: FakeSlack) -> AsyncIterator[SlackSocket]:
    async with open_services(settings) as services:
        adapter = slack_adapter(services, mode="socket")
        opened = fake.connections  # a restart: the last process's websocket may not be gone from the fake yet
        await warm_up(services)
        await adapter.start()
        try:
            await fake.wait_connections(opened + 1)
            yield SlackSocket(services, adapter, fake)
        finally:
            await adapter.stop()
