"""Staff-loop timers driven by an injected clock (no sleeps): the first-response SLA reminder in the
staff channel, the pending-task reminder to the customer (which brings the conversation to staff),
and the auto-close — each fired once, however many rounds run. Plus exactly one card per case
across a restart and a crash between posting a card and recording it."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.staff import needs_staff
from storage import staff as staff_store
from storage.db import Database
from storage.models import Message, PendingTask
from storage.staff_models import CaseCard
from tests.fakes.slack import FakeSlack, event_callback, message_event, signed_headers
from tests.harness.staff import (
    CHANNEL,
    STAFF,
    STAFF_CHANNEL,
    THREAD,
    Clock,
    StaffHarness,
    button_actions,
    card_posted,
    running,
    staff_settings,
)
from tests.support import free_port, start_slack_bot, stop_gracefully


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


@pytest.fixture
async def timed(make_settings: Any, fake: FakeSlack) -> AsyncIterator[tuple[StaffHarness, Clock]]:
    clock = Clock()
    async with running(staff_settings(make_settings, fake), fake) as bot:
        bot.services.staff.clock = clock
        yield bot, clock


async def rounds(bot: StaffHarness, n: int = 3) -> None:
    for _ in range(n):
        await bot.services.staff.tick()


async def test_sla_reminder_once_for_an_unclaimed_case_none_for_a_claimed_one(
    timed: tuple[StaffHarness, Clock],
) -> None:
    bot, clock = timed
    await bot.say("I want to talk to a person", ts=THREAD)
    card, case = await card_posted(bot)
    await bot.say("please put me through to a human", ts="1700000200.000100")
    await bot.fake.wait_until(lambda: len(bot.cards()) == 2)
    claimed_card = bot.cards()[1]
    [claimed_ref] = [a[1] for a in button_actions(claimed_card) if a[0] == "case_claim"]
    await bot.click("case_claim", claimed_ref, user=STAFF, message_ts=claimed_card["ts"])
    await bot.fake.wait_for("chat.update")

    clock.offset = timedelta(minutes=29)
    await rounds(bot)
    assert bot.fake.thread(STAFF_CHANNEL, card["ts"]) == []  # not yet
    clock.offset = timedelta(minutes=31)
    bot.services.staff.wake()
    await bot.fake.wait_until(lambda: len(bot.fake.thread(STAFF_CHANNEL, card["ts"])) == 1)
    await rounds(bot)
    [reminder] = bot.fake.thread(STAFF_CHANNEL, card["ts"])  # once, in the card's thread
    assert reminder["text"].startswith("<!subteam^S0STAFF>") and case.ref in reminder["text"]
    assert bot.fake.thread(STAFF_CHANNEL, claimed_card["ts"]) == []  # claimed in time: no reminder


async def test_pending_task_reminder_then_auto_close(timed: tuple[StaffHarness, Clock]) -> None:
    bot, clock = timed
    await bot.say("I want to return my headphones", ts=THREAD)
    await bot.fake.wait_until(lambda: len(bot.fake.thread(CHANNEL, THREAD)) == 1)  # "what is the reason?"
    await rounds(bot)  # the pending task gets its timers
    clock.offset = timedelta(hours=25)
    await rounds(bot)
    await bot.fake.wait_until(lambda: len(bot.fake.thread(CHANNEL, THREAD)) == 2)
    reminder = bot.fake.thread(CHANNEL, THREAD)[1]
    assert "still need reason for return" in reminder["text"]
    card, case = await card_posted(bot)  # waited past its reminder: the conversation went to staff
    assert case.kind == "human" and "past its reminder" in json.dumps(card["blocks"])

    clock.offset = timedelta(days=8)
    await rounds(bot)
    await bot.fake.wait_until(lambda: len(bot.fake.thread(CHANNEL, THREAD)) == 3)
    await rounds(bot)
    assert "closed your return request" in bot.fake.thread(CHANNEL, THREAD)[2]["text"]
    assert len(bot.fake.thread(CHANNEL, THREAD)) == 3  # each fired once
    async with bot.services.db.session() as s:
        [task] = (await s.execute(PendingTask.__table__.select())).all()
    assert task.status == "expired"


async def test_one_card_per_case_across_a_restart(make_settings: Any, fake: FakeSlack) -> None:
    settings = staff_settings(make_settings, fake)
    async with running(settings, fake) as first:
        await first.say("I need a human", ts=THREAD)
        _, case = await card_posted(first)
    async with running(settings, fake) as second:  # a restart: nothing is posted again
        await rounds(second)
        await second.say("let me talk to a real person", ts="1700000300.000100")
        await fake.wait_until(lambda: len(second.cards()) == 2)
        await rounds(second)
        assert len(second.cards()) == 2
        async with second.services.db.session() as s:
            assert await staff_store.count_cards(s, case.id) == 1


@pytest.mark.slow
async def test_sigkill_after_posting_a_card_then_restart_keeps_one_card(tmp_path: Path, db_url: str) -> None:
    """`supportbot run` dies (SIGKILL) after Slack accepted a card, before it was recorded; the restart
    gives the dead process's outbox row back at once and finds the card in the channel by its metadata."""
    body = json.dumps(event_callback(message_event("I want to talk to a person", channel=CHANNEL, ts=THREAD)))
    staff_env = {"SUPPORTBOT_SLACK_STAFF_CHANNEL": STAFF_CHANNEL, "SUPPORTBOT_STAFF_SLACK_USER_IDS": STAFF}
    async with FakeSlack() as fake:
        port = free_port()
        process = await start_slack_bot(
            tmp_path, fake, port, db_url, SUPPORTBOT_FAILPOINTS="after_card_post", **staff_env
        )
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"http://127.0.0.1:{port}/slack/events", data=body, headers=signed_headers(body)) as response,
        ):
            assert response.status == 200
        async with asyncio.timeout(30):
            await process.communicate()
        assert process.returncode == -signal.SIGKILL and len(fake.in_channel(STAFF_CHANNEL)) == 1

        process = await start_slack_bot(tmp_path, fake, free_port(), db_url, **staff_env)
        await fake.wait_for("conversations.history")  # the restart looks for the card before posting it
        db = Database(db_url)
        try:  # the card found is recorded (a stop before that would only mean one more look-up next start)
            async with asyncio.timeout(30):
                while True:
                    async with db.session() as s:
                        if (await s.execute(select(func.count()).select_from(CaseCard))).scalar_one() == 1:
                            break
                    await asyncio.sleep(0.05)
        finally:
            await db.aclose()
        await stop_gracefully(process)
    assert len(fake.in_channel(STAFF_CHANNEL)) == 1  # looked up, not posted again
    assert len([c for c in fake.calls_to("chat.postMessage") if c.args["channel"] == STAFF_CHANNEL]) == 1


