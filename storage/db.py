"""The async engine and session factory. SQLite runs behind SQLAlchemy's aiosqlite dialect on a thread
per connection (storage/sqlite_thread.py: one hop to that thread a statement; stock aiosqlite on
request) in WAL mode with a busy timeout, so the bot, the CLI and a second reader can share one file; a
wait for another process's lock happens in that thread, never on the event loop."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from . import sqlite_thread
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


SqliteDriver = Literal["thread", "aiosqlite"]


def create_engine(
    url: str,
    *,
    echo: bool = False,
    busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
    sqlite_driver: SqliteDriver = "thread",
) -> AsyncEngine:
    """`sqlite_driver`: "thread" (storage/sqlite_thread.py, one hop to the connection's thread a
    statement) or "aiosqlite" (stock aiosqlite, four); both behind SQLAlchemy's aiosqlite dialect."""
    kwargs: dict[str, Any] = {"echo": echo}
    if is_sqlite(url) and sqlite_driver == "thread":
        parsed = make_url(url)
        database, options = _sqlite_connect_args(parsed)

        async def connect() -> Any:
            return await sqlite_thread.connect(database, timeout=busy_timeout_ms / 1000, **options)

        kwargs["async_creator"] = connect
    elif is_sqlite(url):
        kwargs["connect_args"] = {"timeout": busy_timeout_ms / 1000}
    else:
        # No pre-ping: it costs a round trip per transaction; a connection found dead fails its statement,
        # is discarded by the pool, and the message is retried from the inbox.
        kwargs.update(pool_size=20, max_overflow=20)  # kept open: 32 messages at a time share them
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(busy_timeout_ms))
    return engine


def _sqlite_connect_args(url: URL) -> tuple[str, dict[str, Any]]:
    """The file (or URI) and sqlite3 options the aiosqlite dialect itself would open for `url`."""
    args, options = url.get_dialect()().create_connect_args(url)
    options.pop("check_same_thread", None)  # the connection is used on its own thread only
    return str(args[0]), dict(options)


class DatabaseUnavailable(Exception):
    """No connection could be made; the message names SUPPORTBOT_DATABASE_URL, where it points (password
    hidden) and why."""


SETTING = "SUPPORTBOT_DATABASE_URL"


def _cause(exc: BaseException) -> BaseException:
    while (orig := getattr(exc, "orig", None)) is not None:  # SQLAlchemy's wrapper → the driver's error
        exc = orig
    return exc


def sqlite_path_problem(url: str) -> str | None:
    """Why the SQLite file of `url` cannot be opened, when that can be told without opening it (a missing
    folder, no permission); None for an in-memory database or a path that looks usable."""
    path = Path(make_url(url).database or "")
    if not is_sqlite(url) or str(path) in ("", ":memory:"):
        return None
    if not path.parent.is_dir():
        return f"the folder {path.parent} does not exist"
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return "permission denied"
    return None


def sqlite_open_error(url: str, exc: BaseException | None = None) -> str:
    why = sqlite_path_problem(url)
    if why is None:
        cause = _cause(exc) if exc is not None else None
        why = (str(cause).splitlines() or [type(cause).__name__])[0] if cause is not None else "cannot be opened"
    return f"cannot open the SQLite database {Path(make_url(url).database or '')} ({SETTING}): {why}"


def explain_connection_error(url: str, exc: BaseException) -> str:
    if is_sqlite(url):
        return sqlite_open_error(url, exc)
    parsed = make_url(url)
    cause = _cause(exc)
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

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
        sqlite_driver: SqliteDriver = "thread",
    ) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo, busy_timeout_ms=busy_timeout_ms, sqlite_driver=sqlite_driver)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time; queueing writers here beats its sleeping busy handler.
        self._write_lock = asyncio.Lock() if is_sqlite(url) else None
        self.busy_timeout_s = busy_timeout_ms / 1000  # how long a statement waits for another process's lock
        # Short writes of concurrent messages share transactions (one writer on SQLite; a few connections
        # on PostgreSQL, so its round trips overlap).
        self.grouped = GroupCommit(self._grouped_write, flushers=1 if self._write_lock is not None else 4)

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

    @asynccontextmanager
    async def _grouped_write(self) -> AsyncIterator[AsyncSession]:
        """Group commit's transaction: on SQLite's own driver, the write lock is taken first and the
        statements then run without a hop each (`sqlite_thread.Connection.begin_write`)."""
        async with self.write() as session:
            if self._write_lock is not None:
                raw = (await (await session.connection()).get_raw_connection()).driver_connection
                if isinstance(raw, sqlite_thread.Connection):
                    await raw.begin_write()
            yield session

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection; failing to make one raises DatabaseUnavailable saying where and why."""
        if sqlite_path_problem(self.url) is not None:
            # Told before aiosqlite tries: its failed connect leaves a worker thread that posts to the event
            # loop after a command has already closed it (a traceback after the one-line error).
            raise DatabaseUnavailable(sqlite_open_error(self.url))
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
