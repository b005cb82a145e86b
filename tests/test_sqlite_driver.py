"""SQLite on either driver (storage/sqlite_thread.py, the default, and stock aiosqlite): a write that
finds the database locked by another connection waits in the connection's thread without blocking the
event loop, and gives up after its busy timeout. The default driver gives SQLAlchemy what a DBAPI cursor
gives (rows, description, row count, last row id, errors) with one hop to its thread a statement."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from storage import migrate, sqlite_thread
from storage.db import Database, SqliteDriver

DRIVERS: list[SqliteDriver] = ["thread", "aiosqlite"]

_INSERT = text(
    "INSERT INTO conversations (platform, channel_id, thread_id, customer_id, created_at, updated_at) "
    "VALUES ('shell', 'c', 't', 'u', '2025-01-01', '2025-01-01')"
)


async def _ticks_while(coro: object, interval_s: float = 0.01) -> tuple[object, int]:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(interval_s)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        result = await coro  # type: ignore[misc]
    finally:
        task.cancel()
    return result, ticks


@pytest.mark.parametrize("driver", DRIVERS)
async def test_a_locked_database_is_waited_for_without_blocking_the_loop(tmp_path: Path, driver: SqliteDriver) -> None:
    path = tmp_path / "locked.db"
    db = Database(f"sqlite+aiosqlite:///{path}", sqlite_driver=driver)
    await migrate.upgrade(db)
    other = sqlite3.connect(path, isolation_level=None)  # another process's connection, in effect
    other.execute("BEGIN IMMEDIATE")  # holds the write lock
    asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")

    async def write() -> int:
        async with db.write() as s:
            await s.execute(_INSERT)
        async with db.session() as s:
            return int((await s.execute(text("SELECT count(*) FROM conversations"))).scalar_one())

    try:
        count, ticks = await _ticks_while(write())
    finally:
        other.close()
        await db.aclose()
    assert count == 1
    assert ticks >= 10  # the loop ran all along: ~30 ticks of 10 ms while the write waited 0.3 s


@pytest.mark.parametrize("driver", DRIVERS)
async def test_a_lock_held_past_the_busy_timeout_raises(tmp_path: Path, driver: SqliteDriver) -> None:
    path = tmp_path / "held.db"
    db = Database(f"sqlite+aiosqlite:///{path}", busy_timeout_ms=100, sqlite_driver=driver)
    await migrate.upgrade(db)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError, match="locked"):
            async with db.write() as s:
                await s.execute(_INSERT)
    finally:
        other.close()
        await db.aclose()


async def _driver_connection(db: Database) -> sqlite_thread.Connection:
    async with db.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
    assert isinstance(raw, sqlite_thread.Connection)
    return raw


async def test_each_statement_is_one_hop_with_what_a_cursor_gives(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'hops.db'}")
    try:
        raw = await _driver_connection(db)  # the pool keeps this one connection: the statements below use it
        async with db.session() as s:
            await s.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
            before = raw.thread.hops
            inserted = await s.execute(text("INSERT INTO t (name) VALUES ('a'), ('b'), ('c')"))
            assert raw.thread.hops == before + 1
            assert inserted.rowcount == 3
            assert (await s.execute(text("INSERT INTO t (name) VALUES ('d')"))).lastrowid == 4
            changed = await s.execute(text("UPDATE t SET name = name || '!' WHERE id <= 2"))
            assert changed.rowcount == 2
            before = raw.thread.hops
            rows = (await s.execute(text("SELECT id, name FROM t ORDER BY id"))).all()
            assert raw.thread.hops == before + 1  # executed, fetched and closed in one go
            assert [tuple(r) for r in rows] == [(1, "a!"), (2, "b!"), (3, "c"), (4, "d")]
            returned = await s.execute(text("UPDATE t SET name = 'e' WHERE id = 4 RETURNING id, name"))
            assert returned.keys() == ["id", "name"]  # the description, kept after the cursor closed
            assert [tuple(r) for r in returned] == [(4, "e")]
            with pytest.raises(IntegrityError):
                await s.execute(text("INSERT INTO t (name) VALUES ('c')"))
    finally:
        await db.aclose()


async def test_a_rollback_undoes_and_closing_ends_the_threads(tmp_path: Path) -> None:
    before = set(threading.enumerate())  # other tests' threads may still be ending: only this database's count
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'undo.db'}")
    await migrate.upgrade(db)
    with pytest.raises(RuntimeError):
        async with db.write() as s:
            await s.execute(_INSERT)
            raise RuntimeError("after the insert")
    async with db.session() as s:
        assert (await s.execute(text("SELECT count(*) FROM conversations"))).scalar_one() == 0
    ours = [t for t in threading.enumerate() if t.name.startswith("supportbot-sqlite") and t not in before]
    assert ours
    await db.aclose()
    for t in ours:  # each thread ends once its connection is closed
        t.join(timeout=5)
    assert not [t for t in ours if t.is_alive()]


async def test_an_in_memory_database_is_one_shared_connection() -> None:
    db = Database("sqlite+aiosqlite://")
    try:
        async with db.write() as s:
            await s.execute(text("CREATE TABLE t (x)"))
            await s.execute(text("INSERT INTO t VALUES (1)"))
        async with db.session() as s:
            assert (await s.execute(text("SELECT x FROM t"))).scalar_one() == 1
    finally:
        await db.aclose()


async def test_group_commit_takes_the_write_lock_on_the_thread_then_runs_its_statements_at_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "grouped.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await migrate.upgrade(db)

    async def insert(s: AsyncSession) -> tuple[bool, int]:
        raw = (await (await s.connection()).get_raw_connection()).driver_connection
        assert isinstance(raw, sqlite_thread.Connection)
        before = raw.thread.hops
        await s.execute(_INSERT)
        await s.execute(text("SELECT count(*) FROM conversations"))
        return raw.holds_write_lock, raw.thread.hops - before

    other = sqlite3.connect(path, isolation_level=None)  # another process's connection, in effect
    other.execute("BEGIN IMMEDIATE")
    asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
    try:
        (held, hops), ticks = await _ticks_while(db.grouped(insert))
        async with db.session() as s:  # a plain transaction: its statements go to the thread again
            raw = (await (await s.connection()).get_raw_connection()).driver_connection
            assert isinstance(raw, sqlite_thread.Connection) and not raw.holds_write_lock
            before = raw.thread.hops
            count = (await s.execute(text("SELECT count(*) FROM conversations"))).scalar_one()
            assert raw.thread.hops == before + 1
    finally:
        other.close()
        await db.aclose()
    assert (held, hops) == (True, 0)  # holding the lock, the statements ran without a hop
    assert ticks >= 10  # the wait for the other connection's lock happened on the thread
    assert count == 1
