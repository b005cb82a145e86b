"""`supportbot route [TEXT]`: the router alone. It imports the router and, only when Gemini is
configured, the settings and the model client: this command answers faster than the rest of the bot
can load. Run offline, it validates none of the other settings (no other command skips that)."""

from __future__ import annotations

import json
import sys

import click

from .cli_common import run_async, settings_from
from .settings import surely_offline


@click.command()
@click.argument("text", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (always JSON when reading stdin).")
@click.pass_context
def route(ctx: click.Context, text: str | None, as_json: bool) -> None:
    """Show how a message would be routed, without opening cases.

    With no TEXT, routes one message per line of stdin (JSON lines)."""
    from workflows.llm.runner import StepRunner
    from workflows.offline import semantic
    from workflows.router import route as route_text

    settings = None if surely_offline() else settings_from(ctx)
    if text is not None:
        semantic.expect_few_messages()  # one message: the encoder's quick load beats its faster run

    async def _route() -> None:
        client = None
        if settings is not None and settings.uses_gemini:
            from .wiring import make_llm_client

            client = make_llm_client(settings)
        runner = StepRunner(client, record_metrics=False)
        try:
            if text is not None:
                routes = await route_text(text, runner)
                out = {"text": text, "route": routes[0], "routes": routes}
                click.echo(json.dumps(out, ensure_ascii=False) if as_json else routes[0])
                return
            for line in sys.stdin:
                line = line.rstrip("\n")
                routes = await route_text(line, runner)
                click.echo(json.dumps({"text": line, "route": routes[0], "routes": routes}, ensure_ascii=False))
        finally:
            if client is not None:
                await client.aclose()

    run_async(_route())
