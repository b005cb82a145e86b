"""Case cards, buttons and modals on Discord, through the Discord adapter (the real discord.py client)
against the fake Discord: a card in a text channel and in a forum (tags open → claimed → closed), a
staff click reaching the core and the card updated in place, a customer's click refused privately, the
Close modal, buttons that still work after a restart, rating buttons under the last piece of a closing
message, a slow core deferred within 3 s, SLA reminders.

The core is stood in for by `StandInCore`, at the contract boundary (`Handlers.on_interaction`,
`is_staff`, and the `Platform` card methods it calls back)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from adapters.platform import Button, Card, Handlers, Interaction, InteractionReply, Outbound
from tests.fakes.discord import (
    BOT_TOKEN,
    CUSTOMER,
    EPHEMERAL,
    GUILD_ID,
    STAFF_CHANNEL,
    STAFF_FORUM,
    STAFF_ROLE,
    STAFF_USER,
    Call,
    FakeDiscord,
    click_payload,
    custom_ids,
    modal_submit_payload,
)

REF = "HUM-1001"
THREAD = "1200000000000009999"  # the customer's support thread


def buttons_for(card: Card) -> tuple[Button, ...]:
    """What the core puts under a card: Claim (or Release once claimed), Close, Note; none once closed."""
    if card.status == "closed":
        return ()
    first = (
        Button("case_release", "Release", card.ref)
        if card.assignee
        else Button("case_claim", "Claim", card.ref, "primary")
    )
    return first, Button("case_close", "Close", card.ref, "danger"), Button("case_note", "Note", card.ref)


def a_card(ref: str = REF, **changes: Any) -> Card:
    card = Card(
        ref=ref,
        kind="hand-off",
        status="open",
        customer_id=CUSTOMER,
        summary="Asks for a person about a double charge on @everyone's invoice",
        created_at=datetime.now(UTC) - timedelta(minutes=12),
        thread_link=f"https://discord.com/channels/{GUILD_ID}/{THREAD}",
        language="de",
        needs_staff_reason="hand-off: the customer asked for a person",
    )
    card = replace(card, **changes)
    return replace(card, buttons=buttons_for(card))


@dataclass
class StandInCore:
    """Plays the core: checks staff, changes the case and updates its card, as `on_interaction` would."""

    channel: str = STAFF_CHANNEL
    staff: DiscordAdapter | None = None  # the Platform the core posts and updates cards through
    events: list[Interaction] = field(default_factory=list)
    cards: dict[str, tuple[Card, str]] = field(default_factory=dict)  # ref → (card, message id)
    hold: asyncio.Event | None = None  # set: on_interaction waits for it (a slow core)

    def is_staff(self, platform: str, user_id: str, roles: tuple[str, ...]) -> bool:
        return platform == "discord" and (user_id == STAFF_USER or STAFF_ROLE in roles)

    async def post(self, card: Card, key: int = 1) -> str:
        assert self.staff is not None
        message_id = await self.staff.post_card(card, channel_id=self.channel, key=key)
        self.cards[card.ref] = (card, message_id)
        return message_id

    async def on_interaction(self, event: Interaction) -> InteractionReply:
        self.events.append(event)
        if self.hold is not None:
            await self.hold.wait()
        if event.action == "rate":
            return InteractionReply("Thanks for your feedback!")
        if not self.is_staff(event.platform, event.user_id, event.role_ids):
            return InteractionReply("Only the support team can do this.", ok=False)
        card, message_id = self.cards[event.value]
        match event.action:
            case "case_claim":
                card = replace(card, status="in_progress", assignee=f"discord:{event.user_id}")
            case "case_release":
                card = replace(card, status="open", assignee=None)
            case "case_close":
                card = replace(card, status="closed", closed_reason=event.text)
            case "case_note":
                return InteractionReply(f"Note added to {card.ref}.")
        card = replace(card, buttons=buttons_for(card))
        self.cards[card.ref] = (card, message_id)
        assert self.staff is not None
        await self.staff.update_card(card, channel_id=self.channel, message_id=message_id)
        return InteractionReply("" if event.action == "case_claim" else f"{event.action} done")


@dataclass
class StaffBot:
    adapter: DiscordAdapter
    core: StandInCore
    fake: FakeDiscord

    async def click(self, message: dict[str, Any], custom_id: str, **who: Any) -> Call:
        """Click a button; returns the interaction's initial response."""
        payload = click_payload(message, custom_id, **who)
        return await self.interact(payload)

    async def interact(self, payload: dict[str, Any]) -> Call:
        before = len(self.fake.calls_to("callback"))
        await self.fake.dispatch("INTERACTION_CREATE", payload)
        calls = await self.fake.wait_for("callback", before + 1)
        [response] = [c for c in calls if c.params["interaction"] == payload["id"]]
        return response


