"""Every platform and model call the bot makes, against broken answers on the wire: a body that is not
JSON (a proxy's text), an HTML page, an empty body, a cut-off JSON body, a connection reset, a slow
answer. The real clients (slack_sdk through bolt, discord.py, google-genai) talk to the local fakes;
each call either succeeds after its retries or fails in a way its caller handles — in the end the
customer gets exactly one reply, and nothing is left in the inbox or given up."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.platform import Outbound
from bot.dead_letters import RetryPolicy
from storage import dead_letters, inbox
from tests.fakes.discord import FakeDiscord
from tests.fakes.gemini import FakeGemini, RawBody, Reset
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, message_event
from tests.harness import EXAMPLE
from tests.harness.discord import discord_bot, discord_settings
from tests.harness.gemini import gemini_respond
from tests.harness.slack import slack_http

# name: (body, HTTP status, content type)
BODIES: dict[str, tuple[str, int, str]] = {
    "text": ("403: Forbidden", 403, "text/plain"),
    "text-200": ("OK", 200, "text/plain"),
    "html": ("<html><body><h1>502 Bad Gateway</h1></body></html>", 502, "text/html"),
    "html-200": ("<!doctype html><html><body>Please sign in to the proxy</body></html>", 200, "text/html"),
    "empty": ("", 200, "application/json"),
    "truncated": ('{"ok": true, "channel": "C1", "ts": "18', 200, "application/json"),
}
FAULTS = [*BODIES, "reset", "slow"]


async def _settled(services: Any) -> tuple[int, int]:
    """(unfinished, given up) messages."""
    async with services.db.session() as s:
        return await inbox.count_unfinished(s), await dead_letters.count_dead_letters(s)


def _inject_slack(fake: FakeSlack, method: str, fault: str) -> None:
    if fault == "reset":
        fake.reset(method)
    elif fault == "slow":
        fake.slow(method, 0.5)
    else:
        body, status, content_type = BODIES[fault]
        fake.raw(method, body, status=status, content_type=content_type)


@pytest.fixture
def slack_settings(make_settings: Any, fake_slack: FakeSlack) -> Any:
    return make_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SUPPORTBOT_SLACK_API_URL=fake_slack.base_url
    )


@pytest.fixture
async def fake_slack() -> Any:
    async with FakeSlack() as server:
        yield server


@pytest.mark.parametrize("method", ["chat.postMessage", "reactions.add", "reactions.remove"])
@pytest.mark.parametrize("fault", FAULTS)
async def test_slack_reply_and_feedback_calls(
    slack_settings: Any, fake_slack: FakeSlack, method: str, fault: str
) -> None:
    async with slack_http(slack_settings, fake_slack) as slack:
        slack.services.support.retry = RetryPolicy(base_s=0.0)  # the next round may retry at once
        _inject_slack(fake_slack, method, fault)
        await slack.event(message_event("where is my order #A-700?", ts="1700000700.000100"))
        await fake_slack.wait_for(method, timeout=20)
        await slack.adapter.idle(timeout=20)
        for _ in range(2):  # what the runtime does every 30 s
            await slack.services.support.resume()
        await slack.adapter.idle(timeout=20)
        assert await _settled(slack.services) == (0, 0)
        [case] = await slack.cases()
    [reply] = fake_slack.thread("CSUPPORT", "1700000700.000100")
    assert case.ref in reply["text"]


@pytest.mark.parametrize("fault", FAULTS)
async def test_slack_thread_lookup(slack_settings: Any, fake_slack: FakeSlack, fault: str) -> None:
    """A reply that may have been posted before a crash is looked up first; a broken look-up posts it."""
    async with slack_http(slack_settings, fake_slack) as slack:
        _inject_slack(fake_slack, "conversations.replies", fault)
        out = Outbound(
            platform="slack",
            channel_id="CSUPPORT",
            thread_id="1700000800.000100",
            text="Your case",
            reply_id=42,
            in_reply_to="CSUPPORT:1700000800.000100",
            maybe_posted=True,
        )
        ts = await slack.adapter.deliver(out)
    [reply] = fake_slack.thread("CSUPPORT", "1700000800.000100")
    assert reply["ts"] == ts and len(fake_slack.calls_to("conversations.replies")) >= 1


@pytest.mark.parametrize("fault", [f for f in FAULTS if f not in ("html", "slow")])  # discord.py sleeps on 5xx
async def test_discord_reply(make_settings: Any, fault: str) -> None:
    async with FakeDiscord() as fake, discord_bot(discord_settings(make_settings, fake), fake) as bot:
        bot.services.support.retry = RetryPolicy(base_s=0.0)
        if fault == "reset":
            fake.reset("message")
        else:
            body, status, content_type = BODIES[fault]
            fake.raw("message", body, status=status, content_type=content_type)
        message = await bot.send("where is my order #A-701?")
        for _ in range(2):
            await bot.services.support.resume()
        await bot.settled()
        assert await _settled(bot.services) == (0, 0)
        [case] = await bot.cases()
        posts = [c for c in fake.posts_in(message["id"]) if c.json and case.ref in c.json.get("content", "")]
    # The call that got the broken answer (nothing was created) and the one that posted, with one nonce.
    assert len(posts) == 2 and posts[0].json["nonce"] == posts[1].json["nonce"]


@pytest.mark.parametrize("fault", [*BODIES, "reset"])
async def test_gemini_calls_fall_back_to_the_offline_engine(make_settings: Any, fault: str) -> None:
    from bot.wiring import open_services, shell_chat

    if fault == "reset":
        behaviour: Any = Reset()
    else:
        body, status, content_type = BODIES[fault]
        behaviour = RawBody(body, status=status, content_type=content_type)
    from workflows.llm.gemini import GeminiClient

    async with FakeGemini(respond=gemini_respond) as fake:
        fake.respond = lambda _model, _body: behaviour
        client = GeminiClient(
            api_key="test-key",
            model="gemini-main",
            router_model="gemini-router",
            base_url=fake.base_url,
            max_attempts=2,
            timeout_s=5,
            backoff_initial_s=0.001,
            backoff_max_s=0.01,
        )
        async with open_services(make_settings(), llm=client) as services:
            outcome = await shell_chat(services).send(EXAMPLE)
        assert len(fake.generate_requests) >= 2  # the plan and the reply were asked of the model
    assert outcome.error is None and outcome.result is not None
    cases = outcome.result.cases  # the offline engine answered all three requests
    assert {c.kind for c in cases} == {"billing", "return", "status"} and all(
        c.ref in outcome.result.reply for c in cases
    )


@pytest.mark.parametrize("fault", FAULTS)
async def test_slack_authorization_call(slack_settings: Any, fake_slack: FakeSlack, fault: str) -> None:
    """bolt's `auth.test` (made when the first event arrives): a broken answer makes bolt refuse the event;
    it is answered 503, not 200, so Slack's redelivery — the caller here — gets it answered, once."""
    async with slack_http(slack_settings, fake_slack) as slack:
        _inject_slack(fake_slack, "auth.test", fault)
        event = message_event("where is my order #A-702?", ts="1700000702.000100")
        first = await slack.event(event, event_id="EvAuth")
        if first.status != 200:  # bolt could not get past the failure: an answer Slack redelivers on
            assert first.status in (500, 503)  # 500: slack_sdk itself raised on a 200 text body
            assert (await slack.event(event, event_id="EvAuth", retry=1)).status == 200
        await fake_slack.wait_for("chat.postMessage", timeout=20)
        await slack.adapter.idle(timeout=20)
        assert await _settled(slack.services) == (0, 0)
    assert len(fake_slack.thread("CSUPPORT", "1700000702.000100")) == 1


