"""The Discord adapter driven for tests: the real discord.py client against the fake Discord (REST and
gateway, tests/fakes/discord.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from adapters.discord import DiscordAdapter
from bot.commands.registry import Command
from bot.runtime import discord_adapter
from bot.wiring import Services, open_services, warm_up
from storage import cases as case_store
from storage.cases import CaseFilter
from tests.fakes.discord import BOT_TOKEN, STAFF_ROLE, SUPPORT_CHANNEL, FakeDiscord, message_payload
from tests.harness.staff import staff_loop

READY_TIMEOUT = 0.05  # the fake announces no guild: do not wait for one


@dataclass
class DiscordHarness:
    services: Services
    adapter: DiscordAdapter
    fake: FakeDiscord

    async def send(self, content: str, **kwargs: Any) -> dict[str, Any]:
        """Dispatch a MESSAGE_CREATE and wait until the adapter has finished with it."""
        payload = message_payload(content, **kwargs)
        await self.resend(payload)
        return payload

    async def resend(self, payload: dict[str, Any]) -> None:
        await self.fake.dispatch("MESSAGE_CREATE", payload)
        await self.settled()

    async def settled(self) -> None:
        # The listener runs in a task of its own: wait for the client to have read the event (a
        # round trip on the socket), then for the adapter's work to end.
        await self.fake.round_trip()
        assert await self.adapter.idle(timeout=15)

    async def cases(self) -> list[Any]:
        async with self.services.db.session() as s:
            return await case_store.list_cases(s, CaseFilter(), limit=None)


def discord_settings(make_settings: Any, fake: FakeDiscord, **overrides: str) -> Any:
    values = {
        "DISCORD_BOT_TOKEN": BOT_TOKEN,
        "SUPPORTBOT_DISCORD_API_URL": fake.api_url,
        "SUPPORTBOT_DISCORD_GATEWAY_URL": fake.gateway_url,
        "SUPPORTBOT_DISCORD_CHANNEL_IDS": SUPPORT_CHANNEL,
        "SUPPORTBOT_STAFF_DISCORD_ROLE_IDS": STAFF_ROLE,
        **overrides,
    }
    return make_settings(**values)


@asynccontextmanager
async def discord_bot(
    settings: Any, fake: FakeDiscord, *, commands: tuple[Command, ...] = ()
) -> AsyncIterator[DiscordHarness]:
    async with open_services(settings) as services:
        for command in commands:  # before start: the command tree is built at login
            services.registry.add(command)
        adapter = discord_adapter(services, guild_ready_timeout=READY_TIMEOUT, connect_timeout_s=10)
        await warm_up(services)  # as `supportbot run` does before the platforms start
        await adapter.start()
        try:
            yield DiscordHarness(services, adapter, fake)
        finally:
            await adapter.stop()


@asynccontextmanager
async def discord_staff_bot(settings: Any, fake: FakeDiscord) -> AsyncIterator[DiscordHarness]:
    """The bot as `supportbot run --discord` wires it: the adapter and the staff loop."""
    async with discord_bot(settings, fake) as harness, staff_loop(harness.services):
        yield harness