class _NoCommands:
    def get(self, name: str) -> None:
        return None

    def all(self) -> list[Any]:
        return []

    async def run(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no command expected")


async def _no_message(inbound: Any) -> Any:
    raise AssertionError("no customer message expected")


@asynccontextmanager
async def staff_bot(fake: FakeDiscord, core: StandInCore, *, ack_budget_s: float = 2.0) -> AsyncIterator[StaffBot]:
    """The Discord adapter as the bot runs it, handed the stand-in core's `on_interaction` and `is_staff`."""
    handlers = Handlers(
        on_message=_no_message,
        on_staff_message=_no_message,
        on_interaction=core.on_interaction,
        is_staff=core.is_staff,
        commands=_NoCommands(),
    )
    adapter = DiscordAdapter(
        handlers,
        token=BOT_TOKEN,
        api_url=fake.api_url,
        gateway_url=fake.gateway_url,
        guild_ready_timeout=0.05,
        connect_timeout_s=10,
        staff_role_ids=[STAFF_ROLE],
    )
    adapter.views.ack_budget_s = ack_budget_s
    core.staff = adapter
    await adapter.start()
    try:
        yield StaffBot(adapter, core, fake)
    finally:
        await adapter.stop()


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeDiscord, caplog: pytest.LogCaptureFixture) -> AsyncIterator[StaffBot]:
    caplog.set_level(logging.INFO)
    async with staff_bot(fake, StandInCore()) as harness:
        yield harness
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors


def field_value(message: dict[str, Any], name: str) -> str:
    [embed] = message["embeds"]
    return next(f["value"] for f in embed["fields"] if f["name"] == name)


async def test_card_in_a_text_channel(bot: StaffBot) -> None:
    message_id = await bot.core.post(a_card(), key=7)
    [post] = bot.fake.posts_in(STAFF_CHANNEL)
    assert post.answer["id"] == message_id
    assert post.json["allowed_mentions"]["parse"] == [] and post.json["nonce"] == "sbcard7"
    [embed] = post.json["embeds"]
    assert embed["title"] == f"{REF} · hand-off"
    assert embed["url"] == f"https://discord.com/channels/{GUILD_ID}/{THREAD}"
    assert "@\u200beveryone" in embed["description"]  # customer text cannot ping, even outside an embed
    message = bot.fake.message(STAFF_CHANNEL, message_id)
    assert message is not None
    assert field_value(message, "Customer") == f"<@{CUSTOMER}>"
    assert field_value(message, "Status") == "Open, waiting for staff"
    assert field_value(message, "Opened").startswith("<t:") and field_value(message, "Language") == "de"
    assert custom_ids(message) == [f"sb:case_claim:{REF}", f"sb:case_close:{REF}", f"sb:case_note:{REF}"]
    assert await bot.adapter.permalink(THREAD, THREAD) == f"https://discord.com/channels/{GUILD_ID}/{THREAD}"


