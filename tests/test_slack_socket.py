"""The Slack adapter in Socket Mode: slack-bolt's AsyncSocketModeHandler opens the connection through
apps.connections.open on the fake Web API and receives envelopes over the fake's websocket."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.runtime import slack_adapter
from bot.wiring import open_services
from tests.fakes.slack import (
    APP_TOKEN,
    BOT_TOKEN,
    FakeSlack,
    event_callback,
    message_event,
    slash_command,
)
from tests.harness import EXAMPLE
from tests.harness.slack import CHANNEL, SlackSocket, slack_socket


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


@pytest.fixture
def socket_settings(make_settings: Any, fake: FakeSlack) -> Any:
    return make_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SUPPORTBOT_SLACK_API_URL=fake.base_url,
        SUPPORTBOT_STAFF_SLACK_USER_IDS="USTAFF",
    )


@pytest.fixture
async def slack(socket_settings: Any, fake: FakeSlack, caplog: pytest.LogCaptureFixture) -> AsyncIterator[SlackSocket]:
    caplog.set_level(logging.INFO)
    async with slack_socket(socket_settings, fake) as harness:
        yield harness
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, f"errors logged: {[r.getMessage() for r in errors]}"


async def test_connects_with_the_app_token_and_reports_connected(slack: SlackSocket) -> None:
    [opened] = slack.fake.calls_to("apps.connections.open")
    assert opened.token == APP_TOKEN
    assert all(c.token == BOT_TOKEN for c in slack.fake.calls if c.method != "apps.connections.open")
    assert slack.adapter.connected and slack.adapter.routes() == []
    await slack.adapter.stop()
    assert not slack.adapter.connected


async def test_message_flow_over_the_websocket_answers_once(slack: SlackSocket) -> None:
    fake = slack.fake
    payload = event_callback(message_event(EXAMPLE, ts="1700000101.000100"), event_id="EvSOCK1")
    envelope = await fake.send_envelope(payload)
    ack = await fake.wait_ack(envelope)
    assert ack == {"envelope_id": envelope}
    [post] = await fake.wait_for("chat.postMessage")
    await slack.adapter.idle(timeout=10)
    assert post.args["channel"] == CHANNEL and post.args["thread_ts"] == "1700000101.000100"
    cases = await slack.cases()
    assert len(cases) == 3 and all(c.ref in post.args["text"] for c in cases)
    assert fake.calls_to("reactions.add") and fake.calls_to("assistant.threads.setStatus")

    # Slack's redelivery: retry_attempt=1 (bolt turns it into X-Slack-Retry-Num) — acknowledged, not answered
    retry = await fake.send_envelope(payload, retry_attempt=1, retry_reason="timeout")
    assert (await fake.wait_ack(retry))["envelope_id"] == retry
    await slack.adapter.idle(timeout=10)
    assert len(fake.calls_to("chat.postMessage")) == 1
    assert len(await slack.cases()) == 3


async def test_follow_up_over_the_websocket_completes_the_pending_task(slack: SlackSocket) -> None:
    fake = slack.fake
    await fake.send_envelope(event_callback(message_event("I want to return my headphones", ts="1700000102.000100")))
    await fake.wait_for("chat.postMessage")
    await slack.adapter.idle(timeout=10)
    await fake.send_envelope(
        event_callback(message_event("they stopped charging", ts="1700000102.000500", thread_ts="1700000102.000100"))
    )
    _, done = await fake.wait_for("chat.postMessage", 2)
    [case] = await slack.cases()
    assert case.kind == "return" and case.ref in done.args["text"]
    assert done.args["thread_ts"] == "1700000102.000100"


async def test_slash_command_over_the_websocket_refuses_privately(slack: SlackSocket) -> None:
    fake = slack.fake
    command = slash_command("/cases", "<@UOTHER>", user="UCUST", channel=CHANNEL, response_url=fake.response_url())
    envelope = await fake.send_envelope(command, type="slash_commands", accepts_response_payload=True)
    assert (await fake.wait_ack(envelope))["envelope_id"] == envelope
    [response] = await fake.wait_responses()
    assert response["response_type"] == "ephemeral" and "only list your own cases" in response["text"]
    assert fake.calls_to("chat.postMessage") == []


async def test_a_refused_app_token_stops_start_with_a_clear_error(make_settings: Any, fake: FakeSlack) -> None:
    settings = make_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN="xapp-wrong", SUPPORTBOT_SLACK_API_URL=fake.base_url
    )
    async with open_services(settings) as services:
        adapter = slack_adapter(services, mode="socket")
        with pytest.raises(RuntimeError, match=r"SLACK_APP_TOKEN.*invalid_auth"):
            await adapter.start()
        assert not adapter.connected
        session = adapter.client.session  # a failed start keeps no HTTP pool open
        assert session is None or session.closed
    assert json.dumps([c.method for c in fake.calls]) == json.dumps(["auth.test", "apps.connections.open"])
