"""`supportbot chat` (the interactive shell chat) and `supportbot ask` (one message through the pipeline)."""

from __future__ import annotations

import json
from typing import Any

import click

from .cli_common import run_async, settings_from


@click.command()
@click.option("--user", default="local", show_default=True, help="Customer id for the messages.")
@click.pass_context
def chat(ctx: click.Context, user: str) -> None:
    """Interactive shell chat: each line is a customer message; /commands run as staff."""
    from .wiring import open_services, shell_chat

    async def _chat() -> None:
        async with open_services(settings_from(ctx)) as services:
            await shell_chat(services, user_id=user).run()

    run_async(_chat())


@click.command()
@click.argument("text")
@click.option("--user", default="local", show_default=True, help="Customer id.")
@click.option("--thread", default=None, help="Continue the conversation of this thread id.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def ask(ctx: click.Context, text: str, user: str, thread: str | None, as_json: bool) -> None:
    """Send one customer message through the whole pipeline and print the reply."""
    from .wiring import open_services, shell_chat

    async def _ask() -> dict[str, Any]:
        async with open_services(settings_from(ctx)) as services:
            chat = shell_chat(services, user_id=user, thread_id=thread)
            outcome = await services.support.handle(chat.inbound(text))
            if outcome.result is None:
                raise RuntimeError("the message could not be processed; it is saved and will be retried")
            return outcome.result.as_json()

    result = run_async(_ask())
    click.echo(json.dumps(result, ensure_ascii=False, indent=2) if as_json else result["reply"])
