"""The staff loop on Slack, end to end: the real slack-bolt app (HTTP mode, signed `block_actions` and
`view_submission` form posts) and the real slack_sdk client against the fake Slack, the staff loop
running as in `supportbot run`, and the CLI as another process on the same database."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import generate_latest

from bot.runtime import health_routes
from storage import cases as case_store
from storage import lifecycle
from storage import staff as staff_store
from tests.fakes.slack import FakeSlack
from tests.harness.staff import (
    CHANNEL,
    CUSTOMER,
    OTHER,
    STAFF,
    STAFF_CHANNEL,
    THREAD,
    StaffHarness,
    button_actions,
    card_posted,
    card_words,
    cli,
    rated,
    running,
    running_socket,
    staff_settings,
)
from workflows import telemetry

CARD_WITHIN_S = 2.0


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


@pytest.fixture
async def bot(make_settings: Any, fake: FakeSlack, caplog: pytest.LogCaptureFixture) -> AsyncIterator[StaffHarness]:
    caplog.set_level(logging.INFO)
    async with running(staff_settings(make_settings, fake), fake) as harness:
        yield harness
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors


# --- the whole loop ------------------------------------------------------------------------------
async def test_person_request_card_claim_takeover_close_from_cli_and_rating(bot: StaffHarness, tmp_path: Path) -> None:
    fake = bot.fake
    started = time.monotonic()
    await bot.say("I want to talk to a person please", ts=THREAD)
    await fake.wait_until(lambda: len(bot.cards()) >= 1, timeout=CARD_WITHIN_S)
    card_after = time.monotonic() - started
    card, case = await card_posted(bot)
    assert case.kind == "human" and case.ref in card["text"] and case.ref in card_words(card)
    assert ("case_claim", case.ref) in button_actions(card)
    assert f"<@{CUSTOMER}>" in card_words(card)  # the customer, as a mention
    assert f"https://fake.slack.test/archives/{CHANNEL}/p{THREAD.replace('.', '')}" in card_words(card)
    [link] = fake.calls_to("chat.getPermalink")
    assert link.args == {"channel": CHANNEL, "message_ts": THREAD}  # a GET with query parameters

    # A customer's click changes nothing and gets a private refusal.
    status, _, elapsed = await bot.click("case_claim", case.ref, user=CUSTOMER, message_ts=card["ts"])
    assert status == 200 and elapsed < 3.0
    refusal = await bot.response(1)
    assert refusal["response_type"] == "ephemeral" and "only the support team" in refusal["text"]
    assert (await bot.case()).assignee is None and (await bot.case()).status == "open"

    # A staff click assigns the case and updates the card in place.
    status, _, elapsed = await bot.click("case_claim", case.ref, user=STAFF, message_ts=card["ts"])
    assert status == 200 and elapsed < 3.0
    assert "claimed" in (await bot.response(2))["text"]
    [update] = await fake.wait_for("chat.update")
    assert update.args["channel"] == STAFF_CHANNEL and update.args["ts"] == card["ts"]
    assert f"Claimed by <@{STAFF}>" in card_words(update.args)
    assert ("case_release", case.ref) in button_actions(update.args)
    claimed = await bot.case()
    assert (claimed.assignee, claimed.status) == (f"slack:{STAFF}", "in_progress")
    # The customer is told once who is handling it.
    await fake.wait_until(lambda: len(fake.thread(CHANNEL, THREAD)) >= 2)
    notice = fake.thread(CHANNEL, THREAD)[-1]
    assert notice["text"].startswith(f"{STAFF.lower()} from our support team") and case.ref in notice["text"]

    # The customer's next message in the thread is stored, not answered.
    posts_before = len(fake.thread(CHANNEL, THREAD))
    await bot.say("hello? are you there?", ts="1700000100.000200", thread_ts=THREAD)
    await fake.wait_for("reactions.remove", 2)  # handled: the :eyes: comes off without a reply
    await bot.adapter.idle(timeout=5)
    assert len(fake.thread(CHANNEL, THREAD)) == posts_before
    held = await bot.message("1700000100.000200")
    assert held.status == "taken_over" and held.text == "hello? are you there?"

    # Closed from the CLI in another process: the running bot posts the closing message with feedback buttons.
    await cli(tmp_path, bot.services.settings, "cases", "close", case.ref, "--reason", "refund issued")
    await fake.wait_until(lambda: any(button_actions(m) for m in fake.thread(CHANNEL, THREAD)), timeout=10)
    closing = fake.thread(CHANNEL, THREAD)[-1]
    assert case.ref in closing["text"] and "refund issued" not in closing["text"]  # the reason is staff-only
    assert button_actions(closing) == [("rate", f"{case.ref}:5"), ("rate", f"{case.ref}:1")]
    await fake.wait_until(lambda: "refund issued" in card_words(bot.cards()[0]))  # the card shows the close

    # Only the case's customer can rate; their click is stored, and a later click replaces it.
    await bot.click("rate", f"{case.ref}:5", user=OTHER)
    assert "Only the customer" in (await bot.response(3))["text"]
    await bot.click("rate", f"{case.ref}:1", user=CUSTOMER)
    assert "Thanks" in (await bot.response(4))["text"]
    await bot.click("rate", f"{case.ref}:5", user=CUSTOMER)
    await bot.response(5)
    async with bot.services.db.session() as s:
        rating = await staff_store.rating_of(s, case.id)
    assert rating is not None and rating.score == 5
    ratings = await rated(tmp_path, bot.services.settings, case.ref)
    assert [e["note"] for e in ratings] == ["1/5", "5/5"] and ratings[-1]["actor"] == f"slack:{CUSTOMER}"
    assert len(bot.cards()) == 1  # one card for the case, all along
    metrics = generate_latest(telemetry.REGISTRY).decode()  # what /metrics serves
    for name in (
        "supportbot_staff_first_response_seconds_count",
        "supportbot_case_close_seconds_count",
        'supportbot_takeovers_total{how="claim"}',
        'supportbot_ratings_total{score="5"}',
    ):
        assert name in metrics, name
    print(f"\ncard in the staff channel {card_after * 1000:.0f} ms after the customer's message")


async def test_close_and_note_open_modals_and_submissions_are_validated(bot: StaffHarness) -> None:
    await bot.say("can I talk to a human?", ts=THREAD)
    card, case = await card_posted(bot)
    status, _, elapsed = await bot.click("case_note", case.ref, user=STAFF, message_ts=card["ts"])
    assert status == 200 and elapsed < 3.0
    [opened] = await bot.fake.wait_for("views.open")
    assert opened.args["view"]["callback_id"] == "case_note" and opened.args["trigger_id"]
    assert json.loads(opened.args["view"]["private_metadata"])["ref"] == case.ref

    status, body, _ = await bot.submit("case_note", case.ref, {"note_b": {"note_a": "  "}})
    assert status == 200 and json.loads(body)["errors"] == {"note_b": "Write the note first."}
    status, body, _ = await bot.submit("case_note", case.ref, {"note_b": {"note_a": "called the customer"}})
    assert status == 200 and body == ""  # closes the modal
    status, body, _ = await bot.submit("case_close", case.ref, {"reason_b": {"reason_a": "duplicate"}})
    assert status == 200 and body == ""
    closed = await bot.case()
    assert closed.status == "closed"
    status, body, _ = await bot.submit("case_close", case.ref, {"reason_b": {"reason_a": "again"}})
    assert "already closed" in json.loads(body)["errors"]["reason_b"]  # the refusal shows in the modal
    async with bot.services.db.session() as s:
        events = [(e.action, e.actor, e.note) for e in await case_store.case_events(s, case.id)]
    assert ("note", f"slack:{STAFF}", "called the customer") in events
    assert ("closed", f"slack:{STAFF}", "duplicate") in events

    # Reopened elsewhere (here: the lifecycle, as the CLI or the console would): the card follows.
    await bot.fake.wait_until(lambda: "Closed" in card_words(bot.cards()[0]))
    async with bot.services.db.write() as s:
        await lifecycle.reopen_case(s, ref=case.ref, actor="cli:operator")
    bot.services.staff.wake()
    await bot.fake.wait_until(lambda: ("case_claim", case.ref) in button_actions(bot.cards()[0]))
    assert "Open" in card_words(bot.cards()[0])

    # A customer clicking Close gets no modal, only the refusal.
    await bot.click("case_close", case.ref, user=CUSTOMER, message_ts=card["ts"])
    assert "only the support team" in (await bot.response(1))["text"]
    assert len(bot.fake.calls_to("views.open")) == 1


async def test_release_hands_the_thread_back_to_the_bot(bot: StaffHarness) -> None:
    await bot.say("I need a person", ts=THREAD)
    card, case = await card_posted(bot)
    await bot.click("case_claim", case.ref, user=STAFF, message_ts=card["ts"])
    await bot.fake.wait_for("chat.update")
    await bot.click("case_release", case.ref, user=STAFF, message_ts=card["ts"])
    assert "Released" in (await bot.response(2))["text"]
    [_, released] = await bot.fake.wait_for("chat.update", 2)
    assert ("case_claim", case.ref) in button_actions(released.args)  # claimable again
    await bot.say("where is my order #A-4242?", ts="1700000100.000300", thread_ts=THREAD)
    await bot.fake.wait_until(lambda: any("STS-" in m["text"] for m in bot.fake.thread(CHANNEL, THREAD)))


async def test_staff_writing_in_the_thread_takes_it_over(bot: StaffHarness) -> None:
    await bot.say("where is my order #A-1111?", ts=THREAD)
    await bot.fake.wait_until(lambda: len(bot.fake.thread(CHANNEL, THREAD)) == 1)
    await bot.say("Hi, I'm looking at this myself", ts="1700000100.000200", thread_ts=THREAD, user=STAFF)
    await bot.adapter.idle(timeout=5)
    await bot.say("thanks! and order #A-2222?", ts="1700000100.000300", thread_ts=THREAD)
    await bot.fake.wait_for("reactions.remove", 2)
    await bot.adapter.idle(timeout=5)
    assert len(bot.fake.thread(CHANNEL, THREAD)) == 1  # the bot stayed quiet


# --- Socket Mode ---------------------------------------------------------------------------------
async def test_buttons_and_modals_over_socket_mode(make_settings: Any, fake: FakeSlack) -> None:
    async with running_socket(staff_settings(make_settings, fake, socket=True), fake) as bot:
        await bot.say("I need to speak to a human please", ts=THREAD)
        await fake.wait_until(lambda: len(bot.cards()) == 1, timeout=CARD_WITHIN_S + 1)
        card, case = await card_posted(bot)
        refused = await bot.click("case_claim", case.ref, user=CUSTOMER, message_ts=card["ts"])
        assert set(refused) == {"envelope_id"}  # a plain acknowledgement
        assert "only the support team" in (await bot.response(1))["text"]
        await bot.click("case_claim", case.ref, user=STAFF, message_ts=card["ts"])
        [update] = await fake.wait_for("chat.update")
        assert f"Claimed by <@{STAFF}>" in card_words(update.args)

        answered = await bot.submit("case_note", case.ref, {"note_b": {"note_a": ""}})
        assert answered["payload"] == {"response_action": "errors", "errors": {"note_b": "Write the note first."}}
        await bot.submit("case_close", case.ref, {"reason_b": {"reason_a": "sorted by phone"}})
        await fake.wait_until(lambda: any(button_actions(m) for m in fake.thread(CHANNEL, THREAD)))
        assert (await bot.case()).status == "closed"


async def test_takeover_close_from_cli_and_rating_over_socket_mode_across_a_restart(
    make_settings: Any, fake: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The rest of the loop over the websocket, with the bot restarted after the claim: the new process
    keeps the thread quiet, delivers the close made by the CLI and stores the customer's rating, and the
    case still has its one card, updated in place."""
    caplog.set_level(logging.INFO)
    settings = staff_settings(make_settings, fake, socket=True)
    async with running_socket(settings, fake) as bot:
        async with asyncio.timeout(CARD_WITHIN_S):  # from the customer's message to the card
            await bot.say("I want to talk to a person please", ts=THREAD)
            await fake.wait_until(lambda: len(bot.cards()) == 1)
        card, case = await card_posted(bot)
        await bot.click("case_claim", case.ref, user=STAFF, message_ts=card["ts"])
        assert "claimed" in (await bot.response(1))["text"]
        await fake.wait_until(lambda: len(fake.thread(CHANNEL, THREAD)) == 2)  # the hand-off reply, who took it
        await bot.adapter.idle(timeout=5)

    async with running_socket(settings, fake) as bot:  # a restart on the same database
        assert fake.connections == 2
        # The customer's next message is stored, not answered (and the customer is not told again who has it).
        await bot.say("hello? are you there?", ts="1700000100.000200", thread_ts=THREAD)
        await fake.wait_for("reactions.remove", 2)  # handled: the :eyes: comes off without a reply
        await bot.adapter.idle(timeout=5)
        assert len(fake.thread(CHANNEL, THREAD)) == 2
        held = await bot.message("1700000100.000200")
        assert held.status == "taken_over" and held.text == "hello? are you there?"

        # Closed from the CLI in another process: this bot posts the closing message with feedback buttons.
        await cli(tmp_path, settings, "cases", "close", case.ref, "--reason", "refund issued")
        await fake.wait_until(lambda: len(fake.thread(CHANNEL, THREAD)) == 3, timeout=10)
        closing = fake.thread(CHANNEL, THREAD)[-1]
        assert case.ref in closing["text"] and "refund issued" not in closing["text"]
        assert button_actions(closing) == [("rate", f"{case.ref}:5"), ("rate", f"{case.ref}:1")]
        await fake.wait_until(lambda: "refund issued" in card_words(bot.cards()[0]))  # the card, in place

        # The customer's click in the thread, over the websocket, is stored; nobody else's is.
        rate = {"message_ts": closing["ts"], "channel": CHANNEL}
        await bot.click("rate", f"{case.ref}:5", user=OTHER, **rate)
        assert "Only the customer" in (await bot.response(2))["text"]
        await bot.click("rate", f"{case.ref}:1", user=CUSTOMER, **rate)
        assert "Thanks" in (await bot.response(3))["text"]
        ratings = await rated(tmp_path, settings, case.ref)
        assert [(e["note"], e["actor"]) for e in ratings] == [("1/5", f"slack:{CUSTOMER}")]

        for _ in range(3):  # more rounds of the new process's staff loop post nothing more
            await bot.services.staff.tick()
        async with bot.services.db.session() as s:
            assert await staff_store.count_cards(s, case.id) == 1
        assert [c["ts"] for c in bot.cards()] == [card["ts"]]
        assert {u.args["ts"] for u in fake.calls_to("chat.update")} == {card["ts"]}
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors


async def test_takeover_off_keeps_the_bot_answering(make_settings: Any, fake: FakeSlack) -> None:
    async with running(staff_settings(make_settings, fake, SUPPORTBOT_TAKEOVER="off"), fake) as bot:
        await bot.say("I need a person", ts=THREAD)
        card, case = await card_posted(bot)
        await bot.click("case_claim", case.ref, user=STAFF, message_ts=card["ts"])
        await fake.wait_for("chat.update")
        await bot.say("where is my order #A-5151?", ts="1700000100.000400", thread_ts=THREAD)
        await fake.wait_until(lambda: any("STS-" in m["text"] for m in fake.thread(CHANNEL, THREAD)))
        assert not any("looking after your request" in m["text"] for m in fake.thread(CHANNEL, THREAD))


async def test_metrics_endpoint_shows_the_staff_outbox(bot: StaffHarness) -> None:
    await bot.say("I need a person", ts=THREAD)
    await card_posted(bot)
    app = web.Application()
    app.add_routes(health_routes(bot.services, [bot.adapter]))
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/metrics")
        text = await response.text()
    assert response.status == 200
    assert 'supportbot_staff_outbox{status="pending"} 0.0' in text  # nothing left to deliver
    assert 'supportbot_staff_posts_total{kind="card",result="ok"}' in text


async def test_the_card_shows_the_customers_language_and_the_customer_is_told_in_it(bot: StaffHarness) -> None:
    await bot.say("Quiero hablar con una persona de verdad, por favor", ts=THREAD)
    card, case = await card_posted(bot)
    assert case.kind == "human"
    assert "*Language*\\nes" in card_words(card)
    await bot.click("case_claim", case.ref, user=STAFF, message_ts=card["ts"])
    await bot.fake.wait_until(
        lambda: any("se ocupa ahora de tu solicitud" in m["text"] for m in bot.fake.thread(CHANNEL, THREAD))
    )
