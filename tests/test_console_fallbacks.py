"""Model fallbacks reach the console's insights: a message answered by the offline engine after Gemini
failed (the real GeminiClient against the fake Gemini server) is recorded with its reply, and the
insights page and its CSV count it per day."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.wiring import open_services, shell_chat
from tests.fakes.gemini import Fail, FakeGemini
from tests.harness import EXAMPLE
from tests.harness.console import STAFF_SETTINGS, mounted, new_link, sign_in
from tests.harness.gemini import gemini_respond
from workflows.llm.gemini import GeminiClient


@pytest.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini(respond=gemini_respond) as server:
        yield server


async def test_fallbacks_are_recorded_and_shown_in_insights(make_settings: Any, fake: FakeGemini) -> None:
    client = GeminiClient(
        api_key="test-key",
        model="gemini-main",
        router_model="gemini-router",
        base_url=fake.base_url,
        max_attempts=1,
        timeout_s=5,
    )
    async with open_services(make_settings(**STAFF_SETTINGS), llm=client) as services:
        fake.respond = lambda _model, _body: Fail(500)
        down = (await shell_chat(services, thread_id="t-down").send(EXAMPLE)).result
        fake.respond = gemini_respond
        up = (await shell_chat(services, thread_id="t-up").send(EXAMPLE)).result
        assert down is not None and down.fallbacks == 2  # plan and reply written offline
        assert up is not None and up.fallbacks == 0
        async with TestClient(TestServer(mounted(services))) as web:
            assert (await sign_in(web, await new_link(services))).status == 200
            html = await (await web.get("/console/insights")).text()
            csv = await (await web.get("/console/insights?format=csv")).text()
    today = datetime.now(UTC).date().isoformat()
    assert f"model fallbacks,,{today},2" in csv
    assert "/console/insights/charts/fallbacks.svg" in html