async def test_a_staff_click_reaches_the_core_and_the_card_updates(bot: StaffBot) -> None:
    message_id = await bot.core.post(a_card())
    message = bot.fake.message(STAFF_CHANNEL, message_id)
    response = await bot.click(message, f"sb:case_claim:{REF}", user="300000000000000055", roles=(STAFF_ROLE,))
    [event] = bot.core.events
    assert (event.action, event.value, event.user_id) == ("case_claim", REF, "300000000000000055")
    assert STAFF_ROLE in event.role_ids and event.channel_id == STAFF_CHANNEL and event.message_id == message_id
    assert response.json == {"type": 6}  # acknowledged, nothing to say: the card shows it
    [edit] = bot.fake.calls_to("message_edit")
    assert edit.at < response.at and edit.params == {"channel": STAFF_CHANNEL, "message": message_id}
    message = bot.fake.message(STAFF_CHANNEL, message_id)
    assert field_value(message, "Status") == "Claimed by <@300000000000000055>"
    assert custom_ids(message)[0] == f"sb:case_release:{REF}"
    response = await bot.click(message, f"sb:case_release:{REF}", user=STAFF_USER)
    assert response.json["type"] == 4 and response.json["data"]["flags"] & EPHEMERAL
    assert custom_ids(bot.fake.message(STAFF_CHANNEL, message_id))[0] == f"sb:case_claim:{REF}"


async def test_a_customers_click_is_refused_privately_and_changes_nothing(bot: StaffBot) -> None:
    message_id = await bot.core.post(a_card())
    message = bot.fake.message(STAFF_CHANNEL, message_id)
    response = await bot.click(message, f"sb:case_claim:{REF}", user=CUSTOMER, name="customer")
    assert response.json["type"] == 4 and response.json["data"]["flags"] & EPHEMERAL
    assert "Only the support team" in response.json["data"]["content"]
    # Close opens a modal for staff only: the customer is refused before any modal, the core never asked
    response = await bot.click(message, f"sb:case_close:{REF}", user=CUSTOMER, name="customer")
    assert response.json["type"] == 4 and response.json["data"]["flags"] & EPHEMERAL
    assert [e.action for e in bot.core.events] == ["case_claim"]
    assert bot.fake.calls_to("message_edit") == [] and len(bot.fake.posts_in(STAFF_CHANNEL)) == 1


async def test_close_asks_for_a_reason_in_a_modal(bot: StaffBot) -> None:
    message_id = await bot.core.post(a_card())
    message = bot.fake.message(STAFF_CHANNEL, message_id)
    response = await bot.click(message, f"sb:case_close:{REF}", roles=(STAFF_ROLE,))
    assert response.json["type"] == 9
    modal = response.json["data"]
    assert modal["title"] == f"Close case {REF}" and modal["custom_id"].startswith(f"sb-modal:case_close:{REF}:")
    [label] = modal["components"]
    assert label["type"] == 18 and label["label"] == "Reason"
    assert label["component"]["custom_id"] == "text" and label["component"]["max_length"] == 500

    empty = await bot.interact(modal_submit_payload(modal["custom_id"], {"text": "   "}, roles=(STAFF_ROLE,)))
    assert empty.json["type"] == 4 and empty.json["data"]["flags"] & EPHEMERAL
    assert "empty" in empty.json["data"]["content"] and bot.core.events == []

    response = await bot.click(message, f"sb:case_close:{REF}", roles=(STAFF_ROLE,))  # a failed submit ends a modal
    submitted = await bot.interact(
        modal_submit_payload(
            response.json["data"]["custom_id"], {"text": "refunded the double charge"}, roles=(STAFF_ROLE,)
        )
    )
    [event] = bot.core.events
    assert (event.action, event.value, event.text) == ("case_close", REF, "refunded the double charge")
    assert submitted.json["type"] == 4 and submitted.json["data"]["flags"] & EPHEMERAL
    message = bot.fake.message(STAFF_CHANNEL, message_id)
    assert field_value(message, "Status") == "Closed: refunded the double charge"
    assert message["components"] == []  # a closed case's card has no buttons


async def test_note_modal_refuses_a_huge_text(bot: StaffBot) -> None:
    message_id = await bot.core.post(a_card())
    message = bot.fake.message(STAFF_CHANNEL, message_id)
    response = await bot.click(message, f"sb:case_note:{REF}", user=STAFF_USER)
    modal_id = response.json["data"]["custom_id"]
    huge = await bot.interact(modal_submit_payload(modal_id, {"text": "x" * 2001}))
    assert "too long" in huge.json["data"]["content"] and bot.core.events == []
    response = await bot.click(message, f"sb:case_note:{REF}", user=STAFF_USER)
    noted = await bot.interact(modal_submit_payload(response.json["data"]["custom_id"], {"text": "called back"}))
    assert noted.json["data"]["content"] == f"Note added to {REF}."
    assert [(e.action, e.text) for e in bot.core.events] == [("case_note", "called back")]


