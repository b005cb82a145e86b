"""The staff loop driven for tests: the bot as `supportbot run --slack` wires it, in HTTP mode (the Slack
adapter behind its HTTP route: signed messages, clicks and modal submits) or in Socket Mode (the same sent
as envelopes over the fake's websocket), the staff loop running; the CLI as another process, and a clock
the test moves."""

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
from storage.models import Message, utcnow
from tests.fakes.slack import (
    APP_TOKEN,
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
from tests.harness.slack import slack_http, slack_socket
from tests.support import command_line, environment

CHANNEL, STAFF_CHANNEL, CUSTOMER, STAFF, OTHER = "CSUPPORT", "CSTAFF", "UCUST", "USTAFF", "UOTHER"
THREAD = "1700000100.000100"
FORM = "application/x-www-form-urlencoded"


@dataclass
class StaffBot:
    """What a test reads of the running bot, whichever way Slack reaches it."""

    services: Services
    adapter: SlackAdapter
    fake: FakeSlack

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

    async def message(self, ts: str) -> Any:
        """The stored row of the customer's message `ts` in the support channel."""
        async with self.services.db.session() as s:
            key = Message.platform_message_id == f"{CHANNEL}:{ts}"
            return (await s.execute(Message.__table__.select().where(key))).one()


@dataclass
class StaffHarness(StaffBot):
    """HTTP mode: Slack's signed posts to the bot's /slack/events."""

    url: str
    http: aiohttp.ClientSession

    async def post(self, body: str, content_type: str) -> tuple[int, str, float]:
        started = time.perf_counter()
        async with self.http.post(
            self.url, data=body.encode(), headers=signed_headers(body, content_type=content_type)
        ) as response:
            return response.status, await response.text(), time.perf_counter() - started

    async def say(self, text: str, *, ts: str, thread_ts: str | None = None, user: str = CUSTOMER) -> None:
        status, _, _ = await self.post(json.dumps(_said(text, ts, thread_ts, user)), "application/json")
        assert status == 200

    async def click(
        self, action: str, value: str, *, user: str, message_ts: str = "", channel: str = STAFF_CHANNEL
    ) -> tuple[int, str, float]:
        payload = _clicked(self.fake, action, value, user, message_ts, channel)
        return await self.post(interactive_body(payload), FORM)

    async def submit(
        self, callback_id: str, ref: str, values: dict[str, dict[str, str]], *, user: str = STAFF
    ) -> tuple[int, str, float]:
        return await self.post(interactive_body(_submitted(callback_id, ref, values, user)), FORM)


@dataclass
class SocketStaffHarness(StaffBot):
    """Socket Mode: the same as envelopes over the fake's websocket; each returns bolt's acknowledgement."""

    async def say(self, text: str, *, ts: str, thread_ts: str | None = None, user: str = CUSTOMER) -> dict[str, Any]:
        return await self.fake.wait_ack(await self.fake.send_envelope(_said(text, ts, thread_ts, user)))

    async def click(
        self, action: str, value: str, *, user: str, message_ts: str = "", channel: str = STAFF_CHANNEL
    ) -> dict[str, Any]:
        payload = _clicked(self.fake, action, value, user, message_ts, channel)
        return await self.fake.wait_ack(await self.fake.send_envelope(payload, type="interactive"))

    async def submit(
        self, callback_id: str, ref: str, values: dict[str, dict[str, str]], *, user: str = STAFF
    ) -> dict[str, Any]:
        payload = _submitted(callback_id, ref, values, user)
        envelope = await self.fake.send_envelope(payload, type="interactive", accepts_response_payload=True)
        return await self.fake.wait_ack(envelope)


# What Slack sends for a customer's message, a click and a modal submit, in either mode.
def _said(text: str, ts: str, thread_ts: str | None, user: str) -> dict[str, Any]:
    return event_callback(message_event(text, ts=ts, thread_ts=thread_ts, user=user, channel=CHANNEL))


def _clicked(fake: FakeSlack, action: str, value: str, user: str, message_ts: str, channel: str) -> dict[str, Any]:
    return block_actions(
        action, value, user=user, channel=channel, message_ts=message_ts, response_url=fake.response_url()
    )


def _submitted(callback_id: str, ref: str, values: dict[str, dict[str, str]], user: str) -> dict[str, Any]:
    return view_submission(callback_id, values, user=user, private_metadata=json.dumps({"ref": ref}))


def staff_settings(make_settings: Any, fake: FakeSlack, *, socket: bool = False, **overrides: str) -> Any:
    """Slack in HTTP mode (Socket Mode with `socket`) with a staff channel, a staff member and a staff group."""
    credentials = {"SLACK_APP_TOKEN": APP_TOKEN} if socket else {"SLACK_SIGNING_SECRET": SIGNING_SECRET}
    return make_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        **credentials,
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


@asynccontextmanager
async def running_socket(settings: Any, fake: FakeSlack) -> AsyncIterator[SocketStaffHarness]:
    """The bot as `supportbot run --slack` wires it in Socket Mode: adapter connected, staff loop."""
    async with slack_socket(settings, fake) as h, staff_loop(h.services):
        yield SocketStaffHarness(h.services, h.adapter, fake)


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


async def rated(tmp_path: Path, settings: Any, ref: str) -> list[dict[str, Any]]:
    """The `rated` events of a case as `supportbot cases show REF --json` (another process) lists them."""
    shown = json.loads(await cli(tmp_path, settings, "cases", "show", ref, "--json"))
    return [e for e in shown["events"] if e["action"] == "rated"]


def button_actions(message: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e["value"])
        for b in message.get("blocks") or []
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def card_words(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks"), ensure_ascii=False)


async def card_posted(bot: StaffBot) -> tuple[dict[str, Any], Any]:
    await bot.fake.wait_until(lambda: len(bot.cards()) >= 1, timeout=5)
    [card] = bot.cards()
    return card, await bot.case()


class Clock:
    """Real time plus an offset the test moves (the staff loop's timers read it)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset
