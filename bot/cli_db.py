"""`supportbot db …`: database maintenance."""

from __future__ import annotations

import click

from .cli_common import LazyGroup, run_async, settings_from

# `db` subcommands kept in other modules: name → "module:attribute", loaded when used (one line each).
SUBCOMMANDS: dict[str, str] = {
    "backup": "bot.cli_backup:db_backup",
}


@click.group(cls=LazyGroup, lazy_subcommands=SUBCOMMANDS)
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
