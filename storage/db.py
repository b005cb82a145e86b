"""The async engine and session factory. SQLite runs in WAL mode with a busy timeout so the bot,
the CLI and a second reader can share one file; its calls run on the event loop's thread
(`inline_sqlite`) instead of a thread per connection."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from . import inline_sqlite

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


def _uses_inline(url: str) -> bool:
    parsed = make_url(url)
    return is_sqlite(url) and bool(parsed.database) and not parsed.query


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    kwargs: dict[str, Any] = {"echo": echo}
    parsed = make_url(url)
    busy_timeout_ms = SQLITE_BUSY_TIMEOUT_MS
    if _uses_inline(url):
        kwargs["async_creator"] = inline_sqlite.connector(parsed.database or ":memory:",
                                                          busy_timeout_s=SQLITE_BUSY_TIMEOUT_MS / 1000)
        busy_timeout_ms = 0  # the inline connection waits for locks itself, without blocking the loop
    elif is_sqlite(url):  # URI-style options: plain aiosqlite understands them
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(busy_timeout_ms))
    return engine


class DatabaseUnavailable(Exception):
    """No connection could be made; the message names SUPPORTBOT_DATABASE_URL, where it points (password
    hidden) and why."""


SETTING = "SUPPORTBOT_DATABASE_URL"


def _cause(exc: BaseException) -> BaseException:
    while (orig := getattr(exc, "orig", None)) is not None:  # SQLAlchemy's wrapper → the driver's error
        exc = orig
    return exc


def explain_connection_error(url: str, exc: BaseException) -> str:
    parsed = make_url(url)
    cause = _cause(exc)
    if is_sqlite(url):
        path = Path(parsed.database or "")
        if not path.parent.is_dir():
            why = f"the folder {path.parent} does not exist"
        elif not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            why = "permission denied"
        else:
            why = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        return f"cannot open the SQLite database {path} ({SETTING}): {why}"
    name = type(cause).__name__
    if isinstance(cause, ConnectionRefusedError) or "Connect call failed" in str(cause):
        why = "connection refused"
    elif isinstance(cause, socket.gaierror):
        why = "host name not found"
    elif isinstance(cause, TimeoutError):
        why = "timed out"
    elif name == "InvalidPasswordError":
        why = "password authentication failed"
    elif name == "InvalidCatalogNameError":
        why = f"database {parsed.database!r} does not exist"
    else:
        why = (str(cause).splitlines() or [name])[0]
    place = parsed.set(drivername=parsed.get_backend_name()).render_as_string(hide_password=True)
    return f"cannot connect to the database at {SETTING}={place} ({why})"


class Database:
    """Owns the engine; `async with db.session() as s` gives a session that commits on success."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time; queueing writers here beats its sleeping busy handler.
        self._write_lock = asyncio.Lock() if is_sqlite(url) else None
        self._inline = self.engine.dialect.name == "sqlite" and _uses_inline(url)
        # How long a statement waits for another process's SQLite lock (PRAGMA busy_timeout reads 0 on
        # inline connections: they wait with async sleeps instead, see inline_sqlite).
        self.busy_timeout_s = SQLITE_BUSY_TIMEOUT_MS / 1000

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        if self._inline:
            # Inline SQLite calls never suspend: let waiting work (an HTTP request to acknowledge) run
            # between transactions, so no task holds the event loop for a whole message.
            await asyncio.sleep(0)
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

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection; failing to make one raises DatabaseUnavailable saying where and why."""
        conn = self.engine.connect()
        try:
            await conn.start()
        except Exception as exc:
            raise DatabaseUnavailable(explain_connection_error(self.url, exc)) from exc
        try:
            yield conn
        finally:
            await conn.close()

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
