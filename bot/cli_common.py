"""What every `supportbot` subcommand shares: the one-line failure, running a coroutine, the settings."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import click

from .settings import Settings, load_settings


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
