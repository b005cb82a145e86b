"""`supportbot run --slack` as a real subprocess, in HTTP mode and in Socket Mode, pointed at the fake
Slack by SUPPORTBOT_SLACK_API_URL: one answer in the thread with every case reference, a redelivery
ignored, a forged request refused, a slash command served, and a graceful exit on SIGTERM."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.slack import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    event_callback,
    form_body,
    message_event,
    signed_headers,
    slash_command,
)
from tests.support import command_line, environment, free_port, stop_gracefully, stored_cases, wait_until_healthy

pytestmark = pytest.mark.slow  # subprocesses

EXAMPLE = (
    "Hi, I'm writing to you because I have a question about invoice #INV-7890. It seems higher than I "
    "expected. Also, I would like to return the 'SuperWidget 5000' I bought because it's not compatible "
    "with my system. Finally, can you give me an update on my order #A-12345?"
)
CHANNEL, CUSTOMER = "CSUPPORT", "UCUST"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


@asynccontextmanager
async def supportbot_run(tmp_path: Path, fake: FakeSlack, *args: str, **env: str) -> AsyncIterator[str]:
    """`supportbot run --slack …` as a subprocess pointed at the fake; yields its base URL, then stops it
    with SIGTERM and checks the graceful exit (code 0)."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *command_line(),
        "run",
        "--slack",
        *args,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        cwd=tmp_path,
        env=environment(tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SUPPORTBOT_SLACK_API_URL=fake.base_url, **env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_until_healthy(process, port)
        yield base
    finally:
        await stop_gracefully(process)


async def test_supportbot_run_in_http_mode_answers_once_and_refuses_bad_signatures(
    tmp_path: Path, fake: FakeSlack
) -> None:
    body = json.dumps(event_callback(message_event(EXAMPLE, ts="1700000200.000100"), event_id="EvE2E"))
    async with supportbot_run(tmp_path, fake, "--slack-mode", "http", SLACK_SIGNING_SECRET=SIGNING_SECRET) as base:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/slack/events", data=body, headers=signed_headers(body)) as first:
                assert first.status == 200
            [post] = await fake.wait_for("chat.postMessage", timeout=30)
            retry_headers = {**signed_headers(body), "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
            async with http.post(f"{base}/slack/events", data=body, headers=retry_headers) as retry:
                assert retry.status == 200
            async with http.post(
                f"{base}/slack/events", data=body, headers=signed_headers(body, secret="wrong")
            ) as forged:
                assert forged.status == 401
            command = form_body(
                slash_command("/cases", "", user=CUSTOMER, channel=CHANNEL, response_url=fake.response_url())
            )
            form_headers = signed_headers(command, content_type="application/x-www-form-urlencoded")
            async with http.post(f"{base}/slack/events", data=command, headers=form_headers) as ack:
                assert ack.status == 200
            [listing] = await fake.wait_responses(timeout=30)
    # stopped gracefully: everything in flight has finished
    assert post.args["thread_ts"] == "1700000200.000100"
    cases = await stored_cases(tmp_path)
    assert len(cases) == 3 and all(c.ref in post.args["text"] for c in cases)
    assert len(fake.calls_to("chat.postMessage")) == 1
    assert listing["response_type"] == "ephemeral" and all(c.ref in json.dumps(listing["blocks"]) for c in cases)


async def test_supportbot_run_in_socket_mode_answers_once(tmp_path: Path, fake: FakeSlack) -> None:
    payload = event_callback(message_event(EXAMPLE, ts="1700000300.000100"), event_id="EvE2ES")
    async with supportbot_run(tmp_path, fake, "--slack-mode", "socket", SLACK_APP_TOKEN=APP_TOKEN):
        await fake.wait_connected()
        envelope = await fake.send_envelope(payload)
        await fake.wait_ack(envelope)
        [post] = await fake.wait_for("chat.postMessage", timeout=30)
        retry = await fake.send_envelope(payload, retry_attempt=1, retry_reason="timeout")
        await fake.wait_ack(retry)
    cases = await stored_cases(tmp_path)
    assert len(cases) == 3 and all(c.ref in post.args["text"] for c in cases)
    assert post.args["thread_ts"] == "1700000300.000100"
    assert len(fake.calls_to("chat.postMessage")) == 1


async def test_supportbot_run_with_a_refused_app_token_exits_1_with_one_line(tmp_path: Path, fake: FakeSlack) -> None:
    process = await asyncio.create_subprocess_exec(
        *command_line(),
        "run",
        "--slack",
        "--slack-mode",
        "socket",
        "--host",
        "127.0.0.1",
        "--port",
        str(free_port()),
        cwd=tmp_path,
        env=environment(
            tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN="xapp-wrong", SUPPORTBOT_SLACK_API_URL=fake.base_url
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        _, stderr = await process.communicate()
    errors = [line for line in stderr.decode().splitlines() if line.startswith("error:")]
    assert process.returncode == 1, stderr.decode()
    assert len(errors) == 1 and "SLACK_APP_TOKEN" in errors[0] and "invalid_auth" in errors[0], stderr.decode()
    assert "Traceback" not in stderr.decode() and "xapp-wrong" not in stderr.decode()
