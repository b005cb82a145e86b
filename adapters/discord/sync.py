"""Registering the app commands with Discord: explicit (`supportbot discord sync`), never on start.
A guild sync applies at once; a global one can take a while to reach every client."""

from __future__ import annotations

import logging

import discord

from .adapter import describe_failure
from .client import SupportClient
from .commands import CommandList
from .endpoints import apply as apply_endpoints
from .endpoints import restore as restore_endpoints

_log = logging.getLogger(__name__)


async def sync_commands(
    commands: CommandList,
    *,
    token: str,
    api_url: str | None = None,
    gateway_url: str | None = None,
    guild_id: int | None = None,
) -> list[str]:
    """PUT every command to Discord (to one guild, or globally); returns the synced names.

    Only the REST API is used: a login (no gateway connection) and one bulk overwrite."""
    token = token.strip()
    if not token:
        raise RuntimeError("discord sync needs DISCORD_BOT_TOKEN")
    previous = apply_endpoints(api_url=api_url, gateway_url=gateway_url)
    client = SupportClient(commands=commands)
    try:
        try:
            await client.login(token)  # setup_hook builds the tree from the commands
        except discord.LoginFailure as exc:
            raise RuntimeError(describe_failure(exc)) from None
        guild = discord.Object(id=guild_id) if guild_id is not None else None
        if guild is not None:
            client.tree.copy_global_to(guild=guild)
        try:
            synced = await client.tree.sync(guild=guild)
        except discord.Forbidden as exc:
            where = f"guild {guild_id}" if guild_id is not None else "Discord"
            raise RuntimeError(
                f"{where} refused the commands ({exc.status} {exc.text}): invite the bot with the "
                "applications.commands scope"
            ) from None
        _log.info("synced %d commands %s", len(synced), f"to guild {guild_id}" if guild_id else "globally")
        return [command.name for command in synced]
    finally:
        await client.close()
        restore_endpoints(previous)
