"""SQLite on the event loop's thread: a write that finds the database locked by another connection
waits without blocking the loop, and gives up after its busy timeout."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from storage import inline_sqlite, migrate
from storage.db import Database


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


async def test_a_locked_database_is_waited_for_without_blocking_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await migrate.upgrade(db)
    other = sqlite3.connect(path, isolation_level=None)  # another process's connection, in effect
    other.execute("BEGIN IMMEDIATE")  # holds the write lock
    asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")

    async def write() -> int:
        async with db.write() as s:
            await s.execute(text("INSERT INTO conversations (platform, channel_id, thread_id, customer_id, "
                                 "created_at, updated_at) VALUES ('shell', 'c', 't', 'u', '2025-01-01', "
                                 "'2025-01-01')"))
        async with db.session() as s:
            return int((await s.execute(text("SELECT count(*) FROM conversations"))).scalar_one())

    try:
        count, ticks = await _ticks_while(write())
    finally:
        other.close()
        await db.aclose()
    assert count == 1
    assert ticks >= 10  # the loop ran all along: ~30 ticks of 10 ms while the write waited 0.3 s


async def test_a_lock_held_past_the_busy_timeout_raises(tmp_path: Path) -> None:
    path = str(tmp_path / "held.db")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("CREATE TABLE t (x)")
    other.execute("BEGIN IMMEDIATE")
    connection = await inline_sqlite.connector(path, busy_timeout_s=0.1)()
    try:
        cursor = await connection.cursor()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await cursor.execute("INSERT INTO t VALUES (1)")
    finally:
        await connection.close()
        other.close()


async def test_reads_and_writes_round_trip(tmp_path: Path) -> None:
    connection = await inline_sqlite.connector(str(tmp_path / "rt.db"), busy_timeout_s=1)()
    try:
        cursor = await connection.cursor()
        await cursor.execute("CREATE TABLE t (x INTEGER)")
        await cursor.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (3,)])
        await connection.commit()
        await cursor.execute("SELECT x FROM t ORDER BY x")
        assert await cursor.fetchall() == [(1,), (2,), (3,)]
        assert cursor.description is not None
    finally:
        await connection.close()
