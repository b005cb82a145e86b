"""`supportbot discord …`: Discord maintenance. `sync` registers the app commands — explicitly, because
the bot never resyncs on start (a global sync is slow to spread; a guild sync is instant)."""

from __future__ import annotations

import importlib

import click

from .cli_common import run_async, settings_from


@click.group()
def discord() -> None:
    """Discord maintenance."""


@discord.command("sync")
@click.option("--guild", "guild_id", type=click.IntRange(min=1), default=None,
              help="Register in this guild only (instant); without it, globally (can take up to an hour).")
@click.pass_context
def sync(ctx: click.Context, guild_id: int | None) -> None:
    """Register every slash command with Discord."""
    from .wiring import build_registry

    settings = settings_from(ctx)
    if not settings.discord_configured:
        raise click.UsageError("discord sync needs DISCORD_BOT_TOKEN")
    # Loaded by name: imports point one way (adapters → bot).
    sync_commands = importlib.import_module("adapters.discord.sync").sync_commands
    names = run_async(sync_commands(settings, build_registry(), guild_id=guild_id))
    where = f"guild {guild_id}" if guild_id is not None else "all guilds (global; may take up to an hour to appear)"
    click.echo(f"synced {len(names)} commands to {where}: " + " ".join(f"/{n}" for n in names))
