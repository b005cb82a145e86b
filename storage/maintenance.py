"""Work on the database file itself: an online backup of a live SQLite database, and making erased text
unreadable in the file.

Erasure on SQLite: the erasing transaction runs with `PRAGMA secure_delete=ON` (SQLite overwrites the
old content of rewritten cells and freed pages with zeros), then `reclaim` merges full-text indexes,
checkpoints the write-ahead log, VACUUMs (the file is rebuilt from live rows only) and truncates the
log, so neither the database file nor its `-wal` file keeps the old text or its indexed words.

On PostgreSQL `reclaim` runs VACUUM on the tables erasure touches; dead row versions stay in the data
files until reused, and in WAL segments, replicas and backups until those expire (see
docs/operations.md).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from .db import SQLITE_BUSY_TIMEOUT_MS, Database

_log = logging.getLogger(__name__)

ERASED_TABLES = ("messages", "cases", "case_events", "pending_tasks")


class MaintenanceError(Exception):
    """A maintenance request that cannot be carried out; the message says what to do instead."""


def sqlite_path(db: Database) -> Path:
    database = make_url(db.url).database
    if not db.is_sqlite or not database or database == ":memory:" or database.startswith("file:"):
        raise MaintenanceError("this works on an SQLite database file only")
    return Path(database)


@asynccontextmanager
async def erasing(db: Database) -> AsyncIterator[AsyncSession]:
    """A write session whose changes overwrite the old content in SQLite's pages (`secure_delete`)."""
    async with db.write() as session:
        if db.is_sqlite:
            await session.execute(text("PRAGMA secure_delete=ON"))
        yield session
        await session.flush()
        if db.is_sqlite:  # the connection goes back to the pool: the hot path does not pay for zeroing
            await session.execute(text("PRAGMA secure_delete=OFF"))


def _vacuum_sqlite(path: Path, timeout_s: float) -> None:
    connection = sqlite3.connect(path, timeout=timeout_s, isolation_level=None)
    try:
        # Full-text indexes (the console's FTS5 tables) keep a deleted row's terms in older segments until
        # they are merged: 'optimize' merges them all, so the erased words leave the index too.
        for (table,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%USING fts5%'"
        ).fetchall():
            connection.execute(f'INSERT INTO "{table}"("{table}") VALUES (\'optimize\')')
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("VACUUM")
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            _log.warning(
                "%s: a reader kept the write-ahead log from being emptied; erased text may stay in "
                "its -wal file until the next checkpoint",
                path,
            )
    finally:
        connection.close()


async def reclaim(db: Database) -> None:
    """Rebuild the storage so that erased text no longer sits in free space (see the module docstring)."""
    if db.is_sqlite:
        await asyncio.to_thread(_vacuum_sqlite, sqlite_path(db), SQLITE_BUSY_TIMEOUT_MS / 1000)
        return
    async with db.engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM " + ", ".join(ERASED_TABLES)))


@dataclass(frozen=True)
class Backup:
    path: Path
    bytes: int
    pages: int


def _backup_sqlite(source_path: Path, target: Path, timeout_s: float) -> Backup:
    partial = target.with_name(target.name + ".part")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=timeout_s)
    try:
        copy = sqlite3.connect(partial)
        try:
            # One step: a single read transaction, so the copy is one consistent snapshot (in WAL mode
            # the bot keeps writing meanwhile; a stepwise copy would restart on every write).
            source.backup(copy, pages=-1)
            copy.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
            check = copy.execute("PRAGMA quick_check").fetchone()[0]
            pages = copy.execute("PRAGMA page_count").fetchone()[0]
        finally:
            copy.close()
    finally:
        source.close()
    if check != "ok":
        partial.unlink(missing_ok=True)
        raise MaintenanceError(f"the copy failed its integrity check ({check}); nothing was written")
    os.replace(partial, target)
    return Backup(path=target, bytes=target.stat().st_size, pages=int(pages))


async def backup(db: Database, target: Path, *, overwrite: bool = False) -> Backup:
    """A consistent copy of a live SQLite database at `target`, through SQLite's online backup API."""
    if not db.is_sqlite:
        raise MaintenanceError(
            "`supportbot db backup` copies SQLite databases; for PostgreSQL use pg_dump, e.g. "
            'pg_dump --format=custom --file=supportbot.dump "$DATABASE" (see docs/operations.md)'
        )
    source = sqlite_path(db)
    if not source.exists():
        raise MaintenanceError(f"there is no database file at {source} (SUPPORTBOT_DATABASE_URL)")
    if target.exists() and not overwrite:
        raise MaintenanceError(f"{target} exists; choose another path or pass --force to replace it")
    if target.resolve() == source.resolve():
        raise MaintenanceError("the backup path is the database itself; choose another path")
    if not target.parent.is_dir():
        raise MaintenanceError(f"the folder {target.parent} does not exist")
    try:
        return await asyncio.to_thread(_backup_sqlite, source, target, SQLITE_BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise MaintenanceError(f"backing up {source} failed: {exc}") from exc
