"""The Discord staff channel through the real core, the buttons' side (test_staff_discord.py covers
takeover and a close made elsewhere): the real discord.py client against the fake Discord, the staff
loop running as in `supportbot run`. In a text channel and in a forum: a card within 2 s, a customer's
click refused, a staff click claiming, the Close modal closing, the closing message with feedback
buttons, the rating stored, the forum post's tag following the case; and buttons of a card posted by
an earlier process working after a restart, with still one card for the case."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from storage import cases as case_store
from storage import staff as staff_store
from storage.cases import CaseFilter
from tests.fakes.discord import (
    CUSTOMER,
    EPHEMERAL,
    STAFF_CHANNEL,
    STAFF_FORUM,
    STAFF_ROLE,
    FakeDiscord,
    click_payload,
    custom_ids,
    modal_submit_payload,
)
from tests.harness.discord import discord_settings
from tests.harness.discord import discord_staff_bot as running
from workflows.offline import semantic

CARD_WITHIN_S = 2.0


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


async def interact(fake: FakeDiscord, payload: dict[str, Any]) -> dict[str, Any]:
    """Send an INTERACTION_CREATE; returns the initial response the bot gave it."""
    await fake.dispatch("INTERACTION_CREATE", payload)
    await fake.until(lambda: any(c.params["interaction"] == payload["id"] for c in fake.calls_to("callback")))
    [response] = [c.json for c in fake.calls_to("callback") if c.params["interaction"] == payload["id"]]
    return response  # type: ignore[no-any-return]


def cards(fake: FakeDiscord, channel: str) -> list[dict[str, Any]]:
    """The cards as they stand: messages of a text channel, or the starter messages of a forum's posts."""
    if channel == STAFF_FORUM:
        return [fake.message(t, t) for t, thread in fake.threads.items() if thread["parent_id"] == STAFF_FORUM]
    return list(fake.messages.get(channel, []))


