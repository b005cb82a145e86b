"""`supportbot discord …`: Discord maintenance. `sync` registers the app commands — explicitly, because
the bot never resyncs on start (a global sync is slow to spread; a guild sync is instant)."""

from __future__ import annotations

import click

from .cli_common import run_async, settings_from


@click.group()
def discord() -> None:
    """Discord maintenance."""


@discord.command("sync")
@click.option(
    "--guild",
    "guild_id",
    type=click.IntRange(min=1),
    default=None,
    help="Register in this guild only (instant); without it, globally (can take up to an hour).",
)
@click.pass_context
def sync(ctx: click.Context, guild_id: int | None) -> None:
    """Register every slash command with Discord."""
    from adapters.discord.sync import sync_commands

    from .wiring import build_registry

    settings = settings_from(ctx)
    if not settings.discord_configured or settings.discord_bot_token is None:
        raise click.UsageError("discord sync needs DISCORD_BOT_TOKEN")
    names = run_async(
        sync_commands(
            build_registry(),
            token=settings.discord_bot_token.get_secret_value(),
            api_url=settings.discord_api_url,
            gateway_url=settings.discord_gateway_url,
            guild_id=guild_id,
        )
    )
    where = f"guild {guild_id}" if guild_id is not None else "all guilds (global; may take up to an hour to appear)"
    click.echo(f"synced {len(names)} commands to {where}: " + " ".join(f"/{n}" for n in names))