async def test_a_slack_message_is_stored_before_its_feedback_goes_out(
    slack_settings: Any, fake_slack: FakeSlack
) -> None:
    """Slack has its 200 as soon as the event is read: the message is in the inbox while the :eyes: is
    still on its way (a crash then loses nothing), and the reply still comes after the reaction."""
    async with slack_http(slack_settings, fake_slack) as slack:
        fake_slack.hold("reactions.add")
        await slack.event(message_event("where is my order #A-703?", ts="1700000703.000100"))
        await fake_slack.wait_for("reactions.add", timeout=10)
        # Stored alongside the reaction, not after it: the count reaches 1 while the reaction is still held.
        # (Polled: the reaction's request can reach Slack before the store's commit returns, on PostgreSQL.)
        async with asyncio.timeout(10):
            while True:
                async with slack.services.db.session() as s:
                    if await inbox.count_unfinished(s) == 1:
                        break
                await asyncio.sleep(0.01)
        assert fake_slack.calls_to("reactions.add") and not fake_slack.calls_to("chat.postMessage")  # still held
        fake_slack.release("reactions.add")
        [post] = await fake_slack.wait_for("chat.postMessage", timeout=10)
        [reaction] = fake_slack.calls_to("reactions.add")
        await slack.adapter.idle(timeout=10)
    assert reaction.at <= post.at
