"""An aiosqlite-compatible connection that runs SQLite on the event loop's own thread.

aiosqlite gives every connection a thread and sends each call there and back; SQLAlchemy makes three
or four such calls per statement (cursor, execute, fetch, close), so every statement paid ~0.3 ms of
thread hand-offs and GIL switches while the work itself takes microseconds (a local file, WAL mode,
no fsync per commit). Running the calls inline removes that, and with it the latency each write
transaction adds while it holds the database's write lock.

The one thing a thread was good for is waiting: another process holding SQLite's write lock. Here the
connection's busy timeout is zero and a call that finds the database busy is retried after an async
sleep (1 ms doubling to 50 ms, up to `busy_timeout_s`), so the loop keeps serving while it waits. A
statement that got SQLITE_BUSY changed nothing, so retrying it is safe; BUSY_SNAPSHOT (a read
transaction that can no longer become a write) cannot be waited out and is raised at once.

Plugged in with `create_async_engine(..., async_creator=connector(path))`; SQLAlchemy's aiosqlite
dialect drives it like an aiosqlite connection.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

R = TypeVar("R")

SQLITE_BUSY = 5
SQLITE_BUSY_SNAPSHOT = 517
_FIRST_DELAY_S = 0.001
_MAX_DELAY_S = 0.05


async def _when_not_busy(call: Callable[[], R], timeout_s: float) -> R:
    try:
        return call()
    except sqlite3.OperationalError as exc:
        if not _is_busy(exc):
            raise
    loop = asyncio.get_running_loop()
    deadline, delay = loop.time() + timeout_s, _FIRST_DELAY_S
    while True:
        await asyncio.sleep(delay)
        delay = min(delay * 2, _MAX_DELAY_S)
        try:
            return call()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or loop.time() >= deadline:
                raise


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:  # no error code on this Python: go by the message
        return "database is locked" in str(exc)
    return bool(code & 0xFF == SQLITE_BUSY and code != SQLITE_BUSY_SNAPSHOT)


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor, busy_timeout_s: float) -> None:
        self._cursor = cursor
        self._busy_timeout_s = busy_timeout_s

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        args = (sql,) if parameters is None else (sql, parameters)
        await _when_not_busy(lambda: self._cursor.execute(*args), self._busy_timeout_s)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        rows = list(parameters)  # a retry must see the same rows again
        await _when_not_busy(lambda: self._cursor.executemany(sql, rows), self._busy_timeout_s)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _CursorFactory:
    """`connection.cursor()` is awaited by SQLAlchemy and entered with `async with` by others."""

    def __init__(self, connection: InlineConnection) -> None:
        self._connection = connection

    def _make(self) -> InlineCursor:
        return InlineCursor(self._connection._conn.cursor(), self._connection.busy_timeout_s)

    def __await__(self) -> Any:
        return _ready(self._make()).__await__()

    async def __aenter__(self) -> InlineCursor:
        return self._make()

    async def __aexit__(self, *exc: object) -> None:
        return None


async def _ready(value: R) -> R:
    return value


class InlineConnection:
    """The subset of `aiosqlite.Connection` that SQLAlchemy's aiosqlite dialect uses."""

    def __init__(self, connection: sqlite3.Connection, *, busy_timeout_s: float) -> None:
        self._connection: sqlite3.Connection | None = connection
        self.busy_timeout_s = busy_timeout_s

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @property
    def _tx(self) -> _Immediate:  # SQLAlchemy sets isolation_level through aiosqlite's call queue
        return _Immediate()

    def cursor(self) -> _CursorFactory:
        return _CursorFactory(self)

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        cursor: InlineCursor = await self.cursor()
        return await cursor.execute(sql, parameters)

    async def commit(self) -> None:
        await _when_not_busy(self._conn.commit, self.busy_timeout_s)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class _Immediate:
    """Runs what is queued at once (stands in for aiosqlite's queue to its thread)."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:
            if future is not None:
                future.set_exception(exc)
            return
        if future is not None:
            future.set_result(result)


def connector(database: str, *, busy_timeout_s: float) -> Callable[[], Awaitable[InlineConnection]]:
    """An `async_creator` for `create_async_engine` opening `database` (a file path or ':memory:')."""

    async def connect() -> InlineConnection:
        # timeout=0: waits for other processes' locks happen in _when_not_busy, off the loop's clock.
        # isolation_level="" and check_same_thread=False are what aiosqlite under SQLAlchemy uses.
        raw = sqlite3.connect(database, timeout=0, isolation_level="",  # type: ignore[call-overload]  # "": BEGIN
                              check_same_thread=False)
        return InlineConnection(raw, busy_timeout_s=busy_timeout_s)

    return connect


__all__: Sequence[str] = ("InlineConnection", "connector")
