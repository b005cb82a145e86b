"""`supportbot db backup PATH`: a consistent copy of the live SQLite database (the bot may keep running)."""

from __future__ import annotations

from pathlib import Path

import click

from .cli_common import Failure, run_async, settings_from


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@click.pass_context
def db_backup(ctx: click.Context, path: Path, force: bool) -> None:
    """Copy the SQLite database to PATH with SQLite's online backup API."""
    from storage import maintenance
    from storage.db import Database

    async def _backup() -> maintenance.Backup:
        db = Database(settings_from(ctx).database_url)
        try:
            return await maintenance.backup(db, path, overwrite=force)
        except maintenance.MaintenanceError as exc:
            raise Failure(str(exc)) from None
        finally:
            await db.aclose()

    done = run_async(_backup())
    click.echo(f"backed up to {done.path} ({done.bytes} bytes, {done.pages} pages)")
