"""What every `supportbot` subcommand shares: lazy loading, the one-line failure, running a coroutine,
the settings, the database and who the terminal's user is."""

from __future__ import annotations

import asyncio
import getpass
import importlib
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import click

from .settings import load_settings

if TYPE_CHECKING:
    from storage.db import Database

    from .settings import Settings


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use, as click's documentation shows in
    "Lazily Loading Subcommands"."""

    def __init__(self, *args: Any, lazy_subcommands: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = lazy_subcommands if lazy_subcommands is not None else {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_subcommands:
            return self._load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def _load(self, cmd_name: str) -> click.Command:
        module_name, _, attribute = self.lazy_subcommands[cmd_name].partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module_name}:{attribute} is not a click command")
        return command


class Failure(click.ClickException):
    """A failure with a one-line message and exit code 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def run_async(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def settings_from(ctx: click.Context) -> Settings:
    """The settings, loaded and validated on first use (raises `SettingsError`)."""
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
