"""What every `supportbot` subcommand shares: the one-line failure, running a coroutine, the settings."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import click

from .settings import Settings, load_settings

if TYPE_CHECKING:
    from storage.db import Database


class Failure(click.ClickException):
    """A failure with a one-line message and exit code 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def run_async(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def settings_from(ctx: click.Context) -> Settings:
    if "settings" not in ctx.obj:
        ctx.obj["settings"] = load_settings()
    return ctx.obj["settings"]


def cli_actor() -> str:
    """Who the terminal's changes are recorded as: `cli:<os user>`."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name (some containers): still attributable to the terminal
        return "cli:operator"


@asynccontextmanager
async def open_database(ctx: click.Context) -> AsyncIterator[Database]:
    """The settings' database, migrated as `open_services` does, without building the rest of the bot."""
    from storage import migrate
    from storage.db import Database

    db = Database(settings_from(ctx).database_url)
    try:
        await migrate.prepare(db)
        yield db
    finally:
        await db.aclose()
