"""The discord.py client: the intents the bot needs, mentions off by default, the command tree built
from the core's commands in `setup_hook` (after login, before the gateway), messages handed to a listener."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from .commands import CommandList, Invoke, bind

_log = logging.getLogger(__name__)

OnMessage = Callable[[discord.Message], Awaitable[None]]
OnError = Callable[[discord.Interaction, app_commands.AppCommandError], Awaitable[None]]


def make_intents() -> discord.Intents:
    """Guilds (channels, threads, roles), guild messages and DMs, and message content — a privileged
    intent that must be switched on for the bot in the Developer Portal."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = True
    return intents


async def _not_served(interaction: discord.Interaction, *_: Any) -> None:
    raise RuntimeError("this client only syncs commands")


class SupportClient(discord.Client):
    def __init__(
        self,
        *,
        commands: CommandList,
        invoke: Invoke | None = None,
        on_message: OnMessage | None = None,
        on_command_error: OnError | None = None,
        guild_ready_timeout: float = 2.0,
    ) -> None:
        # A text bot: no "PyNaCl/davey is not installed" warnings about voice it never uses.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(
            intents=make_intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            guild_ready_timeout=guild_ready_timeout,
        )
        self.commands = commands
        self._invoke = invoke or _not_served
        self._on_message = on_message
        self.tree: app_commands.CommandTree[SupportClient] = app_commands.CommandTree(self)
        if on_command_error is not None:
            self.tree.error(on_command_error)  # type: ignore[arg-type]  # the tree is this client's
        self.command_names: list[str] = []

    async def setup_hook(self) -> None:
        self.command_names = bind(self.tree, self.commands, self._invoke)
        _log.debug("app commands: %s", ", ".join(f"/{n}" for n in self.command_names))

    async def on_ready(self) -> None:
        _log.info(
            "Discord: connected as %s (%s) to %d guild(s)",
            self.user,
            self.user.id if self.user else "?",
            len(self.guilds),
        )

    async def on_message(self, message: discord.Message) -> None:
        if self._on_message is not None:
            await self._on_message(message)
