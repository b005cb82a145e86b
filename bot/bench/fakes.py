"""Tiny local stand-ins for the Slack Web API and the Gemini API, on aiohttp at 127.0.0.1.

The test suite has fuller fakes (tests/fakes/), but an installed `supportbot bench` cannot import the
tests; these answer just what the benchmarks call, and record when each request arrived.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Self

from aiohttp import web

Answer = Callable[[str, str], Awaitable[dict[str, Any]]]  # (system instruction, prompt text) → the JSON to return


@asynccontextmanager
async def local_server(app: web.Application) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 at a free port; yields the base URL (http://127.0.0.1:PORT)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


class LocalServer:
    """An aiohttp app on 127.0.0.1 at a free port while entered (`async with`). Subclasses give
    `routes()`, and close their own long-lived connections (websockets, held requests) in
    `close_connections()`, which runs before the server stops."""

    port = 0
    shutdown_timeout = 60.0
    _runner: web.AppRunner | None = None

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    async def close_connections(self) -> None:
        return None

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=self.shutdown_timeout)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close_connections()
        if self._runner is not None:
            await self._runner.cleanup()


class FakeSlackApi(LocalServer):
    """`POST /api/{method}`: auth.test, chat.postMessage (a fresh ts each), anything else `ok`."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[str, int] = {}
        self._ts = itertools.count(1)

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/{method}", self._api)]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        await request.read()
        self.calls[method] = self.calls.get(method, 0) + 1
        body: dict[str, Any] = {"ok": True}
        if method == "auth.test":
            body.update(team_id="TBENCH", user_id="UBOT", bot_id="BBOT", user="supportbot")
        elif method == "chat.postMessage":
            body.update(ts=f"1800000000.{next(self._ts):06d}")
        return web.json_response(body)


class FakeGeminiApi(LocalServer):
    """`POST …/models/{model}:generateContent`, answering `answer(system, prompt)` as the JSON text part;
    records the event-loop time each request arrived (the clock aiolimiter uses)."""

    def __init__(self, answer: Answer) -> None:
        super().__init__()
        self.answer = answer
        self.arrivals: list[float] = []

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/{tail:.*}", self._generate)]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _generate(self, request: web.Request) -> web.Response:
        self.arrivals.append(asyncio.get_running_loop().time())
        body = await request.json()
        system = "".join(p.get("text", "") for p in (body.get("systemInstruction") or {}).get("parts", []))
        prompt = "\n".join(p.get("text", "") for c in body.get("contents", []) for p in c.get("parts", []))
        text = json.dumps(await self.answer(system, prompt))
        return web.json_response(
            {
                "candidates": [
                    {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}
                ],
                "usageMetadata": {"promptTokenCount": len(prompt) // 4, "candidatesTokenCount": len(text) // 4},
            }
        )
