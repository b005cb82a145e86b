"""App commands through the real discord.py client and the fake Discord: every registry command bound
with typed options, refusals ephemeral, staff by role or user id, a long command deferred at once with
its progress shown by editing the deferred response and its result delivered by follow-up."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.commands.registry import (
    Args,
    Command,
    CommandContext,
    CommandResult,
    Option,
    Progress,
    ResultItem,
)
from tests.fakes.discord import (
    CUSTOMER,
    EPHEMERAL,
    STAFF_ROLE,
    STAFF_USER,
    FakeDiscord,
    interaction_payload,
)
from tests.harness import EXAMPLE
from tests.harness.discord import DiscordHarness, discord_bot, discord_settings

OTHER = "300000000000000077"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


def no_errors(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, f"errors logged: {[r.getMessage() for r in errors]}"


@pytest.fixture
async def bot(make_settings: Any, fake: FakeDiscord, caplog: pytest.LogCaptureFixture) -> AsyncIterator[DiscordHarness]:
    caplog.set_level(logging.INFO)
    settings = discord_settings(make_settings, fake, SUPPORTBOT_STAFF_DISCORD_USER_IDS=STAFF_USER)
    async with discord_bot(settings, fake) as harness:
        yield harness
    no_errors(caplog)


async def invoke(bot: DiscordHarness, name: str, *options: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    payload = interaction_payload(name, list(options), **kwargs)
    await bot.fake.dispatch("INTERACTION_CREATE", payload)
    await bot.settled()
    return payload


def response_to(fake: FakeDiscord, payload: dict[str, Any]) -> dict[str, Any]:
    [callback] = [c for c in fake.calls_to("callback") if c.params["interaction"] == payload["id"]]
    return callback.json  # type: ignore[no-any-return]


async def test_non_staff_cases_for_another_user_is_refused_privately(bot: DiscordHarness) -> None:
    sent = await invoke(bot, "cases", {"name": "user", "type": 6, "value": OTHER}, resolved_users=(OTHER,))
    response = response_to(bot.fake, sent)
    assert response["type"] == 4 and response["data"]["flags"] & EPHEMERAL
    assert "only list your own cases" in response["data"]["content"]
    assert response["data"]["allowed_mentions"]["parse"] == []
    assert bot.fake.calls_to("followup") == [] and bot.fake.calls_to("message") == []


async def test_staff_only_command_refused_for_a_customer_and_served_for_a_staff_role(bot: DiscordHarness) -> None:
    await bot.send("where is my order #A-3131?")
    [case] = await bot.cases()
    refused = await invoke(bot, "case-close", {"name": "ref", "type": 3, "value": case.ref})
    response = response_to(bot.fake, refused)
    assert response["data"]["flags"] & EPHEMERAL and "staff only" in response["data"]["content"]
    closed = await invoke(
        bot,
        "case-close",
        {"name": "ref", "type": 3, "value": case.ref},
        {"name": "reason", "type": 3, "value": "customer's parcel arrived"},
        user="300000000000000055",
        roles=(STAFF_ROLE,),
    )
    response = response_to(bot.fake, closed)
    assert response["data"]["flags"] & EPHEMERAL and "Closed case" in response["data"]["content"]
    assert "customer's parcel arrived" in response["data"]["content"]  # free text passed as typed
    [case] = await bot.cases()
    assert case.status == "closed"


async def test_user_options_become_the_bare_id(bot: DiscordHarness) -> None:
    await bot.send("where is my order #A-3232?")
    [case] = await bot.cases()
    await invoke(
        bot,
        "case-assign",
        {"name": "ref", "type": 3, "value": case.ref},
        {"name": "staff", "type": 6, "value": STAFF_USER},
        user=STAFF_USER,
        resolved_users=(STAFF_USER,),
    )
    [case] = await bot.cases()
    assert case.assignee == f"discord:{STAFF_USER}"


async def test_a_customer_sees_own_cases_as_embeds(bot: DiscordHarness) -> None:
    await bot.send(EXAMPLE)
    sent = await invoke(bot, "cases", user=CUSTOMER)
    response = response_to(bot.fake, sent)
    assert response["type"] == 4 and response["data"]["flags"] & EPHEMERAL
    embeds = response["data"]["embeds"]
    assert 1 <= len(embeds) <= 10
    shown = json.dumps(embeds)
    for case in await bot.cases():
        assert case.ref in shown


async def test_long_command_defers_shows_progress_and_delivers_by_follow_up(
    make_settings: Any, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    started, release = asyncio.Event(), asyncio.Event()

    async def build(ctx: CommandContext, args: Args) -> CommandResult:
        await ctx.report(Progress("fetching", 0, 3))
        started.set()
        await release.wait()  # still working when the deferral must already be out
        for done in (1, 2, 3):
            await ctx.report(Progress("answering", done, 3, f"question {done}"))
        items = [
            ResultItem(
                title=f"Question {i}?",
                body=f"Answer {i}. " * 40,
                url="https://shop.test/faq",
                fields=[("Source", "https://shop.test/faq")],
            )
            for i in range(12)
        ]
        return CommandResult(text=f"FAQ for {args.raw}", title="FAQ: shop.test", items=items)

    slow = Command(
        "slowfaq",
        "Build an FAQ",
        "/slowfaq URL",
        build,
        long_running=True,
        options=(
            Option("urls", "Pages to read", required=True, rest=True),
            Option("questions", "How many", kind="integer", positional=False),
        ),
    )
    settings = discord_settings(make_settings, fake, SUPPORTBOT_STAFF_DISCORD_USER_IDS=STAFF_USER)
    async with discord_bot(settings, fake, commands=(slow,)) as bot:
        payload = interaction_payload(
            "slowfaq",
            [
                {"name": "urls", "type": 3, "value": "https://shop.test/faq"},
                {"name": "questions", "type": 4, "value": 3},
            ],
            user=STAFF_USER,
        )
        await fake.dispatch("INTERACTION_CREATE", payload)
        [deferred] = await fake.wait_for("callback")
        async with asyncio.timeout(10):
            await started.wait()
        assert deferred.json == {"type": 5} or deferred.json["type"] == 5
        assert not (deferred.json.get("data") or {}).get("flags", 0) & EPHEMERAL  # the result is public
        assert fake.calls_to("followup") == [] and not release.is_set()
        release.set()
        followups = await fake.wait_for("followup", 2)
        await bot.settled()
    no_errors(caplog)
    assert all(f.params["token"] == payload["token"] and f.query.get("wait") for f in followups)
    followups = fake.calls_to("followup")
    embeds = [e for f in followups for e in f.json["embeds"]]
    assert len(embeds) == 12 and all(len(f.json["embeds"]) <= 10 for f in followups)
    assert followups[0].json["content"].startswith("**FAQ: shop.test")
    assert all(not f.json.get("flags", 0) & EPHEMERAL for f in followups)
    edits = fake.calls_to("edit")
    assert edits and all(e.params["message"] == "@original" for e in edits)
    assert "fetching" in edits[0].json["content"] and "✅" in edits[-1].json["content"]
    assert edits[-1].at < followups[0].at  # the deferred response is settled before the result follows


async def test_every_registry_command_is_an_app_command(bot: DiscordHarness) -> None:
    tree = bot.adapter.client.tree
    names = {c.name for c in tree.get_commands()}
    assert {c.name for c in bot.services.registry.all()} <= names
    cases = tree.get_command("cases")
    assert cases is not None
    kinds = {p.display_name: p.type.name for p in cases.parameters}
    assert kinds == {"user": "user", "status": "string", "kind": "string", "since": "string", "page": "integer"}
    close = tree.get_command("case-close")
    assert close is not None and [p.display_name for p in close.parameters if p.required] == ["ref"]