@pytest.mark.parametrize("channel", [STAFF_CHANNEL, STAFF_FORUM])
async def test_person_request_card_claim_close_feedback(
    make_settings: Any, fake: FakeDiscord, channel: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = discord_settings(make_settings, fake, SUPPORTBOT_DISCORD_STAFF_CHANNEL_ID=channel)
    async with running(settings, fake) as bot:
        started = time.monotonic()
        asked = await bot.send("I want to talk to a person please")
        thread = asked["id"]  # the support thread has the customer's message id
        await fake.until(lambda: len(cards(fake, channel)) == 1, timeout=CARD_WITHIN_S)
        assert time.monotonic() - started < CARD_WITHIN_S
        [case] = await bot.cases()
        [card] = cards(fake, channel)
        assert case.kind == "human" and card["embeds"][0]["title"].startswith(case.ref)
        assert card["embeds"][0]["url"].endswith(f"/{thread}")  # the jump URL of the customer's thread
        assert custom_ids(card)[0] == f"sb:case_claim:{case.ref}"

        # A customer's click changes nothing and gets a private refusal.
        refused = await interact(fake, click_payload(card, f"sb:case_claim:{case.ref}", user=CUSTOMER))
        assert refused["type"] == 4 and refused["data"]["flags"] & EPHEMERAL
        assert "only the support team" in refused["data"]["content"]
        assert (await bot.cases())[0].assignee is None

        # A staff click assigns the case; the card is updated in place.
        claimed = await interact(fake, click_payload(card, f"sb:case_claim:{case.ref}", roles=(STAFF_ROLE,)))
        assert claimed["data"]["flags"] & EPHEMERAL and "You claimed" in claimed["data"]["content"]
        await fake.until(lambda: "Claimed by" in str(cards(fake, channel)[0]["embeds"]))
        [card] = cards(fake, channel)
        assert f"sb:case_release:{case.ref}" in custom_ids(card)

        # Close asks for a reason; the closing message reaches the customer's thread with feedback buttons.
        modal = await interact(fake, click_payload(card, f"sb:case_close:{case.ref}", roles=(STAFF_ROLE,)))
        assert modal["type"] == 9
        closed = await interact(
            fake, modal_submit_payload(modal["data"]["custom_id"], {"text": "refund issued"}, roles=(STAFF_ROLE,))
        )
        assert "Closed" in closed["data"]["content"]
        await fake.until(lambda: any(custom_ids(m) for m in fake.messages.get(thread, [])))
        closing = [m for m in fake.messages[thread] if custom_ids(m)][-1]
        assert custom_ids(closing) == [f"sb:rate:{case.ref}:5", f"sb:rate:{case.ref}:1"]
        await fake.until(lambda: cards(fake, channel)[0]["components"] == [])
        if channel == STAFF_FORUM:  # the post's tag follows the case
            closed_tag = next(t["id"] for t in fake.forum_tags if t["name"] == "closed")
            assert fake.threads[card["id"]]["applied_tags"] == [closed_tag]

        # The customer's rating is stored.
        thanks = await interact(fake, click_payload(closing, f"sb:rate:{case.ref}:5", user=CUSTOMER, name="customer"))
        assert "Thanks" in thanks["data"]["content"]
        async with bot.services.db.session() as s:
            rating = await staff_store.rating_of(s, case.id)
            [case] = await case_store.list_cases(s, CaseFilter(), limit=None)
        assert rating is not None and rating.score == 5 and case.status == "closed"
        assert len(cards(fake, channel)) == 1  # one card for the case, all along
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors


async def test_a_restart_in_the_middle_keeps_one_card_and_working_buttons(
    make_settings: Any, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = discord_settings(make_settings, fake, SUPPORTBOT_DISCORD_STAFF_CHANNEL_ID=STAFF_CHANNEL)
    async with running(settings, fake) as bot:
        await bot.send("can I speak to a human agent?")
        await fake.until(lambda: len(cards(fake, STAFF_CHANNEL)) == 1)
        [case] = await bot.cases()
        [card] = cards(fake, STAFF_CHANNEL)
        await interact(fake, click_payload(card, f"sb:case_claim:{case.ref}", roles=(STAFF_ROLE,)))
        await fake.until(lambda: "Claimed by" in str(cards(fake, STAFF_CHANNEL)[0]["embeds"]))
    async with running(settings, fake) as bot:  # a new process: the card was posted by the last one
        [card] = cards(fake, STAFF_CHANNEL)
        released = await interact(fake, click_payload(card, f"sb:case_release:{case.ref}", roles=(STAFF_ROLE,)))
        assert "Released" in released["data"]["content"]
        await fake.until(lambda: custom_ids(cards(fake, STAFF_CHANNEL)[0])[0] == f"sb:case_claim:{case.ref}")
        assert (await bot.cases())[0].status == "open"
        assert len(cards(fake, STAFF_CHANNEL)) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors


@pytest.mark.skipif(not semantic.available(), reason="the sentence encoder package is not installed")
async def test_a_clarifying_choice_is_a_button_that_answers_for_the_customer(
    make_settings: Any, fake: FakeDiscord
) -> None:
    settings = discord_settings(make_settings, fake)
    async with running(settings, fake) as bot:
        asked = await bot.send("it's about my purchase")
        thread = asked["id"]
        await fake.until(lambda: bool(fake.messages.get(thread)))
        [question] = fake.messages[thread]
        choices = custom_ids(question)
        assert len(choices) == 5 and all(c.startswith("sb:clarify:") for c in choices)
        other = await interact(fake, click_payload(question, choices[4], user="300000000000000077"))
        assert other["data"]["flags"] & EPHEMERAL and "Only the customer" in other["data"]["content"]
        picked = await interact(fake, click_payload(question, choices[4], user=CUSTOMER, name="customer"))
        assert picked == {"type": 6}  # acknowledged; the answer comes in the thread
        await fake.until(lambda: len(fake.messages[thread]) >= 2)
        assert "person" in fake.messages[thread][1]["content"].lower()
        assert (await bot.cases())[0].kind == "human"