async def test_a_given_up_message_brings_its_conversation_to_staff(timed: tuple[StaffHarness, Clock]) -> None:
    """The hook for the reliability side: `needs_staff(session, message_id=…, reason=…)` in its own
    transaction opens (or flags) the conversation's hand-off case; the card follows, with the reason."""
    bot, _ = timed
    await bot.say("where is my order #A-3131?", ts=THREAD)
    await bot.fake.wait_until(lambda: len(bot.fake.thread(CHANNEL, THREAD)) == 1)
    assert bot.cards() == []  # an order status needs no person
    async with bot.services.db.write() as s:
        [message_id] = (await s.execute(select(Message.id).where(Message.role == "customer"))).scalars().all()
        ref = await needs_staff(s, message_id=message_id, reason="given up after 5 attempts")
    bot.services.staff.wake()
    await bot.fake.wait_until(lambda: len(bot.cards()) == 1)
    [card], case = bot.cards(), await bot.case(ref)
    assert case.kind == "human" and ref in card["text"] and "given up after 5 attempts" in json.dumps(card["blocks"])
    async with bot.services.db.write() as s:  # a second call flags the same case: still one card
        assert await needs_staff(s, message_id=message_id, reason="given up again") == ref
    await rounds(bot)
    assert len(bot.cards()) == 1
    await bot.fake.wait_for("chat.update")  # the card shows the latest reason
    assert "given up again" in json.dumps(bot.cards()[0]["blocks"])
