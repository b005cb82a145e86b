"""Observability (docs/spec-notes.md, part 8): /healthz and /metrics over HTTP from the real `serve()` with the
real Slack adapter (HTTP mode) against the fake Slack; conversation and case ids in the log lines of a
processed message; and no secret in the logs of `supportbot --debug run` with real-looking tokens, a
Gemini error that echoes the key and a delivery error whose exception text carries the bot token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.memory import MemoryPlatform
from adapters.slack import SlackAdapter
from bot.runtime import serve, slack_adapter
from bot.wiring import Services, open_services, shell_chat
from storage.db import Database
from tests.fakes.gemini import Fail, FakeGemini
from tests.fakes.slack import (
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    event_callback,
    message_event,
    signed_headers,
)
from tests.support import command_line, environment, free_port, start_slack_bot
from workflows.llm.base import LLMRequest, LLMUnavailable
from workflows.llm.scripted import FunctionLLM

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class StubAdapter(MemoryPlatform):
    """A second adapter whose connection the test switches off."""

    def __init__(self) -> None:
        super().__init__("discord")


@dataclass
class Running:
    services: Services
    slack: SlackAdapter
    other: StubAdapter
    fake: FakeSlack
    base: str
    http: aiohttp.ClientSession

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(self.base + path) as response:
            return response.status, await response.text()

    async def event(self, text: str, ts: str) -> None:
        body = json.dumps(event_callback(message_event(text, ts=ts)))
        async with self.http.post(self.base + "/slack/events", data=body, headers=signed_headers(body)) as response:
            assert response.status == 200

    async def metrics(self) -> Samples:
        status, text = await self.get("/metrics")
        assert status == 200
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }


def _model(request: LLMRequest[Any]) -> Any:
    if request.step == "plan":  # the plan step's model is down: the offline engine plans
        return LLMUnavailable("503 from the provider")
    return {"reply": "Thanks! Your cases: " + ", ".join(request.inputs["refs"]) + "."}


@asynccontextmanager
async def running_bot(make_settings: Any, fake: FakeSlack) -> AsyncIterator[Running]:
    settings = make_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SUPPORTBOT_SLACK_API_URL=fake.base_url
    )
    port = free_port()
    stop = asyncio.Event()
    async with open_services(settings, llm=FunctionLLM(_model)) as services:
        slack = slack_adapter(services, mode="http")
        other = StubAdapter()
        server = asyncio.create_task(serve(services, [slack, other], host="127.0.0.1", port=port, stop=stop))
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            async with asyncio.timeout(10):
                while not slack.connected:  # serve() starts the adapters after the HTTP server
                    await asyncio.sleep(0.01)
            try:
                yield Running(services, slack, other, fake, base, http)
            finally:
                stop.set()
                await server


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_healthz_is_200_when_all_is_well_and_503_when_the_database_or_an_adapter_is_down(
    make_settings: Any, tmp_path: Path
) -> None:
    async with FakeSlack() as fake, running_bot(make_settings, fake) as bot:
        status, body = await bot.get("/healthz")
        assert status == 200
        assert json.loads(body) == {
            "status": "ok",
            "database": True,
            "adapters": {"slack": True, "discord": True},
            "backoffice": "simulated",
        }

        bot.other.connected = False  # an adapter lost its connection
        status, body = await bot.get("/healthz")
        assert status == 503 and json.loads(body)["adapters"] == {"slack": True, "discord": False}
        bot.other.connected = True

        real_db = bot.services.db
        unreachable = Database(f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")
        bot.services.db = unreachable  # the database cannot be reached
        try:
            status, body = await bot.get("/healthz")
            assert status == 503 and json.loads(body)["database"] is False
            status, _ = await bot.get("/metrics")  # the scrape still answers
            assert status == 200
        finally:
            bot.services.db = real_db
            await unreachable.aclose()
        assert (await bot.get("/healthz"))[0] == 200


async def test_metrics_move_with_the_messages_processed(make_settings: Any) -> None:
    async with FakeSlack() as fake, running_bot(make_settings, fake) as bot:
        before = await bot.metrics()
        for i, text in enumerate(
            ["where is my order #A-1?", "where is my order #A-2?", "please refund invoice #INV-33, I was charged twice"]
        ):
            await bot.event(text, ts=f"1700002000.00010{i}")
        await fake.wait_for("chat.postMessage", 3)
        await bot.slack.idle(timeout=10)
        fake.fail("chat.postMessage", "channel_not_found")  # the next delivery fails for good: given up, counted
        await bot.event("where is my order #A-4?", ts="1700002000.000200")
        await fake.wait_for("chat.postMessage", 4)
        await bot.slack.idle(timeout=10)
        after = await bot.metrics()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("supportbot_messages_total", outcome="received") == 4
    assert delta("supportbot_messages_total", outcome="replied") == 3
    assert delta("supportbot_messages_total", outcome="failed") == 1
    assert value(after, "supportbot_messages_pending") == 0
    assert delta("supportbot_messages_total", outcome="given_up") == 1
    assert value(after, "supportbot_messages_failed") == 1  # a dead letter, kept
    assert delta("supportbot_errors_total", step="deliver") == 1
    assert delta("supportbot_errors_total", step="plan") == 4
    assert delta("supportbot_llm_calls_total", step="plan", result="error") == 4
    assert delta("supportbot_llm_calls_total", step="synthesize", result="ok") == 4
    assert delta("supportbot_llm_fallbacks_total", step="plan", reason="LLMUnavailable") == 4
    assert delta("supportbot_step_seconds_count", step="plan") == 4
    assert delta("supportbot_step_seconds_count", step="synthesize") == 4
    assert delta("supportbot_step_seconds_sum", step="synthesize") > 0
    assert delta("supportbot_cases_total", kind="status") == 3
    assert delta("supportbot_cases_total", kind="billing") == 1


async def test_log_lines_of_a_processed_message_carry_conversation_message_and_case_ids(
    services: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    result = (await shell_chat(services).send("where is my order #A-77? and invoice #INV-5 is wrong")).result
    assert result is not None and len(result.cases) == 2
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("bot.service")]
    assert lines
    ids = re.compile(r"conversation=\d+ message=\d+")
    assert all(ids.search(line) for line in lines), lines
    for case in result.cases:  # each case opened is named in a line with its conversation
        assert any(f"case={case.ref}" in line and ids.search(line) for line in lines), case.ref
    summary = [line for line in lines if "route=" in line]
    assert summary and all(c.ref in summary[0] for c in result.cases)


# --- secrets never in the logs -----------------------------------------------------------------------
SLACK_TOKEN = "xoxb-2718281828-3141592653589-Zx9Qw8Er7Ty6Ui5Op4As3Df2"
SIGNING = "8f74c0d1e2a3b4c5d6e7f8091a2b3c4d"
GEMINI_KEY = "AIzaSyD4-realLooking_Key0123456789abcdefg"
DISCORD_TOKEN = "MTA5ODc2NTQzMjEwOTg3NjU0.GhIjKl.Rk3p_qWzv9XbYcT1uN0mA8sL2dF6gH4jK7eQ5o"
DB_PASSWORD = "pg-S3cret-Passw0rd-991"
SECRETS = (SLACK_TOKEN, SIGNING, GEMINI_KEY, DISCORD_TOKEN, DB_PASSWORD)


SECRET_SETTINGS = {
    "SLACK_BOT_TOKEN": SLACK_TOKEN,
    "SLACK_SIGNING_SECRET": SIGNING,
    "GEMINI_API_KEY": GEMINI_KEY,
    "DISCORD_BOT_TOKEN": DISCORD_TOKEN,
}


async def test_no_secret_reaches_the_logs_at_debug_level_even_on_error_paths(tmp_path: Path) -> None:
    async with FakeSlack(bot_token=SLACK_TOKEN) as fake, FakeGemini() as gemini:
        # The provider echoes the key in its error, the platform echoes the token in its error: both are
        # logged (a warning, and an exception with its traceback) and must come out redacted.
        gemini.respond = lambda _model, _body: Fail(400, f"API key not valid: {GEMINI_KEY}")
        fake.fail("chat.postMessage", f"invalid_auth: token {SLACK_TOKEN} was revoked")
        port = free_port()
        process = await start_slack_bot(
            tmp_path,
            fake,
            port,
            f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            debug=True,
            **SECRET_SETTINGS,
            SUPPORTBOT_GEMINI_BASE_URL=gemini.base_url,
            SUPPORTBOT_LLM="gemini",
        )
        try:
            async with aiohttp.ClientSession() as http:
                body = json.dumps(event_callback(message_event("where is my order #A-9?", ts="1700003000.000100")))
                async with http.post(
                    f"http://127.0.0.1:{port}/slack/events", data=body, headers=signed_headers(body, secret=SIGNING)
                ) as response:
                    assert response.status == 200
            await fake.wait_for("chat.postMessage", timeout=30)  # the failing delivery
            await gemini_requests(gemini, 1)
        finally:
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                stdout, stderr = await process.communicate()
    logs = stdout.decode() + stderr.decode()
    assert "DEBUG" in logs and "[redacted]" in logs  # debug logging was on and the error paths were logged
    assert "Traceback" in logs  # the exception (with its traceback) was logged…
    for secret in SECRETS:
        assert secret not in logs, f"secret {secret[:8]}… in the logs"  # …with no secret in it


async def gemini_requests(gemini: FakeGemini, count: int) -> None:
    async with asyncio.timeout(30):
        while len(gemini.generate_requests) < count:
            await asyncio.sleep(0.05)


@pytest.mark.slow
def test_the_database_password_is_masked_too(tmp_path: Path) -> None:
    import subprocess

    url = f"postgresql+asyncpg://support:{DB_PASSWORD}@127.0.0.1:{free_port()}/support"
    for debug in ([], ["--debug"]):
        done = subprocess.run(
            [*command_line(), *debug, "run", "--slack", "--slack-mode", "http"],
            cwd=tmp_path,
            env=environment(tmp_path, **SECRET_SETTINGS, SUPPORTBOT_DATABASE_URL=url),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1
        assert DB_PASSWORD not in done.stdout + done.stderr
    from bot.logs import secret_values
    from bot.settings import Settings

    assert DB_PASSWORD in secret_values(Settings(_env_file=None, SUPPORTBOT_DATABASE_URL=url))  # type: ignore[call-arg]
