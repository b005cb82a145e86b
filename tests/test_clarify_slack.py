"""The clarifying question on Slack, end to end: the real slack-bolt app in HTTP mode posts the choices as
buttons in the customer's thread, and a signed click by that customer continues the plan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fakes.slack import FakeSlack, block_actions, interactive_body
from tests.harness.staff import (
    CHANNEL,
    CUSTOMER,
    FORM,
    OTHER,
    THREAD,
    StaffHarness,
    button_actions,
    running,
    staff_settings,
)
from workflows.offline import semantic

pytestmark = pytest.mark.skipif(not semantic.available(), reason="the sentence encoder package is not installed")


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


def _replies(fake: FakeSlack) -> list[dict[str, Any]]:
    return [m for m in fake.posted if m["channel"] == CHANNEL and m.get("thread_ts") == THREAD]


async def _click(bot: StaffHarness, value: str, *, user: str) -> int:
    payload = block_actions(
        "clarify",
        value,
        user=user,
        channel=CHANNEL,
        message_ts=_replies(bot.fake)[-1]["ts"],
        response_url=bot.fake.response_url(),
    )
    status, _, _ = await bot.post(interactive_body(payload), FORM)
    return status


async def test_a_click_on_a_choice_answers_for_the_customer_in_the_thread(make_settings: Any, fake: FakeSlack) -> None:
    async with running(staff_settings(make_settings, fake), fake) as bot:
        await bot.say("it's about my purchase", ts=THREAD)
        await fake.wait_until(lambda: len(_replies(fake)) >= 1)
        choices = button_actions(_replies(fake)[0])
        assert [action for action, _ in choices] == ["clarify"] * 5
        assert await _click(bot, choices[4][1], user=OTHER) == 200  # someone else's click answers nothing
        assert "Only the customer" in (await fake.wait_responses(1))[0]["text"]
        assert await _click(bot, choices[4][1], user=CUSTOMER) == 200  # "A person"
        await fake.wait_until(lambda: len(_replies(fake)) >= 2)
        assert "person" in _replies(fake)[1]["text"].lower()
        assert (await bot.case()).kind == "human"
