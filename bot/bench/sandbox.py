"""A throw-away environment per benchmark: a temporary SQLite file and settings that point at it,
so a benchmark never touches the configured database."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from adapters.memory import MemoryPlatform
from adapters.platform import Inbound, Outbound
from bot.settings import Settings
from bot.wiring import Services, open_services
from storage.db import SqliteDriver
from workflows.llm.base import LLMClient

PLATFORM = "bench"


def bench_settings(db_file: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "SUPPORTBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db_file}",
        "SUPPORTBOT_LLM": "offline",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


class BenchPlatform(MemoryPlatform):
    """The in-memory platform without its record of deliveries: a run of 10,000 messages kept every reply
    (about 1.3 KB each), and the RSS-growth figure measured that list instead of the bot."""

    def __init__(self, name: str, deliver: Callable[[Outbound], Awaitable[str]]) -> None:
        super().__init__(name)
        self._send = deliver

    async def deliver(self, out: Outbound) -> str:
        return await self._send(out)


@asynccontextmanager
async def bench_services(
    *,
    llm: LLMClient | None = None,
    concurrency: int = 32,
    on_deliver: Callable[[Outbound], None] | None = None,
    sqlite_driver: SqliteDriver = "thread",
    **overrides: object,
) -> AsyncIterator[Services]:
    """Wired services on a fresh SQLite file (deleted afterwards); replies are 'delivered' in memory
    (`on_deliver` sees each one as it is posted)."""

    async def deliver(out: Outbound) -> str:
        if on_deliver is not None:
            on_deliver(out)
        return f"bench-{out.reply_id}"

    with tempfile.TemporaryDirectory(prefix="supportbot-bench-") as folder:
        settings = bench_settings(Path(folder) / "bench.db", **overrides)
        async with open_services(
            settings, llm=llm, use_settings_llm=False, concurrency=concurrency, sqlite_driver=sqlite_driver
        ) as services:
            services.add_platform(BenchPlatform(PLATFORM, deliver))
            yield services


def customer_message(index: int, text: str, *, run: str = "") -> Inbound:
    """Message `index` of a run, in its own conversation (thread) with its own customer."""
    return Inbound(
        platform=PLATFORM,
        channel_id="bench",
        thread_id=f"{run}t{index}",
        user_id=f"{run}u{index}",
        text=text,
        message_id=f"{run}m{index}",
    )
