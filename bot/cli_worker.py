"""`supportbot worker`: one worker process answering the durable inbox behind a receiver (started by
`supportbot run --workers N`, or on its own: a container replica). See bot/inbox_worker.py."""

from __future__ import annotations

import click

from .cli_common import Failure, run_async, settings_from


@click.command()
@click.option("--slack", is_flag=True, help="Deliver Slack replies (default: every configured platform).")
@click.option("--discord", is_flag=True, help="Deliver Discord replies (default: every configured platform).")
@click.option(
    "--concurrency",
    default=32,
    show_default=True,
    type=click.IntRange(1, 1024),
    help="Messages answered at once by this process.",
)
@click.option(
    "--nice",
    default=0,
    show_default=True,
    type=click.IntRange(0, 19),
    help="Lower this process's CPU priority (run --workers starts its workers at 10: acks first).",
)
@click.pass_context
def worker(ctx: click.Context, slack: bool, discord: bool, concurrency: int, nice: int) -> None:
    """Answer waiting messages from the inbox (a receiver stores them: `supportbot run --workers N`)."""
    import os

    if nice:
        os.nice(nice)
    from .inbox_worker import run_worker
    from .runtime import outbound_platforms
    from .wiring import open_services

    settings = settings_from(ctx)
    if not (settings.slack_configured or settings.discord_configured):
        raise Failure("a worker delivers replies: set SLACK_BOT_TOKEN and/or DISCORD_BOT_TOKEN")

    async def _run() -> None:
        async with open_services(settings, concurrency=concurrency) as services:
            platforms = await outbound_platforms(services)
            if slack or discord:
                platforms = [p for p in platforms if (p.name == "slack" and slack) or (p.name == "discord" and discord)]
            try:
                await run_worker(services, platforms, concurrency=concurrency)
            finally:
                for platform in platforms:
                    await platform.stop()

    run_async(_run())
