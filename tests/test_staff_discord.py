"""The staff loop on Discord with the real core (the Slack side's test_staff_slack.py, for Discord): a
customer asking for a person gets a card in the staff channel; a customer's click on Claim is refused
privately and changes nothing; a staff click claims the case and edits the card; the customer is told
who handles it and their next message is stored, not answered; a close made elsewhere reaches the
customer's thread with rating buttons; the customer's rating is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from storage import lifecycle
from storage import staff as staff_store
from storage.models import Message
from tests.fakes.discord import (
    CUSTOMER,
    EPHEMERAL,
    STAFF_CHANNEL,
    STAFF_ROLE,
    SUPPORT_CHANNEL,
    FakeDiscord,
    click_payload,
    custom_ids,
)
from tests.harness.discord import discord_settings, discord_staff_bot


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


def staff_posts(fake: FakeDiscord) -> list[dict[str, Any]]:
    return fake.messages.get(STAFF_CHANNEL, [])


async def test_card_claim_takeover_close_and_rating_on_discord(make_settings: Any, fake: FakeDiscord) -> None:
    settings = discord_settings(make_settings, fake, SUPPORTBOT_DISCORD_STAFF_CHANNEL_ID=STAFF_CHANNEL)
    async with discord_staff_bot(settings, fake) as h:
        await h.send("I want to talk to a person please")
        await fake.until(lambda: len(staff_posts(fake)) == 1)
        [card] = staff_posts(fake)
        [case] = await h.cases()
        claim = next(c for c in custom_ids(card) if "case_claim" in c)
        assert case.ref in claim

        await fake.dispatch("INTERACTION_CREATE", click_payload(card, claim, user=CUSTOMER))
        await fake.until(lambda: any(c.route == "callback" for c in fake.calls))
        refusal = [c for c in fake.calls if c.route == "callback"][-1].json
        assert refusal["data"]["flags"] & EPHEMERAL and "only the support team" in refusal["data"]["content"]
        assert (await h.cases())[0].assignee is None

        await fake.dispatch("INTERACTION_CREATE", click_payload(card, claim, roles=(STAFF_ROLE,)))
        await fake.until(lambda: any(c.route == "message_edit" for c in fake.calls))
        [claimed] = await h.cases()
        assert claimed.status == "in_progress" and claimed.assignee

        # The customer is told who handles it; their next message is stored, not answered.
        await fake.until(
            lambda: any("looking after your request" in str(c.json) for c in fake.calls if c.route == "message")
        )
        answers = len([c for c in fake.calls if c.route == "message"])
        thread = next(
            c.params["channel"]
            for c in fake.calls
            if c.route == "message" and c.params["channel"] not in (SUPPORT_CHANNEL, STAFF_CHANNEL)
        )
        await h.send("hello? anyone?", channel=thread)
        assert len([c for c in fake.calls if c.route == "message"]) == answers
        async with h.services.db.session() as s:
            held = (await s.execute(select(Message.status).where(Message.text == "hello? anyone?"))).scalar_one()
        assert held == "taken_over"

        async with h.services.db.write() as s:
            await lifecycle.close_case(s, ref=case.ref, actor="cli:operator", reason="done")
        h.services.staff.wake()
        await fake.until(lambda: any("rate" in "".join(custom_ids(m)) for ms in fake.messages.values() for m in ms))
        closing = next(m for ms in fake.messages.values() for m in ms if "rate" in "".join(custom_ids(m)))
        up = next(c for c in custom_ids(closing) if c.endswith(":5"))
        await fake.dispatch("INTERACTION_CREATE", click_payload(closing, up, user=CUSTOMER))
        await fake.until(lambda: len([c for c in fake.calls if c.route == "callback"]) >= 3)
        async with h.services.db.session() as s:
            rating = await staff_store.rating_of(s, case.id)
        assert rating is not None and rating.score == 5
