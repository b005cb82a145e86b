"""Slash commands through the Slack adapter in HTTP mode: every registry command bound, acknowledged
within Slack's 3 seconds, refusals and private results ephemeral (response_url), public results in
the channel, and a long-running command showing its progress in one edited message."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.commands.registry import (
    Args,
    Command,
    CommandContext,
    CommandResult,
    Progress,
    ResultItem,
)
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, message_event
from tests.harness import EXAMPLE
from tests.harness.slack import ACK_LIMIT_S, CHANNEL, STAFF, SlackHttp, slack_http


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


@pytest.fixture
async def slack(make_settings: Any, fake: FakeSlack, caplog: pytest.LogCaptureFixture) -> AsyncIterator[SlackHttp]:
    caplog.set_level(logging.INFO)
    settings = make_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SUPPORTBOT_SLACK_API_URL=fake.base_url,
        SUPPORTBOT_STAFF_SLACK_USER_IDS=STAFF,
    )
    async with slack_http(settings, fake) as harness:
        yield harness
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, f"errors logged: {[r.getMessage() for r in errors]}"


async def test_non_staff_cases_of_another_user_gets_an_ephemeral_refusal(slack: SlackHttp) -> None:
    sent = await slack.command("/cases", "<@UOTHER|other>")
    assert sent.status == 200 and sent.elapsed_s < ACK_LIMIT_S
    [response] = await slack.fake.wait_responses()
    assert response["response_type"] == "ephemeral"
    assert "only list your own cases" in response["text"]
    await slack.adapter.idle(timeout=5)
    assert slack.fake.calls_to("chat.postMessage") == []


async def test_staff_only_command_is_refused_for_a_customer(slack: SlackHttp) -> None:
    ran: list[str] = []

    async def secret(ctx: CommandContext, args: Args) -> CommandResult:
        ran.append(ctx.caller.user_id)
        return CommandResult(text="secret stuff")

    slack.services.registry.add(Command("case-purge", "Staff only", "/case-purge", secret, staff_only=True))
    await slack.command("/case-purge", "RMA-1")
    [response] = await slack.fake.wait_responses()
    assert response["response_type"] == "ephemeral" and "staff only" in response["text"]
    assert ran == []
    await slack.command("/case-purge", "RMA-1", user=STAFF)
    await slack.fake.wait_for("chat.postMessage")  # a public result goes to the channel
    assert ran == [STAFF]


async def test_customer_sees_own_cases_as_blocks(slack: SlackHttp) -> None:
    await slack.event(message_event(EXAMPLE, ts="1700000013.000100"))
    await slack.fake.wait_for("chat.postMessage")
    await slack.adapter.idle(timeout=10)
    await slack.command("/cases")
    [response] = await slack.fake.wait_responses()
    assert response["response_type"] == "ephemeral"
    assert response["blocks"][0]["type"] == "header" and "3 found" in response["blocks"][0]["text"]["text"]
    shown = json.dumps(response["blocks"])
    for case in await slack.cases():
        assert case.ref in shown


async def test_long_running_command_acks_at_once_shows_progress_and_posts_the_result(slack: SlackHttp) -> None:
    release = asyncio.Event()

    async def build(ctx: CommandContext, args: Args) -> CommandResult:
        await ctx.report(Progress("fetching", 0, 3))
        await release.wait()  # the work is still going on when the ack must already be out
        for done in (1, 2, 3):
            await ctx.report(Progress("answering", done, 3, f"question {done}"))
        return CommandResult(
            text="FAQ",
            title="FAQ: shop.test",
            items=[
                ResultItem(title=f"Question {i}?", body=f"Answer {i}.", url="https://shop.test/faq") for i in range(3)
            ],
        )

    slack.services.registry.add(Command("slowfaq", "Build an FAQ", "/slowfaq URL", build, long_running=True))
    sent = await slack.command("/slowfaq", "<https://shop.test/faq>", user=STAFF)
    assert sent.status == 200 and sent.elapsed_s < ACK_LIMIT_S
    ack = json.loads(sent.body)
    assert ack["response_type"] == "ephemeral" and "Working on /slowfaq" in ack["text"]
    [progress] = await slack.fake.wait_for("chat.postMessage")
    assert "fetching" in progress.args["text"] and not release.is_set()
    release.set()
    _, result = await slack.fake.wait_for("chat.postMessage", 2)
    await slack.adapter.idle(timeout=10)
    assert result.args["channel"] == CHANNEL and "thread_ts" not in result.args
    assert result.args["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "FAQ: shop.test"}}
    updates = slack.fake.calls_to("chat.update")
    assert updates and all(u.args["ts"] == "1800000001.000100" for u in updates)  # one message, edited
    assert "✅" in updates[-1].args["text"]
    print(f"\n/slowfaq ack latency {sent.elapsed_s * 1000:.1f} ms; {len(updates)} progress edits")


async def test_lifecycle_commands_take_slack_escaped_user_mentions(slack: SlackHttp) -> None:
    await slack.event(message_event("where is my order #A-8080?", ts="1700000014.000100"))
    await slack.fake.wait_for("chat.postMessage")
    await slack.adapter.idle(timeout=10)
    [case] = await slack.cases()
    await slack.command("/case-close", f"{case.ref} done")  # a customer: refused privately
    await slack.command("/case-assign", f"{case.ref} <@{STAFF}|ann>", user=STAFF)  # how Slack escapes a mention
    refused, assigned = await slack.fake.wait_responses(2)
    assert refused["response_type"] == "ephemeral" and "staff only" in refused["text"]
    assert assigned["response_type"] == "ephemeral" and f"slack:{STAFF}" in json.dumps(assigned["blocks"])
    [case] = await slack.cases()
    assert case.assignee == f"slack:{STAFF}" and case.status != "closed"
