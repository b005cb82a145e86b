"""Programmatic Alembic upgrade, used by `supportbot db upgrade` and at start-up.

`prepare` first compares the database's revision with the newest migration file, read without loading
Alembic: a command on a current database (`supportbot cases list`) then never imports Alembic, which
costs more than the command itself. Anything unclear (no single head, no version table) goes the full
way through Alembic.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection

from .db import Database

if TYPE_CHECKING:
    from alembic.config import Config

_log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Serialises concurrent upgrades by several bot processes on one PostgreSQL database.
_PG_LOCK_KEY = 0x5B07_0001


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def upgrade(db: Database, revision: str = "head") -> None:
    def _upgrade(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        from alembic import command

        cfg = alembic_config(db.url)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with db.connection() as conn, conn.begin():
        await conn.run_sync(_upgrade)
    _log.info("database at revision %s", revision)


async def is_current(db: Database) -> bool:
    """True when the database is at the newest migration."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(db.url)).get_current_head()

    def _current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with db.connection() as conn:
        return await conn.run_sync(_current) == head


# `revision = '0001'`, `down_revision: str | None = "0001"`, `down_revision = ('a', 'b')` (a merge).
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r"""['"]([^'"]+)['"]""")


def script_head() -> str | None:
    """The newest migration's revision id, from the files' `revision`/`down_revision` lines; None unless
    there is exactly one head."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for name, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            ids = _QUOTED.findall(value)
            if name == "revision":
                if len(ids) != 1:
                    return None
                revisions.add(ids[0])
            else:
                parents.update(ids)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


async def database_revisions(db: Database) -> set[str] | None:
    """The revisions stamped in the database; None when it has no version table yet."""
    try:
        async with db.engine.connect() as conn:
            return {str(v) for v in (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars()}
    except Exception:  # no such table: a new database
        return None


async def prepare(db: Database) -> None:
    """SQLite is migrated automatically; PostgreSQL is migrated by `supportbot db upgrade`."""
    head = script_head()
    if head is not None and await database_revisions(db) == {head}:
        return  # current: Alembic is not even loaded
    if db.is_sqlite:
        await upgrade(db)
    elif not await is_current(db):
        raise RuntimeError("the PostgreSQL database is not at the latest schema: run `supportbot db upgrade`")
