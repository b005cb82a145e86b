"""`supportbot db backup PATH`: a consistent copy of a live SQLite database, taken by another process
while the bot writes; restoring it (stop, replace the file, start) brings everything back."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.customers import CustomerId, export_customer
from bot.wiring import open_services, shell_chat
from storage import inbox
from tests.support import command_line, environment


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'live.db'}"


async def _write_pairs(services: Any, stop: asyncio.Event, written: list[int]) -> None:
    """Each transaction stores a customer message and its reply: a consistent copy never has one alone."""
    n = 0
    while not stop.is_set():
        async with services.db.write() as s:
            stored = await inbox.store_inbound(
                s,
                platform="shell",
                channel_id="c",
                thread_id=f"t{n}",
                customer_id="u",
                platform_message_id=uuid.uuid4().hex,
                author_id="u",
                text=f"message {n} " + "x" * 500,
            )
            message = await inbox.get_message(s, stored.id)
            assert message is not None
            await inbox.add_reply(s, inbound=message, text=f"reply {n}")
        n += 1
        written.append(n)
        await asyncio.sleep(0.002)


@pytest.mark.slow  # the real `supportbot` in a subprocess
async def test_backup_of_a_live_database_is_consistent(tmp_path: Path, sqlite_url: str, make_settings: Any) -> None:
    target = tmp_path / "copy.db"
    async with open_services(make_settings(SUPPORTBOT_DATABASE_URL=sqlite_url)) as services:
        stop, written = asyncio.Event(), []
        writer = asyncio.create_task(_write_pairs(services, stop, written))
        while len(written) < 50:
            assert not writer.done(), writer.exception()
            await asyncio.sleep(0.01)
        before = len(written)
        process = await asyncio.create_subprocess_exec(
            *command_line(),
            "db",
            "backup",
            str(target),
            cwd=tmp_path,
            env=environment(tmp_path, SUPPORTBOT_DATABASE_URL=sqlite_url),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        stop.set()
        await writer
        after = len(written)
    assert process.returncode == 0, err.decode()
    assert out.decode().startswith(f"backed up to {target}")
    copy = sqlite3.connect(target)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
        customers = copy.execute("SELECT count(*) FROM messages WHERE role = 'customer'").fetchone()[0]
        replies = copy.execute("SELECT count(*) FROM messages WHERE role = 'bot'").fetchone()[0]
    finally:
        copy.close()
    assert before <= customers <= after and replies == customers
    assert not Path(str(target) + "-wal").exists()


def test_backup_delete_restore_brings_everything_back(
    tmp_path: Path, sqlite_url: str, make_settings: Any, env_clean: Path
) -> None:
    live = Path(sqlite_url.split("///", 1)[1])
    backup = tmp_path / "backups" / "supportbot-1.db"
    backup.parent.mkdir()

    async def seed() -> dict[str, Any]:
        async with open_services(make_settings(SUPPORTBOT_DATABASE_URL=sqlite_url)) as services:
            await shell_chat(services, user_id="ann").send("I was charged twice on invoice INV-77120")
            await shell_chat(services, user_id="ann").send("Where is my order A-12345?")
            return await export_customer(services.db, CustomerId.parse("shell:ann"))

    async def read() -> dict[str, Any]:
        async with open_services(make_settings(SUPPORTBOT_DATABASE_URL=sqlite_url)) as services:
            return await export_customer(services.db, CustomerId.parse("shell:ann"))

    original = asyncio.run(seed())
    assert original["cases"] and original["messages"]
    runner = CliRunner()
    env = {"SUPPORTBOT_DATABASE_URL": sqlite_url, "SUPPORTBOT_LLM": "offline"}
    result = runner.invoke(main, ["db", "backup", str(backup)], env=env)
    assert result.exit_code == 0, result.output

    again = runner.invoke(main, ["db", "backup", str(backup)], env=env)  # no silent overwrite
    assert again.exit_code == 1 and "--force" in again.stderr

    for path in (live, Path(f"{live}-wal"), Path(f"{live}-shm")):  # the database is lost
        path.unlink(missing_ok=True)
    assert asyncio.run(read())["cases"] == []

    for path in (live, Path(f"{live}-wal"), Path(f"{live}-shm")):  # restore, as docs/operations.md says
        path.unlink(missing_ok=True)
    shutil.copyfile(backup, live)
    restored = asyncio.run(read())
    original.pop("exported_at"), restored.pop("exported_at")
    assert json.dumps(restored, sort_keys=True) == json.dumps(original, sort_keys=True)


def test_backup_refuses_postgresql_and_points_to_pg_dump(env_clean: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["db", "backup", "x.db"],
        env={"SUPPORTBOT_DATABASE_URL": "postgresql+asyncpg://bot:secret@127.0.0.1:5432/support"},
    )
    assert result.exit_code == 1
    assert "pg_dump" in result.stderr and "secret" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
