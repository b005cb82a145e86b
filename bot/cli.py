"""The `supportbot` command line. Exit codes: 0 success, 2 usage error, 1 any other failure; errors
are one line on stderr unless --debug is given."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from .cli_backup import db_backup
from .cli_bench import bench
from .cli_cases import cases
from .cli_common import Failure, run_async, settings_from
from .cli_customers import customers
from .cli_discord import discord
from .cli_faq import faq
from .cli_inbox import inbox
from .cli_run import run
from .settings import SettingsError, load_settings

_log = logging.getLogger(__name__)


class SupportbotGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except SettingsError as exc:
            raise Failure(str(exc)) from exc
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise Failure(f"{message} (run with --debug for details)") from exc


@click.group(cls=SupportbotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """supportbot — a customer-support bot for Slack and Discord."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    from .logs import setup_logging

    try:
        settings = load_settings()
    except SettingsError as exc:
        raise Failure(str(exc)) from None
    ctx.obj["settings"] = settings
    setup_logging(settings, level=logging.DEBUG if debug else logging.WARNING)


@main.command()
@click.option("--user", default="local", show_default=True, help="Customer id for the messages.")
@click.pass_context
def chat(ctx: click.Context, user: str) -> None:
    """Interactive shell chat: each line is a customer message; /commands run as staff."""
    from .wiring import open_services, shell_chat

    async def _chat() -> None:
        async with open_services(settings_from(ctx)) as services:
            await shell_chat(services, user_id=user).run()

    run_async(_chat())


@main.command()
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


@main.command()
@click.argument("text", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (always JSON when reading stdin).")
@click.pass_context
def route(ctx: click.Context, text: str | None, as_json: bool) -> None:
    """Router only. With no TEXT, routes one message per line of stdin (JSON lines)."""
    from workflows.llm.runner import StepRunner
    from workflows.router import route as route_text

    from .wiring import make_llm_client

    async def _route() -> None:
        client = make_llm_client(settings_from(ctx))
        runner = StepRunner(client)
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


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply the Alembic migrations up to the newest."""
    from storage import migrate
    from storage.db import Database

    async def _upgrade() -> None:
        database = Database(settings_from(ctx).database_url)
        try:
            await migrate.upgrade(database)
        finally:
            await database.aclose()

    run_async(_upgrade())
    click.echo("database is up to date")


db.add_command(db_backup)


for _command in (cases, run, discord, faq, bench, customers, inbox):
    main.add_command(_command)
