"""`supportbot route [TEXT]`: the router alone. Offline it imports only the offline router (no settings
model, no model-step machinery or pydantic models); only when Gemini is configured does it load the
settings, the model client and the router step: this command answers faster than the rest of the bot
can load. Run offline, it validates none of the other settings (no other command skips that)."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import click

from .cli_common import run_async, settings_from
from .settings import surely_offline

if TYPE_CHECKING:
    from workflows.llm.base import LLMClient


@click.command()
@click.argument("text", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (always JSON when reading stdin).")
@click.pass_context
def route(ctx: click.Context, text: str | None, as_json: bool) -> None:
    """Show how a message would be routed, without opening cases.

    With no TEXT, routes one message per line of stdin (JSON lines)."""
    from workflows.offline import semantic

    settings = None if surely_offline() else settings_from(ctx)
    if text is not None:
        semantic.expect_few_messages()  # one message: the encoder's quick load beats its faster run

    async def _route() -> None:
        client = None
        if settings is not None and settings.uses_gemini:
            from .wiring import make_llm_client

            client = make_llm_client(settings)
        route_text = _offline_router() if client is None else _model_router(client)
        try:
            if text is not None:
                routes = await route_text(text)
                out = {"text": text, "route": routes[0], "routes": routes}
                click.echo(json.dumps(out, ensure_ascii=False) if as_json else routes[0])
                return
            for line in sys.stdin:
                line = line.rstrip("\n")
                routes = await route_text(line)
                click.echo(json.dumps({"text": line, "route": routes[0], "routes": routes}, ensure_ascii=False))
        finally:
            if client is not None:
                await client.aclose()

    run_async(_route())


Router = Callable[[str], Awaitable[list[str]]]


def _offline_router() -> Router:
    """The offline engine's routes, as the router step gives them offline (`workflows.router.route` falls
    back to the same `classify`), without loading the model step's machinery and its pydantic models."""
    from workflows.offline.decision import classify

    async def route(text: str) -> list[str]:
        return list(await classify(text))

    return route


def _model_router(client: LLMClient) -> Router:
    from workflows.llm.runner import StepRunner
    from workflows.router import route as route_text

    runner = StepRunner(client, record_metrics=False)

    async def route(text: str) -> list[str]:
        return list(await route_text(text, runner))

    return route
