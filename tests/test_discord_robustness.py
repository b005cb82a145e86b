"""The adapter against a sparser Discord than ours: the acceptance run uses a fake nobody on the team
wrote, so the answer must not depend on extras our fake happens to send. Here the server never
announces new threads (no THREAD_CREATE), has no `GET /channels/{id}`, and (second case) lists no
guild in READY and sends no GUILD_CREATE — the bot still opens the thread, answers in it, and
continues the conversation there."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from tests.fakes import discord as fake_discord
from tests.fakes.discord import Call, FakeDiscord
from tests.harness import EXAMPLE
from tests.harness.discord import discord_bot, discord_settings


class SparseDiscord(FakeDiscord):
    announce_guild: bool = True

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        if event != "THREAD_CREATE":
            await super().dispatch(event, data)

    async def _answer(self, call: Call) -> web.Response:
        if call.route == "channel":
            return self._json({"message": "404: Not Found", "code": 0}, status=404)
        return await super()._answer(call)

    async def _identified(self, ws: web.WebSocketResponse, identify: dict[str, Any]) -> None:
        if self.announce_guild:
            await super()._identified(ws, identify)
            return
        self.identify = identify
        await self._send(
            ws,
            "READY",
            {
                "v": 10,
                "user": fake_discord.BOT_USER,
                "guilds": [],
                "session_id": "sparse",
                "resume_gateway_url": self.gateway_url,
                "application": {"id": fake_discord.APP_ID, "flags": 0},
            },
        )
        self.ready.set()
        await self._notify()


@pytest.mark.parametrize("announce_guild", [True, False], ids=["guild", "no-guild"])
async def test_threads_work_without_thread_create_or_channel_lookups(make_settings: Any, announce_guild: bool) -> None:
    async with SparseDiscord() as fake:
        fake.announce_guild = announce_guild
        async with discord_bot(discord_settings(make_settings, fake), fake) as bot:
            first = await bot.send("I want to return my headphones")
            [thread] = fake.calls_to("thread")
            assert thread.params["message"] == first["id"]
            assert len(fake.posts_in(first["id"])) == 1  # the question for the missing reason
            await bot.send("they stopped charging", channel=first["id"])
            _, done = fake.posts_in(first["id"])
            [case] = await bot.cases()
            assert case.kind == "return" and case.ref in done.json["content"]
            example = await bot.send(EXAMPLE)
            [reply] = fake.posts_in(example["id"])
            cases = await bot.cases()
            assert len(cases) == 4 and all(c.ref in reply.json["content"] for c in cases if c.ref != case.ref)
            assert len(fake.calls_to("thread")) == 2 and len(fake.calls_to("message")) == 3
            assert all(c.json["allowed_mentions"]["parse"] == [] for c in fake.calls_to("message"))
