"""The Slack adapter in HTTP mode: the real slack-bolt app behind the bot's aiohttp route, signed
requests from the test, and the real slack_sdk client talking to a fake Slack Web API."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from adapters.platform import Outbound
from adapters.slack.conversations import FEEDBACK_BUDGET_S
from adapters.slack.mrkdwn import MAX_TEXT_CHARS
from storage import inbox
from tests.fakes.slack import (
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    FakeSlack,
    event_callback,
    message_event,
    signed_headers,
)
from tests.harness import EXAMPLE
from tests.harness.slack import ACK_LIMIT_S, CHANNEL, CUSTOMER, STAFF, SlackHttp, slack_http
from workflows.llm.base import LLMRequest
from workflows.llm.scripted import FunctionLLM
from workflows.orchestrator import PlanAnswer


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


@pytest.fixture
def slack_settings(make_settings: Any, fake: FakeSlack) -> Any:
    return make_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SUPPORTBOT_SLACK_API_URL=fake.base_url,
        SUPPORTBOT_STAFF_SLACK_USER_IDS=STAFF,
    )


@pytest.fixture
async def slack(slack_settings: Any, fake: FakeSlack, caplog: pytest.LogCaptureFixture) -> AsyncIterator[SlackHttp]:
    caplog.set_level(logging.INFO)
    async with slack_http(slack_settings, fake) as harness:
        yield harness
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, f"errors logged: {[r.getMessage() for r in errors]}"


# --- messages ------------------------------------------------------------------------------------
async def test_customer_message_gets_one_threaded_reply_quoting_every_case(slack: SlackHttp) -> None:
    fake = slack.fake
    sent = await slack.event(message_event(EXAMPLE, ts="1700000001.000100"))
    assert sent.status == 200 and sent.elapsed_s < ACK_LIMIT_S
    [reaction] = await fake.wait_for("reactions.add")
    [post] = await fake.wait_for("chat.postMessage")
    await slack.adapter.idle(timeout=10)

    assert post.args["channel"] == CHANNEL and post.args["thread_ts"] == "1700000001.000100"
    cases = await slack.cases()
    assert {c.kind for c in cases} == {"billing", "return", "status"}
    for case in cases:
        assert case.ref in post.args["text"]
    assert "**" not in post.args["text"]  # markdown became mrkdwn
    assert len(fake.calls_to("chat.postMessage")) == 1
    # fast feedback: thread status and :eyes: before the answer, the reaction taken away after it
    [status] = fake.calls_to("assistant.threads.setStatus")
    assert status.args["channel_id"] == CHANNEL and status.args["thread_ts"] == "1700000001.000100"
    assert status.args["status"] and status.at <= post.at
    assert reaction.args["name"] == "eyes" and reaction.args["timestamp"] == "1700000001.000100"
    assert reaction.at <= post.at
    [removed] = await fake.wait_for("reactions.remove")
    assert removed.at >= post.at and removed.args["timestamp"] == "1700000001.000100"


async def test_ack_comes_before_the_work_and_feedback_within_a_second(slack: SlackHttp) -> None:
    started = time.monotonic()
    sent = await slack.event(message_event("where is my order #A-555?", ts="1700000002.000100"))
    [reaction] = await slack.fake.wait_for("reactions.add")
    [post] = await slack.fake.wait_for("chat.postMessage")
    assert sent.status == 200
    assert started + sent.elapsed_s <= post.at  # acknowledged before the reply existed
    assert reaction.at - started < 1.0
    print(
        f"\nack {sent.elapsed_s * 1000:.1f} ms, :eyes: after {(reaction.at - started) * 1000:.1f} ms, "
        f"reply after {(post.at - started) * 1000:.1f} ms"
    )


async def test_redelivered_event_gets_no_second_reply_or_case(slack: SlackHttp) -> None:
    event = message_event(EXAMPLE, ts="1700000003.000100")
    await slack.event(event, event_id="EvFIRST")
    await slack.fake.wait_for("chat.postMessage")
    await slack.adapter.idle(timeout=10)
    refs = sorted(c.ref for c in await slack.cases())

    retry = await slack.event(event, event_id="EvFIRST", retry=1)  # Slack's retry of the same event
    again = await slack.event(event, event_id="EvFIRST")  # the same event id once more
    mention = message_event(f"<@{BOT_USER_ID}> {EXAMPLE}", ts="1700000003.000100", type="app_mention")
    twin = await slack.event(mention, event_id="EvMENTION")  # the app_mention twin of the same message
    assert {retry.status, again.status, twin.status} == {200}
    await slack.adapter.idle(timeout=10)

    assert len(slack.fake.calls_to("chat.postMessage")) == 1
    assert sorted(c.ref for c in await slack.cases()) == refs
    assert len(slack.fake.calls_to("reactions.add")) == 1  # no second :eyes: either


async def test_message_and_mention_arriving_together_are_answered_once(slack: SlackHttp) -> None:
    text = f"<@{BOT_USER_ID}> I want to return my broken headphones, they stopped charging"
    results = await asyncio.gather(
        slack.event(message_event(text, ts="1700000004.000100"), event_id="EvMSG"),
        slack.event(message_event(text, ts="1700000004.000100", type="app_mention"), event_id="EvAPP"),
    )
    assert [r.status for r in results] == [200, 200]
    [post] = await slack.fake.wait_for("chat.postMessage")
    await slack.adapter.idle(timeout=10)
    assert len(slack.fake.calls_to("chat.postMessage")) == 1
    [case] = await slack.cases()
    assert case.kind == "return" and case.ref in post.args["text"]


async def test_redelivery_after_a_restart_is_still_not_answered(slack_settings: Any, fake: FakeSlack) -> None:
    event = message_event(EXAMPLE, ts="1700000005.000100")
    async with slack_http(slack_settings, fake) as first:
        await first.event(event, event_id="EvR1")
        await fake.wait_for("chat.postMessage")
        await first.adapter.idle(timeout=10)
    async with slack_http(slack_settings, fake) as second:  # a new process on the same database
        sent = await second.event(event, event_id="EvR1", retry=2)
        await second.adapter.idle(timeout=10)
        assert sent.status == 200
        assert len(fake.calls_to("chat.postMessage")) == 1
        assert len(await second.cases()) == 3


async def test_bad_signature_and_stale_timestamp_get_401(slack: SlackHttp) -> None:
    body = json.dumps(event_callback(message_event(EXAMPLE, ts="1700000006.000100")))
    wrong = await slack.post(body, signed_headers(body, secret="not-the-secret"))
    stale = await slack.post(body, signed_headers(body, timestamp=int(time.time()) - 600))
    unsigned = await slack.post(body, {"Content-Type": "application/json"})
    assert (wrong.status, stale.status, unsigned.status) == (401, 401, 401)
    challenge = json.dumps({"token": "legacy", "challenge": "c-123", "type": "url_verification"})
    verified = await slack.post(challenge, signed_headers(challenge))
    assert verified.status == 200 and json.loads(verified.body) == {"challenge": "c-123"}
    await slack.adapter.idle(timeout=5)
    assert slack.fake.calls_to("chat.postMessage") == [] and await slack.cases() == []
    async with slack.services.db.session() as s:
        assert await inbox.count_unfinished(s) == 0


async def test_bot_messages_and_non_text_subtypes_are_ignored(slack: SlackHttp) -> None:
    own = message_event("Your case is INV_CASE_X", user=BOT_USER_ID, bot_id=BOT_ID, ts="1700000007.000100")
    other_bot = message_event("beep", subtype="bot_message", bot_id="BOTHER", ts="1700000007.000200")
    other_app = message_event("where is order #A-9?", user="UAPP", bot_id="BAPP", app_id="A2", ts="1700000007.000250")
    edit = message_event(
        "",
        subtype="message_changed",
        ts="1700000007.000300",
        message={"type": "message", "user": CUSTOMER, "text": "return my order #A-1"},
    )
    join = message_event(f"<@{CUSTOMER}> has joined the channel", subtype="channel_join", ts="1700000007.000400")
    for event in (own, other_bot, other_app, edit, join):
        assert (await slack.event(event)).status == 200
    await slack.adapter.idle(timeout=5)
    assert slack.fake.calls_to("chat.postMessage") == []
    assert slack.fake.calls_to("reactions.add") == []
    async with slack.services.db.session() as s:
        assert await inbox.messages_since(s, since=_epoch()) == []
    # and a real customer message right after is answered: the app was listening all along
    await slack.event(message_event("where is my order #A-777?", ts="1700000007.000500"))
    [post] = await slack.fake.wait_for("chat.postMessage")
    assert "STS-" in post.args["text"]


def _epoch() -> datetime:
    return datetime(2000, 1, 1, tzinfo=UTC)


async def test_follow_up_in_the_thread_completes_the_pending_return(slack: SlackHttp) -> None:
    await slack.event(message_event("I want to return my headphones", ts="1700000008.000100"))
    [ask] = await slack.fake.wait_for("chat.postMessage")
    assert ask.args["thread_ts"] == "1700000008.000100" and "reason" in ask.args["text"].lower()
    await slack.adapter.idle(timeout=10)
    assert await slack.cases() == []

    await slack.event(message_event("they stopped charging", ts="1700000008.000900", thread_ts="1700000008.000100"))
    _, done = await slack.fake.wait_for("chat.postMessage", 2)
    await slack.adapter.idle(timeout=10)
    [case] = await slack.cases()
    assert case.kind == "return" and case.details["product_name"].lower() == "headphones"
    assert "charging" in case.details["reason_for_return"]
    assert done.args["thread_ts"] == "1700000008.000100" and case.ref in done.args["text"]


async def test_staff_reply_in_a_thread_is_recorded_not_answered(slack: SlackHttp) -> None:
    await slack.event(message_event("where is my order #A-4242?", ts="1700000009.000100"))
    await slack.fake.wait_for("chat.postMessage")
    await slack.adapter.idle(timeout=10)
    await slack.event(
        message_event(
            "I'm looking into this personally.", user=STAFF, ts="1700000009.000500", thread_ts="1700000009.000100"
        )
    )
    await slack.adapter.idle(timeout=10)
    assert len(slack.fake.calls_to("chat.postMessage")) == 1
    async with slack.services.db.session() as s:
        roles = [(m.role, m.author_id) for m in await inbox.messages_since(s, since=_epoch())]
    assert ("staff", STAFF) in roles
    # a top-level message from staff is a test of the bot: answered like a customer's
    await slack.event(message_event("where is my order #A-4343?", user=STAFF, ts="1700000009.000900"))
    _, second = await slack.fake.wait_for("chat.postMessage", 2)
    assert second.args["thread_ts"] == "1700000009.000900"


async def test_rate_limits_are_retried_and_missing_scopes_tolerated(slack: SlackHttp) -> None:
    slack.fake.rate_limit("chat.postMessage", retry_after=0)
    slack.fake.fail("reactions.add", "missing_scope")
    slack.fake.fail("assistant.threads.setStatus", "missing_scope")
    await slack.event(message_event("where is my order #A-100?", ts="1700000010.000100"))
    await slack.fake.wait_for("chat.postMessage", 2)  # a 429, then the retry by slack_sdk's handler
    await slack.adapter.idle(timeout=10)
    assert len(await slack.cases()) == 1
    await slack.event(message_event("where is my order #A-200?", ts="1700000010.000200"))
    await slack.fake.wait_for("chat.postMessage", 3)
    await slack.adapter.idle(timeout=10)
    # after missing_scope the adapter stops asking; the replies went out regardless
    assert len(slack.fake.calls_to("reactions.add")) == 1
    assert len(slack.fake.calls_to("assistant.threads.setStatus")) == 1
    assert len(slack.fake.calls_to("chat.postMessage")) == 3


async def test_slow_feedback_does_not_hold_up_the_answer(slack: SlackHttp) -> None:
    slack.fake.rate_limit("reactions.add", retry_after=30)  # slack_sdk would wait 30 s before retrying
    started = time.monotonic()
    await slack.event(message_event("where is my order #A-300?", ts="1700000010.000300"))
    [post] = await slack.fake.wait_for("chat.postMessage")
    assert post.at - started < FEEDBACK_BUDGET_S + 1.5
    await slack.adapter.idle(timeout=10)
    assert len(slack.fake.calls_to("reactions.add")) == 1  # abandoned, not retried after the answer
    print(f"\nanswer posted {(post.at - started) * 1000:.0f} ms after a rate-limited reaction")


# --- long answers ----------------------------------------------------------------------------------
def _long_reply_llm() -> FunctionLLM:
    def respond(request: LLMRequest[Any]) -> Any:
        if request.step == "plan":
            return PlanAnswer.model_validate(
                {
                    "routes": ["billing", "return", "status"],
                    "tasks": [
                        {
                            "kind": "billing",
                            "invoice_number": "INV-7890",
                            "concern": "invoice seems higher than expected",
                        },
                        {
                            "kind": "return",
                            "product_name": "SuperWidget 5000",
                            "reason_for_return": "not compatible with my system",
                        },
                        {"kind": "status", "order_id": "A-12345"},
                    ],
                }
            )
        refs = request.inputs["refs"]
        paragraphs = [f"About case `{ref}`: " + "Here is everything we know and will do next. " * 24 for ref in refs]
        return {"reply": "\n\n".join(paragraphs)}

    return FunctionLLM(respond)


async def test_an_answer_longer_than_a_message_is_split_in_the_thread(slack_settings: Any, fake: FakeSlack) -> None:
    async with slack_http(slack_settings, fake, llm=_long_reply_llm()) as slack:
        await slack.event(message_event(EXAMPLE, ts="1700000011.000100"))
        await fake.wait_for("chat.postMessage")
        await slack.adapter.idle(timeout=10)
        posts = fake.calls_to("chat.postMessage")
        assert len(posts) >= 2
        assert all(len(p.args["text"]) <= MAX_TEXT_CHARS for p in posts)
        assert all(p.args["thread_ts"] == "1700000011.000100" for p in posts)
        assert all(p.args["text"].startswith("About case") for p in posts)  # cut between paragraphs
        joined = "\n".join(p.args["text"] for p in posts)
        for case in await slack.cases():
            assert case.ref in joined


async def test_deliver_splits_a_huge_reply_and_a_retry_posts_only_what_is_missing(slack: SlackHttp) -> None:
    text = "\n\n".join(f"Paragraph {i}. " + "All good here. " * 150 for i in range(25))  # ~56,000 characters
    out = Outbound(platform="slack", channel_id=CHANNEL, thread_id="1700000012.000100", text=text, reply_id=999)
    first_ts = await slack.adapter.deliver(out)
    posts = slack.fake.calls_to("chat.postMessage")
    assert len(posts) >= 19 and first_ts == "1800000001.000100"
    assert all(len(p.args["text"]) <= MAX_TEXT_CHARS for p in posts)
    assert all(p.args["thread_ts"] == "1700000012.000100" for p in posts)
    assert " ".join(p.args["text"] for p in posts).split() == text.split()  # nothing lost or repeated

    slack.fake.calls.clear()
    slack.fake.fail("chat.postMessage", "internal_error", after=3)  # the 4th piece fails (a transient error)
    again = Outbound(platform="slack", channel_id=CHANNEL, thread_id="1.0", text=text, reply_id=1000)
    with pytest.raises(SlackApiError):
        await slack.adapter.deliver(again)
    await slack.adapter.deliver(again)  # what the service does on its next attempt
    texts = [c.args["text"] for c in slack.fake.calls_to("chat.postMessage")]
    assert len(texts) == len(posts) + 1  # one failed attempt; no piece posted twice
    assert texts[3] == texts[4] and len(set(texts)) == len(posts)
