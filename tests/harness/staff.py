"""The staff loop driven for tests: the bot as `supportbot run --slack --slack-mode http` wires it (the
Slack adapter behind its HTTP route, the staff loop running), signed clicks and modal submits, the CLI as
another process, and a clock the test moves."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from adapters.slack import SlackAdapter
from bot.wiring import Services
from storage import cases as case_store
from storage.models import utcnow
from tests.fakes.slack import (
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    block_actions,
    event_callback,
    interactive_body,
    message_event,
    signed_headers,
    view_submission,
)
from tests.harness.slack import slack_http
from tests.support import command_line, environment

CHANNEL, STAFF_CHANNEL, CUSTOMER, STAFF, OTHER = "CSUPPORT", "CSTAFF", "UCUST", "USTAFF", "UOTHER"
THREAD = "1700000100.000100"
FORM = "application/x-www-form-urlencoded"


@dataclass
class StaffHarness:
    services: Services
    adapter: SlackAdapter
    fake: FakeSlack
    url: str
    http: aiohttp.ClientSession

    async def post(self, body: str, content_type: str) -> tuple[int, str, float]:
        started = time.perf_counter()
        async with self.http.post(
            self.url, data=body.encode(), headers=signed_headers(body, content_type=content_type)
        ) as response:
            return response.status, await response.text(), time.perf_counter() - started

    async def say(self, text: str, *, ts: str, thread_ts: str | None = None, user: str = CUSTOMER) -> None:
        body = json.dumps(event_callback(message_event(text, ts=ts, thread_ts=thread_ts, user=user, channel=CHANNEL)))
        status, _, _ = await self.post(body, "application/json")
        assert status == 200

    async def click(self, action: str, value: str, *, user: str, message_ts: str = "") -> tuple[int, str, float]:
        payload = block_actions(
            action,
            value,
            user=user,
            channel=STAFF_CHANNEL,
            message_ts=message_ts,
            response_url=self.fake.response_url(),
        )
        return await self.post(interactive_body(payload), FORM)

    async def submit(
        self, callback_id: str, ref: str, values: dict[str, dict[str, str]], *, user: str = STAFF
    ) -> tuple[int, str, float]:
        payload = view_submission(callback_id, values, user=user, private_metadata=json.dumps({"ref": ref}))
        return await self.post(interactive_body(payload), FORM)

    async def case(self, ref: str | None = None) -> Any:
        async with self.services.db.session() as s:
            if ref is not None:
                return await case_store.get_case(s, ref)
            [only] = await case_store.list_cases(s, limit=None)
            return only

    def cards(self) -> list[dict[str, Any]]:
        return self.fake.in_channel(STAFF_CHANNEL)

    async def response(self, count: int) -> dict[str, Any]:
        return (await self.fake.wait_responses(count))[count - 1]


def staff_settings(make_settings: Any, fake: FakeSlack, **overrides: str) -> Any:
    """Slack in HTTP mode with a staff channel, a staff member and a staff group."""
    return make_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SUPPORTBOT_SLACK_API_URL=fake.base_url,
        SUPPORTBOT_STAFF_SLACK_USER_IDS=STAFF,
        SUPPORTBOT_SLACK_STAFF_CHANNEL=STAFF_CHANNEL,
        SUPPORTBOT_SLACK_STAFF_GROUP="S0STAFF",
        **overrides,
    )


@asynccontextmanager
async def staff_loop(services: Services) -> AsyncIterator[None]:
    """The staff loop running as in `supportbot run` (polling often, for quick tests) while entered."""
    services.staff.poll_s = 0.05
    stop = asyncio.Event()
    loop = asyncio.create_task(services.staff.run(stop))
    try:
        yield
    finally:
        stop.set()
        await loop


@asynccontextmanager
async def running(settings: Any, fake: FakeSlack) -> AsyncIterator[StaffHarness]:
    """The bot as `supportbot run --slack --slack-mode http` wires it: adapter, HTTP route, staff loop."""
    async with slack_http(settings, fake) as h, staff_loop(h.services):
        yield StaffHarness(h.services, h.adapter, fake, h.url, h.http)


async def cli(tmp_path: Path, settings: Any, *args: str) -> str:
    """`supportbot …` as another process on the bot's database."""
    env = environment(tmp_path, SUPPORTBOT_DATABASE_URL=settings.database_url)
    process = await asyncio.create_subprocess_exec(
        *command_line(), *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


def button_actions(message: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e["value"])
        for b in message.get("blocks") or []
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def card_words(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks"), ensure_ascii=False)


async def card_posted(bot: StaffHarness) -> tuple[dict[str, Any], Any]:
    await bot.fake.wait_until(lambda: len(bot.cards()) >= 1, timeout=5)
    [card] = bot.cards()
    return card, await bot.case()


class Clock:
    """Real time plus an offset the test moves (the staff loop's timers read it)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset
