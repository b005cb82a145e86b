"""SQLite for SQLAlchemy's aiosqlite dialect with one hop to the database's thread per statement.

SQLAlchemy drives stock aiosqlite with four hops between the event loop and the connection's thread
per statement (open a cursor, execute, fetch the rows, close the cursor), each a wake-up of the thread
and then of the event loop. At 32 conversations a group-commit flusher runs about eleven statements a
message one after another, so those hops, not SQLite, set the pace (docs/performance.md). This module
offers the same thread-per-connection design with one hop a statement: the thread executes, fetches
every row, notes the description, row count and last row id, and closes the cursor in one go; the
cursor the event loop sees only hands those out. Inside a short write transaction begun with
`begin_write()` (group commit's), statements skip even that hop (see there).

It is built on public APIs only: the standard library's `sqlite3`, and SQLAlchemy's `async_creator`
hook, which lets the aiosqlite dialect drive any connection that offers aiosqlite's interface (the
part of it that the dialect calls: `cursor()`, `commit()`, `rollback()`, `close()`, `stop()`,
`create_function()`, `isolation_level`). As with aiosqlite, a wait for another process's lock happens on the
connection's thread, never on the event loop. `storage.db.create_engine(..., sqlite_driver="aiosqlite")`
runs stock aiosqlite instead; the benchmark measures both.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class _Thread:
    """One thread that owns one sqlite3 connection and runs what the event loop sends it, in order."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="supportbot-sqlite")
        self.hops = 0  # calls sent to the thread (what the tests count)

    async def call(self, fn: Callable[[], T]) -> T:
        self.hops += 1
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def stop(self) -> None:
        self._executor.shutdown(wait=False)


class Cursor:
    """A statement's outcome, read on the connection's thread in the same hop as its execution."""

    arraysize = 1

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _take(self, cursor: sqlite3.Cursor) -> Cursor:
        try:
            self.description = cursor.description
            self._rows = cursor.fetchall() if cursor.description else []
            self.rowcount = cursor.rowcount
            self.lastrowid = cursor.lastrowid
        finally:
            cursor.close()
        return self

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> Cursor:
        conn = self._connection.sqlite
        return await self._connection.run(lambda: self._take(conn.execute(sql, parameters)))

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any] | dict[str, Any]]) -> Cursor:
        conn = self._connection.sqlite
        rows = list(parameters)
        return await self._connection.run(lambda: self._take(conn.executemany(sql, rows)))

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = self.arraysize if size is None else size
        out, self._rows = self._rows[:size], self._rows[size:]
        return out

    async def fetchall(self) -> list[Any]:
        out, self._rows = self._rows, []
        return out

    async def close(self) -> None:
        self._rows = []


class Connection:
    """An open SQLite connection on a thread of its own (see the module docstring)."""

    def __init__(self, thread: _Thread, sqlite: sqlite3.Connection, *, busy_timeout_ms: int) -> None:
        self.thread = thread
        self.sqlite = sqlite
        self.busy_timeout_ms = busy_timeout_ms
        self._closed = False
        self.holds_write_lock = False  # between begin_write() and the end of its transaction

    async def run(self, fn: Callable[[], T]) -> T:
        """A statement: on the connection's thread, or at once while this connection holds the write lock."""
        return fn() if self.holds_write_lock else await self.thread.call(fn)

    async def begin_write(self) -> None:
        """Begin a write transaction (`BEGIN IMMEDIATE`). Until it ends, its statements run at once on the
        caller's thread: holding the write lock in WAL mode, a statement waits for no other connection,
        and a short one costs tens of microseconds, less than a hop to the thread and back through a
        busy event loop. For short writes only (group commit's); the commit, which may checkpoint the
        WAL to disk, goes to the thread.

        The lock is tried at once, without waiting: free, it costs no hop (and is not held across one).
        Held by another process, the wait happens on the connection's thread, polling every few hundred
        microseconds instead of SQLite's own busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25 ms … and
        so often oversleeps a lock that a short transaction held for a millisecond."""
        if not self._try_begin():
            await self.thread.call(self._begin_waiting)
        self.holds_write_lock = True

    def _try_begin(self) -> bool:
        self.sqlite.execute("PRAGMA busy_timeout = 0")
        try:
            self.sqlite.execute("BEGIN IMMEDIATE")
            return True
        except sqlite3.OperationalError as e:
            if e.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                raise
            return False
        finally:
            self.sqlite.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")

    def _begin_waiting(self) -> None:
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        pause = 0.0002
        while not self._try_begin():
            if time.monotonic() >= deadline:
                raise sqlite3.OperationalError("database is locked")
            time.sleep(pause)
            pause = min(pause * 2, 0.002)

    @property
    def _connection(self) -> sqlite3.Connection | None:
        # aiosqlite's name for the open connection (None once closed): the dialect checks it before a
        # commit or rollback.
        return None if self._closed else self.sqlite

    @property
    def isolation_level(self) -> str | None:
        return self.sqlite.isolation_level

    def cursor(self) -> Cursor:
        """The dialect enters it (`async with`), as it does aiosqlite's."""
        return Cursor(self)

    async def commit(self) -> None:
        self.holds_write_lock = False
        await self.thread.call(self.sqlite.commit)

    async def rollback(self) -> None:
        self.holds_write_lock = False
        await self.thread.call(self.sqlite.rollback)

    async def create_function(self, name: str, num_params: int, func: Callable[..., Any], **kw: Any) -> None:
        await self.thread.call(lambda: self.sqlite.create_function(name, num_params, func, **kw))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.holds_write_lock = False
        try:
            await self.thread.call(self.sqlite.close)
        finally:
            self.thread.stop()

    def stop(self) -> None:
        """Ends the thread without waiting (the dialect's forced termination); the connection closes with it."""
        self._closed = True
        self.thread.stop()


async def connect(database: str, *, timeout: float = 5.0, **kwargs: Any) -> Connection:
    """Open `database` (sqlite3.connect's arguments; `timeout`: how long a statement waits for another
    connection's lock) on a new thread."""
    thread = _Thread()
    try:
        sqlite = await thread.call(
            lambda: sqlite3.connect(database, timeout=timeout, check_same_thread=False, **kwargs)
        )
    except BaseException:
        thread.stop()
        raise
    return Connection(thread, sqlite, busy_timeout_ms=int(timeout * 1000))
