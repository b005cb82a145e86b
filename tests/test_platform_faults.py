"""Platform faults (docs/spec-notes.md, part 4): the real slack_sdk / slack-bolt and discord.py against fakes that
fail the way the platforms do.

Slack: the Web API client carries slack_sdk's retry handlers (connection errors, 429 honouring
Retry-After, 500/503), so a reply whose chat.postMessage first gets a 500 and then a 429 is posted once;
the message stays pending in the inbox until then. When the handlers give up, the message stays pending
and the service's resume posts it — once. Socket Mode: the server closing the websocket makes
slack_sdk open a new one (apps.connections.open) and events flow again.

Discord: discord.py retries a 500 on send itself (after 1 s) and sleeps on 429 `retry_after`; a 503
(raised at once) leaves the message pending for the service's resume. A gateway disconnect with a
resumable close code makes discord.py reconnect and RESUME; messages after it are answered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)

from bot.dead_letters import RetryPolicy
from storage import inbox
from tests.fakes.discord import FakeDiscord
from tests.fakes.slack import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    event_callback,
    message_event,
)
from tests.harness.discord import discord_bot, discord_settings
from tests.harness.slack import slack_http, slack_socket


@pytest.fixture
async def slack_fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


async def unfinished(services: Any) -> int:
    async with services.db.session() as s:
        return await inbox.count_unfinished(s)


# --- Slack -------------------------------------------------------------------------------------------
def test_the_slack_client_has_slack_sdks_retry_handlers(make_settings: Any) -> None:
    from adapters.slack.adapter import make_web_client

    client = make_web_client(BOT_TOKEN, base_url="http://127.0.0.1:1/api/")
    kinds = {type(h) for h in client.retry_handlers}
    assert {AsyncConnectionErrorRetryHandler, AsyncRateLimitErrorRetryHandler, AsyncServerErrorRetryHandler} <= kinds


async def test_slack_500_then_429_is_retried_and_the_reply_posted_once(
    make_settings: Any, slack_fake: FakeSlack
) -> None:
    settings = make_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SUPPORTBOT_SLACK_API_URL=slack_fake.base_url
    )
    slack_fake.server_error("chat.postMessage", status=500)
    slack_fake.rate_limit("chat.postMessage", retry_after=1)
    async with slack_http(settings, slack_fake) as slack:
        await slack.event(message_event("where is my order #A-100?", ts="1700000100.000100"))
        await slack_fake.wait_for("chat.postMessage", 2)  # the 500, then the retry that got a 429
        assert await unfinished(slack.services) == 1  # pending until the reply is really posted
        failed, limited, posted = await slack_fake.wait_for("chat.postMessage", 3)
        await slack.adapter.idle(timeout=10)
        assert posted.at - limited.at >= 1.0  # Retry-After honoured
        assert len(slack_fake.calls_to("chat.postMessage")) == 3  # one post succeeded, nothing more
        assert failed.args["text"] == limited.args["text"] == posted.args["text"]
        assert await unfinished(slack.services) == 0
        [case] = await slack.cases()
        assert case.ref in posted.args["text"]


async def test_slack_errors_beyond_the_retries_leave_the_message_pending_until_resume(
    make_settings: Any, slack_fake: FakeSlack
) -> None:
    settings = make_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SUPPORTBOT_SLACK_API_URL=slack_fake.base_url
    )
    slack_fake.server_error("chat.postMessage", status=503, times=3)  # the first try and both retries
    async with slack_http(settings, slack_fake) as slack:
        # No backoff here: the next round may retry at once (tests/test_dead_letters.py covers the wait).
        slack.services.support.retry = RetryPolicy(base_s=0.0)
        await slack.event(message_event("where is my order #A-200?", ts="1700000101.000100"))
        await slack_fake.wait_for("chat.postMessage", 3)
        await slack.adapter.idle(timeout=10)
        assert await unfinished(slack.services) == 1  # not lost: still in the inbox
        assert len(await slack.cases()) == 1  # the work is done and stored; only the delivery is owed
        assert await slack.services.support.resume() == 1  # what the runtime does every 30 s and at start
        assert await slack.services.support.resume() == 0
        posts = slack_fake.calls_to("chat.postMessage")
        assert len(posts) == 4 and await unfinished(slack.services) == 0
        [case] = await slack.cases()
        assert case.ref in posts[-1].args["text"] and posts[-1].args["thread_ts"] == "1700000101.000100"


async def test_socket_mode_reconnects_after_the_server_closes_the_connection(
    make_settings: Any, slack_fake: FakeSlack
) -> None:
    settings = make_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SUPPORTBOT_SLACK_API_URL=slack_fake.base_url
    )
    async with slack_socket(settings, slack_fake) as slack:
        assert slack.adapter.connected and slack_fake.connections == 1
        await slack_fake.drop_connections()
        await slack_fake.wait_for("apps.connections.open", 2)  # slack_sdk asked for a new websocket URL
        await slack_fake.wait_connections(2)
        envelope = await slack_fake.send_envelope(
            event_callback(message_event("where is my order #A-300?", ts="1700000102.000100"))
        )
        await slack_fake.wait_ack(envelope)
        [post] = await slack_fake.wait_for("chat.postMessage")
        await slack.adapter.idle(timeout=10)
        [case] = await slack.cases()
        assert case.ref in post.args["text"] and slack.adapter.connected


# --- Discord -----------------------------------------------------------------------------------------
async def test_discord_500_on_send_is_retried_by_discord_py_and_posted_once(
    make_settings: Any, discord_fake: FakeDiscord
) -> None:
    async with discord_bot(discord_settings(make_settings, discord_fake), discord_fake) as bot:
        discord_fake.fail("message", 500, message="500: Internal Server Error")
        message = await bot.send("where is my order #A-400?")
        failed, posted = discord_fake.posts_in(message["id"])
        assert posted.at - failed.at >= 1.0  # discord.py's own back-off
        assert failed.json["nonce"] == posted.json["nonce"]  # the same idempotency key
        [case] = await bot.cases()
        assert case.ref in posted.json["content"]
        assert await unfinished(bot.services) == 0


async def test_discord_503_leaves_the_message_pending_and_resume_posts_it_once(
    make_settings: Any, discord_fake: FakeDiscord
) -> None:
    async with discord_bot(discord_settings(make_settings, discord_fake), discord_fake) as bot:
        bot.services.support.retry = RetryPolicy(base_s=0.0)  # the next round may retry at once
        discord_fake.fail("message", 503, message="503: Service Unavailable")  # raised at once, not retried
        message = await bot.send("where is my order #A-500?")
        assert len(discord_fake.posts_in(message["id"])) == 1
        assert await unfinished(bot.services) == 1
        assert await bot.services.support.resume() == 1
        assert await bot.services.support.resume() == 0
        _failed, posted = discord_fake.posts_in(message["id"])
        [case] = await bot.cases()
        assert case.ref in posted.json["content"] and await unfinished(bot.services) == 0


async def test_discord_gateway_disconnect_resumes_and_messages_flow_again(
    make_settings: Any, discord_fake: FakeDiscord
) -> None:
    async with discord_bot(discord_settings(make_settings, discord_fake), discord_fake) as bot:
        await discord_fake.drop_connections(code=4000)
        await discord_fake.wait_resumed()
        message = await bot.send("where is my order #A-600?")
        [posted] = discord_fake.posts_in(message["id"])
        [case] = await bot.cases()
        assert case.ref in posted.json["content"] and bot.adapter.connected