async def test_forum_posts_carry_the_status_tag(fake: FakeDiscord, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    core = StandInCore(channel=STAFF_FORUM)
    async with staff_bot(fake, core) as bot:
        post_id = await core.post(a_card())
        [tags_created] = fake.calls_to("channel_edit")  # the forum had no tags: the three are created at once
        assert [t["name"] for t in tags_created.json["available_tags"]] == ["open", "claimed", "closed"]
        tag = {t["name"]: t["id"] for t in fake.forum_tags}
        [post] = fake.calls_to("forum_post")
        assert post.params["channel"] == STAFF_FORUM and post.json["applied_tags"] == [tag["open"]]
        assert post.json["name"].startswith(f"{REF} · Asks for a person")
        assert post.json["message"]["allowed_mentions"]["parse"] == []
        assert fake.threads[post_id]["parent_id"] == STAFF_FORUM
        starter = fake.message(post_id, post_id)
        assert starter is not None and custom_ids(starter)[0] == f"sb:case_claim:{REF}"

        await bot.click(starter, f"sb:case_claim:{REF}", roles=(STAFF_ROLE,))
        assert fake.threads[post_id]["applied_tags"] == [tag["claimed"]]
        assert field_value(fake.message(post_id, post_id), "Status") == f"Claimed by <@{STAFF_USER}>"
        response = await bot.click(fake.message(post_id, post_id), f"sb:case_close:{REF}", roles=(STAFF_ROLE,))
        await bot.interact(
            modal_submit_payload(
                response.json["data"]["custom_id"], {"text": "solved"}, roles=(STAFF_ROLE,), channel=post_id
            )
        )
        assert fake.threads[post_id]["applied_tags"] == [tag["closed"]]
        assert fake.message(post_id, post_id)["components"] == []
        assert len(fake.calls_to("channel_edit")) == 3  # the tags once, then one PATCH per change


async def test_a_forum_without_tag_rights_gets_untagged_posts(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    fake.tags_editable = False
    core = StandInCore(channel=STAFF_FORUM)
    async with staff_bot(fake, core):
        await core.post(a_card("HUM-1"))
        await core.post(a_card("HUM-2"))
    assert [p.json["applied_tags"] for p in fake.calls_to("forum_post")] == [[], []]
    assert len(fake.calls_to("channel_edit")) == 1  # tried once
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([w for w in warnings if "may not create" in w]) == 1


async def test_buttons_work_after_a_restart_and_a_card_is_not_posted_twice(fake: FakeDiscord) -> None:
    for channel in (STAFF_CHANNEL, STAFF_FORUM):
        core = StandInCore(channel=channel)
        async with staff_bot(fake, core):
            first = await core.post(a_card(f"HUM-{channel[-2:]}"), key=3)
        async with staff_bot(fake, core):  # a new process: nothing in memory but the registered templates
            again = await core.post(a_card(f"HUM-{channel[-2:]}"), key=3)
            assert again == first
            starter = fake.message(channel if channel == STAFF_CHANNEL else first, first)
            assert core.staff is not None
            response = await StaffBot(core.staff, core, fake).click(
                starter, f"sb:case_claim:HUM-{channel[-2:]}", roles=(STAFF_ROLE,)
            )
            assert response.json == {"type": 6} and core.events[-1].action == "case_claim"
    assert len(fake.posts_in(STAFF_CHANNEL)) == 1 and len(fake.calls_to("forum_post")) == 1


async def test_rating_buttons_under_a_closing_message(bot: StaffBot) -> None:
    scale = tuple(Button("rate", str(n), f"{REF}:{n}") for n in range(1, 6))
    view = bot.adapter.views.view(scale)
    assert view is not None and view.timeout is None and view.is_persistent()
    closing = Outbound(
        platform="discord",
        channel_id=THREAD,
        thread_id=THREAD,
        reply_id=41,
        text="Your case is closed. " + "More words. " * 200,
        buttons=scale,
    )
    await bot.adapter.deliver(closing)
    first, last = bot.fake.messages[THREAD]  # split at 2,000 characters: the buttons go under the last piece
    assert custom_ids(first) == [] and custom_ids(last) == [f"sb:rate:{REF}:{n}" for n in range(1, 6)]
    response = await bot.click(last, f"sb:rate:{REF}:4", user=CUSTOMER, name="customer")
    [event] = bot.core.events
    assert (event.action, event.value, event.user_id) == ("rate", f"{REF}:4", CUSTOMER)
    assert response.json["data"]["content"] == "Thanks for your feedback!"
    assert response.json["data"]["flags"] & EPHEMERAL


async def test_a_slow_core_is_deferred_within_the_ack_budget(fake: FakeDiscord) -> None:
    core = StandInCore()
    async with staff_bot(fake, core, ack_budget_s=0.05) as bot:
        message_id = await core.post(a_card())
        core.hold = asyncio.Event()
        response = await bot.click(fake.message(STAFF_CHANNEL, message_id), f"sb:case_note:{REF}", user=STAFF_USER)
        modal_id = response.json["data"]["custom_id"]
        deferred = await bot.interact(modal_submit_payload(modal_id, {"text": "slow note"}))
        assert deferred.json == {"type": 5, "data": {"flags": EPHEMERAL}}  # "thinking…", privately
        core.hold.set()
        [edit] = await fake.wait_for("edit")
        assert edit.params["message"] == "@original" and edit.json["content"] == f"Note added to {REF}."


async def test_sla_reminder_pings_only_the_first_staff_role(bot: StaffBot) -> None:
    await bot.adapter.notify(f"{REF} has waited 30 minutes for staff", channel_id=STAFF_CHANNEL, key=5)
    [post] = bot.fake.posts_in(STAFF_CHANNEL)
    assert post.json["content"] == f"<@&{STAFF_ROLE}> {REF} has waited 30 minutes for staff"
    mentions = post.json["allowed_mentions"]
    assert mentions["parse"] == [] and [str(r) for r in mentions["roles"]] == [STAFF_ROLE]
    assert post.json["nonce"] == "sbnote5"


async def test_a_reminder_goes_with_its_card(fake: FakeDiscord) -> None:
    core = StandInCore()
    async with staff_bot(fake, core) as bot:
        card_id = await core.post(a_card())
        await bot.adapter.notify("still unclaimed", channel_id=STAFF_CHANNEL, thread_id=card_id)
        reminder = bot.fake.posts_in(STAFF_CHANNEL)[-1]
        assert str(reminder.json["message_reference"]["message_id"]) == card_id  # a reply to the card
    core = StandInCore(channel=STAFF_FORUM)
    async with staff_bot(fake, core) as bot:
        post_id = await core.post(a_card("HUM-2002"))
        await bot.adapter.notify("still unclaimed", channel_id=STAFF_FORUM, thread_id=post_id, key=9)
        [reminder] = bot.fake.posts_in(post_id)  # inside the case's post
        assert reminder.json["content"] == f"<@&{STAFF_ROLE}> still unclaimed"


async def test_a_failing_core_gets_a_polite_private_answer(fake: FakeDiscord, caplog: pytest.LogCaptureFixture) -> None:
    core = StandInCore()
    async with staff_bot(fake, core) as bot:
        message_id = await core.post(a_card())
        core.cards.clear()  # the core no longer knows the case: its handler raises KeyError
        response = await bot.click(fake.message(STAFF_CHANNEL, message_id), f"sb:case_claim:{REF}", user=STAFF_USER)
    assert response.json["type"] == 4 and response.json["data"]["flags"] & EPHEMERAL
    assert response.json["data"]["content"] == "Something went wrong; please try again."
    assert any("case_claim on HUM-1001" in r.getMessage() and r.exc_info for r in caplog.records)
