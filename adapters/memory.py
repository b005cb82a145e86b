"""An in-memory platform: what the core delivers goes to a callback (benchmarks, tests of the core).
Cards and notices are kept in lists."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from .platform import Card, Outbound

Deliver = Callable[[Outbound], Awaitable[str]]


class MemoryPlatform:
    def __init__(self, name: str, deliver: Deliver | None = None) -> None:
        self.name = name
        self._deliver = deliver
        self.delivered: list[Outbound] = []
        self.cards: list[tuple[str, Card]] = []  # (channel, card), updates appended
        self.notices: list[str] = []
        self.connected = True  # a test may switch it off

    def routes(self) -> list[web.RouteDef]:
        return []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def deliver(self, out: Outbound) -> str:
        posted = await self._deliver(out) if self._deliver is not None else f"{self.name}-{out.reply_id}"
        self.delivered.append(out)
        return posted

    async def post_card(self, card: Card, *, channel_id: str, key: int) -> str:
        self.cards.append((channel_id, card))
        return f"card-{key}"

    async def update_card(self, card: Card, *, channel_id: str, message_id: str) -> None:
        self.cards.append((channel_id, card))

    async def notify(self, text: str, *, channel_id: str, thread_id: str = "", key: int = 0) -> str:
        self.notices.append(text)
        return f"notice-{key}"

    async def permalink(self, channel_id: str, thread_id: str) -> str:
        return f"memory://{self.name}/{channel_id}/{thread_id}"
