"""The async engine and session factory. SQLite runs on stock aiosqlite (a thread per connection) in
WAL mode with a busy timeout, so the bot, the CLI and a second reader can share one file; a wait for
another process's lock happens in that thread, never on the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from .group_commit import GroupCommit

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return on_connect


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, echo: bool = False, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> AsyncEngine:
    kwargs: dict[str, Any] = {"echo": echo}
    if is_sqlite(url):
        kwargs["connect_args"] = {"timeout": busy_timeout_ms / 1000}
    else:
        # No pre-ping: it costs a round trip per transaction; a connection found dead fails its statement,
        # is discarded by the pool, and the message is retried from the inbox.
        kwargs.update(pool_size=20, max_overflow=20)  # kept open: 32 messages at a time share them
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(busy_timeout_ms))
    return engine


class Database:
    """Owns the engine; `async with db.session() as s` gives a session that commits on success."""

    def __init__(self, url: str, *, echo: bool = False, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo, busy_timeout_ms=busy_timeout_ms)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time; queueing writers here beats its sleeping busy handler.
        self._write_lock = asyncio.Lock() if is_sqlite(url) else None
        self.busy_timeout_s = busy_timeout_ms / 1000  # how long a statement waits for another process's lock
        # Short writes of concurrent messages share transactions (one writer on SQLite; a few connections
        # on PostgreSQL, so its round trips overlap).
        self.grouped = GroupCommit(self.write, flushers=1 if self._write_lock is not None else 4)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session for a write transaction (serialised in-process on SQLite)."""
        if self._write_lock is None:
            async with self.session() as session:
                yield session
            return
        async with self._write_lock, self.session() as session:
            yield session

    async def ping(self) -> bool:
        from sqlalchemy import text

        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def aclose(self) -> None:
        await self.engine.dispose()
