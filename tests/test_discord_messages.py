"""Customer messages through the real discord.py client against the fake Discord (REST + gateway): a
thread per support request with one reply quoting every case, exactly once, DMs, follow-ups in the
thread, staff, ignored channels and bots, typing, long replies split, mentions never parsed."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from adapters.platform import Outbound
from bot.runtime import discord_adapter
from bot.wiring import open_services
from storage import inbox
from storage.models import Message
from tests.fakes.discord import (
    BOT_ID,
    BOT_TOKEN,
    CUSTOMER,
    DM_CHANNEL,
    OTHER_CHANNEL,
    STAFF_ROLE,
    SUPPORT_CHANNEL,
    FakeDiscord,
    thread_payload,
)
from tests.harness import EXAMPLE
from tests.harness.discord import READY_TIMEOUT, DiscordHarness, discord_bot, discord_settings


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
async def bot(make_settings: Any, fake: FakeDiscord, caplog: pytest.LogCaptureFixture) -> AsyncIterator[DiscordHarness]:
    caplog.set_level(logging.INFO)
    async with discord_bot(discord_settings(make_settings, fake), fake) as harness:
        yield harness
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, f"errors logged: {[r.getMessage() for r in errors]}"


async def test_connects_with_the_intents_it_needs(bot: DiscordHarness) -> None:
    assert bot.adapter.connected and bot.adapter.routes() == []
    identify = bot.fake.identify
    assert identify is not None and identify["token"] == BOT_TOKEN
    intents = identify["intents"]
    for bit in (0, 9, 12, 15):  # guilds, guild messages, direct messages, message content
        assert intents & (1 << bit), bit
    assert not intents & (1 << 1)  # no privileged members intent
    assert bot.fake.calls_to("commands") == []  # no command sync on start
    await bot.adapter.stop()
    assert not bot.adapter.connected


async def test_support_channel_message_gets_a_thread_and_one_reply_with_every_case(bot: DiscordHarness) -> None:
    message = await bot.send(EXAMPLE)
    [thread] = bot.fake.calls_to("thread")
    assert thread.params == {"channel": SUPPORT_CHANNEL, "message": message["id"]}
    assert 0 < len(thread.json["name"]) <= 100 and thread.json["name"].startswith("Hi, I'm writing")
    [reply] = bot.fake.posts_in(message["id"])  # the thread has the message's id
    assert bot.fake.posts_in(SUPPORT_CHANNEL) == []
    cases = await bot.cases()
    assert len(cases) == 3
    for case in cases:
        assert case.ref in reply.json["content"]
    assert reply.json["allowed_mentions"]["parse"] == []
    assert reply.json["nonce"] and reply.json["enforce_nonce"] is True
    assert "message_reference" not in reply.json  # the thread is the answer's context
    typing = bot.fake.calls_to("typing")
    assert typing and typing[0].params["channel"] == message["id"] and typing[0].at < reply.at


async def test_the_same_message_create_twice_is_answered_once(bot: DiscordHarness) -> None:
    message = await bot.send(EXAMPLE)
    first_cases = {c.ref for c in await bot.cases()}
    await bot.resend(message)  # gateway redelivery to this process
    assert len(bot.fake.posts_in(message["id"])) == 1
    assert {c.ref for c in await bot.cases()} == first_cases
    assert len(bot.fake.calls_to("thread")) == 1


async def test_a_second_process_sees_the_duplicate_in_the_database(
    bot: DiscordHarness, make_settings: Any, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    message = await bot.send("where is my order #A-5555?")
    [reply] = fake.posts_in(message["id"])
    # A second client on the same database (another process, or this one after a restart) gets the event
    # too: Discord refuses a second thread for the message (160004) and the inbox knows the message.
    async with discord_bot(discord_settings(make_settings, fake), fake) as other:
        await other.resend(message)
    assert fake.posts_in(message["id"]) == [reply]
    assert len(fake.calls_to("thread")) == 2 and "exists already" in caplog.text
    assert len(await bot.cases()) == 1


async def test_other_channels_bots_and_the_bot_itself_are_ignored(bot: DiscordHarness) -> None:
    await bot.send(EXAMPLE, channel=OTHER_CHANNEL)
    await bot.send(EXAMPLE, bot=True, author="500000000000000001")
    await bot.send(EXAMPLE, author=BOT_ID)
    await bot.send("   ")
    assert bot.fake.calls_to("message") == [] and bot.fake.calls_to("thread") == []
    assert await bot.cases() == []


async def test_without_thread_permission_the_answer_replies_in_the_channel(bot: DiscordHarness) -> None:
    bot.fake.fail("thread", 403, code=50013, message="Missing Permissions")
    message = await bot.send("where is my order #A-8181?")
    [reply] = bot.fake.posts_in(SUPPORT_CHANNEL)
    [case] = await bot.cases()
    assert case.ref in reply.json["content"]
    assert str(reply.json["message_reference"]["message_id"]) == message["id"]


async def test_a_dm_gets_a_reply_to_the_message(bot: DiscordHarness) -> None:
    message = await bot.send("where is my order #A-12345?", channel=DM_CHANNEL, dm=True)
    [reply] = bot.fake.posts_in(DM_CHANNEL)
    [case] = await bot.cases()
    assert case.kind == "status" and case.ref in reply.json["content"]
    assert str(reply.json["message_reference"]["message_id"]) == message["id"]
    assert reply.json["allowed_mentions"]["parse"] == [] and not reply.json["allowed_mentions"].get("replied_user")
    assert bot.fake.calls_to("thread") == []


async def test_a_follow_up_in_the_thread_completes_the_pending_task(bot: DiscordHarness) -> None:
    first = await bot.send("I want to return my headphones")
    [ask] = bot.fake.posts_in(first["id"])
    assert await bot.cases() == []  # the reason is missing: the bot asks for it
    second = await bot.send("they stopped charging", channel=first["id"])
    _, done = bot.fake.posts_in(first["id"])
    [case] = await bot.cases()
    assert case.kind == "return" and case.ref in done.json["content"] and case.ref not in ask.json["content"]
    assert str(done.json["message_reference"]["message_id"]) == second["id"]
    assert len(bot.fake.calls_to("thread")) == 1


async def test_a_post_in_an_uncached_support_thread_is_answered_there(bot: DiscordHarness) -> None:
    # A forum post, or a thread from before a restart: the client does not know the thread and asks Discord.
    thread_id = "1250000000000000001"
    bot.fake.threads[thread_id] = thread_payload(thread_id, name="Where is my order?")
    await bot.send("where is my order #A-6060?", channel=thread_id, message_id=thread_id)
    [reply] = bot.fake.posts_in(thread_id)
    [case] = await bot.cases()
    assert case.ref in reply.json["content"] and "message_reference" not in reply.json
    assert [c.params["channel"] for c in bot.fake.calls_to("channel")] == [thread_id]
    assert bot.fake.calls_to("thread") == []


async def test_staff_in_a_support_thread_are_recorded_not_answered(bot: DiscordHarness) -> None:
    first = await bot.send("where is my order #A-7777?")
    staff = await bot.send(
        "I'll look into this myself", channel=first["id"], author="300000000000000099", roles=(STAFF_ROLE,)
    )
    assert len(bot.fake.posts_in(first["id"])) == 1  # only the answer to the customer
    async with bot.services.db.session() as s:
        stored = (await s.execute(select(Message).where(Message.platform_message_id == staff["id"]))).scalar_one()
        conversation = await inbox.get_conversation(s, stored.conversation_id)
    assert stored.role == "staff" and stored.author_id == "300000000000000099"
    assert conversation is not None and conversation.thread_id == first["id"]


async def test_everyone_in_customer_text_never_pings(bot: DiscordHarness) -> None:
    message = await bot.send("@everyone where is my order #A-4242? <@&" + STAFF_ROLE + "> <@" + CUSTOMER + ">")
    [reply] = bot.fake.posts_in(message["id"])
    assert reply.json["allowed_mentions"]["parse"] == []
    assert not reply.json["allowed_mentions"].get("roles") and not reply.json["allowed_mentions"].get("users")
    assert "@everyone" not in bot.fake.calls_to("thread")[0].json["name"].replace("@\u200beveryone", "")


async def test_an_answer_over_2000_characters_is_split(bot: DiscordHarness) -> None:
    text = "\n\n".join(f"Paragraph {i}: " + "lorem ipsum dolor sit amet " * 12 for i in range(20))
    assert len(text) > 4000
    out = Outbound(
        platform="discord",
        channel_id=DM_CHANNEL,
        thread_id=DM_CHANNEL,
        text=text,
        reply_id=41,
        in_reply_to="1200000000000009999",
    )
    first_id = await bot.adapter.deliver(out)
    posts = bot.fake.posts_in(DM_CHANNEL)
    assert len(posts) >= 3 and all(len(p.json["content"]) <= 2000 for p in posts)
    assert " ".join(p.json["content"] for p in posts).split() == text.split()  # nothing lost
    assert all(p.json["content"].startswith("Paragraph") for p in posts)  # cut at paragraph boundaries
    assert first_id and str(posts[0].json["message_reference"]["message_id"]) == "1200000000000009999"
    assert all("message_reference" not in p.json for p in posts[1:])
    assert len({p.json["nonce"] for p in posts}) == len(posts)
    # a retried delivery of the same reply is not duplicated: Discord returns the messages of the nonces
    await bot.adapter.deliver(out)
    assert len(bot.fake.posts_in(DM_CHANNEL)) == len(posts)


async def test_a_refused_token_stops_start_with_a_clear_error(make_settings: Any, fake: FakeDiscord) -> None:
    settings = discord_settings(make_settings, fake, DISCORD_BOT_TOKEN="wrong-token")
    async with open_services(settings) as services:
        adapter = discord_adapter(services, guild_ready_timeout=READY_TIMEOUT, connect_timeout_s=10)
        with pytest.raises(RuntimeError, match="Discord refused DISCORD_BOT_TOKEN"):
            await adapter.start()
        assert not adapter.connected and adapter.client.is_closed()
    assert [c.route for c in fake.calls] == ["me"] and fake.identify is None


async def test_message_content_intent_not_enabled_is_explained(make_settings: Any) -> None:
    async with (
        FakeDiscord(refuse_privileged_intents=True) as fake,
        open_services(discord_settings(make_settings, fake)) as services,
    ):
        adapter = discord_adapter(services, guild_ready_timeout=READY_TIMEOUT, connect_timeout_s=10)
        with pytest.raises(RuntimeError, match="Message Content intent"):
            await adapter.start()
        assert not adapter.connected and adapter.client.is_closed()
