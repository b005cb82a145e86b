"""`supportbot run`: every configured adapter (or those named); the shell chat when none is."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from .cli_common import Failure, run_async, settings_from

if TYPE_CHECKING:
    from adapters.platform import Platform


@click.command()
@click.option("--slack", is_flag=True, help="Start the Slack adapter.")
@click.option("--discord", is_flag=True, help="Start the Discord adapter.")
@click.option("--shell", is_flag=True, help="Start the interactive shell chat.")
@click.option(
    "--slack-mode",
    type=click.Choice(["socket", "http"]),
    default=None,
    help="Socket Mode (default when SLACK_APP_TOKEN is set) or HTTP mode.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="HTTP server address.")
@click.option("--port", default=3000, show_default=True, type=click.IntRange(0, 65535), help="HTTP server port.")
@click.option(
    "--workers",
    default=0,
    show_default=True,
    type=click.IntRange(0, 64),
    help="Worker processes answering the inbox; this process then only receives and stores "
    "(0: it answers too). For PostgreSQL; see docs/performance.md.",
)
@click.option(
    "--receive-only",
    is_flag=True,
    help="Only receive and store: `supportbot worker` processes elsewhere (other containers) answer.",
)
@click.pass_context
def run(
    ctx: click.Context,
    slack: bool,
    discord: bool,
    shell: bool,
    slack_mode: str | None,
    host: str,
    port: int,
    workers: int,
    receive_only: bool,
) -> None:
    """Start the bot."""
    from .runtime import discord_adapter, serve, slack_adapter
    from .wiring import open_services, shell_chat

    settings = settings_from(ctx)
    if not (slack or discord or shell):
        slack, discord = settings.slack_configured, settings.discord_configured
        shell = not (slack or discord)
        if shell and not sys.stdin.isatty():  # e.g. `docker run` without -it: a chat nobody can type into
            raise Failure(
                "nothing is configured: set SLACK_BOT_TOKEN (with SLACK_APP_TOKEN or SLACK_SIGNING_SECRET) "
                "or DISCORD_BOT_TOKEN, or run `supportbot chat` in a terminal"
            )
    if slack and not settings.slack_configured:
        raise Failure("--slack needs SLACK_BOT_TOKEN (and SLACK_APP_TOKEN or SLACK_SIGNING_SECRET)")
    if discord and not settings.discord_configured:
        raise Failure("--discord needs DISCORD_BOT_TOKEN")
    mode = slack_mode or ("socket" if settings.slack_app_token else "http")
    if slack and slack_mode is None and not (settings.slack_app_token or settings.slack_signing_secret):
        raise Failure(
            "Slack needs SLACK_APP_TOKEN (Socket Mode, an xapp- app-level token) or "
            "SLACK_SIGNING_SECRET (HTTP mode, Slack posting events to this server)"
        )
    if slack and mode == "socket" and not settings.slack_app_token:
        raise Failure("--slack-mode socket needs SLACK_APP_TOKEN (an xapp- app-level token)")
    if slack and mode == "http" and not settings.slack_signing_secret:
        raise Failure("--slack-mode http needs SLACK_SIGNING_SECRET")

    async def _run() -> None:
        async with open_services(settings) as services:
            if shell and not (slack or discord):
                chat = shell_chat(services)
                await services.support.resume(platforms=("shell",))
                await chat.run()
                return
            adapters: list[Platform] = []
            if slack:
                adapters.append(slack_adapter(services, mode="http" if mode == "http" else "socket"))
            if discord:
                adapters.append(discord_adapter(services))
            services.support.receive_only = receive_only or workers > 0
            if not workers:
                await serve(services, adapters, host=host, port=port)
                return
            from .inbox_worker import WorkerProcesses

            children = WorkerProcesses(workers, args=[f"--{a.name}" for a in adapters])
            await children.start()
            try:
                await serve(services, adapters, host=host, port=port)
            finally:
                await children.stop()

    run_async(_run())
