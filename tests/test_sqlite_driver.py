"""SQLite on stock aiosqlite: a write that finds the database locked by another connection waits in
the connection's thread without blocking the event loop, and gives up after its busy timeout."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from storage import migrate
from storage.db import Database

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


async def test_a_locked_database_is_waited_for_without_blocking_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
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


async def test_a_lock_held_past_the_busy_timeout_raises(tmp_path: Path) -> None:
    path = tmp_path / "held.db"
    db = Database(f"sqlite+aiosqlite:///{path}", busy_timeout_ms=100)
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
