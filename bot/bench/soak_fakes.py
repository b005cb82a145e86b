"""The soak's stand-ins for Slack's Web API and Gemini, each injecting faults at the rates of `Faults`:
`chat.postMessage` refuses some posts with 429 (Retry-After) or 500/503 before storing them, and some
`generateContent` calls fail with 500 or are held past the bot's model timeout."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .fakes import FakeGeminiApi, LocalServer
from .rate_budget import _answer as gemini_answer


@dataclass(frozen=True)
class Faults:
    slack_429: float = 0.05
    slack_5xx: float = 0.03
    model_5xx: float = 0.05
    model_timeout: float = 0.02


class SoakSlack(LocalServer):
    """The Web API the bot calls, with faults: stores what is posted and answers thread look-ups."""

    shutdown_timeout = 5.0  # the bot is stopped first; nothing worth waiting for is left

    def __init__(self, faults: Faults, rng: random.Random) -> None:
        super().__init__()
        self.faults, self.rng = faults, rng
        self.injected: Counter[str] = Counter()
        self.posted: list[dict[str, Any]] = []
        self._ts = itertools.count(1)

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/{method}", self._api), web.get("/api/{method}", self._api)]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)  # GET (conversations.replies) and POST alike
        args.update(await request.json() if request.content_type == "application/json" else await request.post())
        if method == "auth.test":
            return web.json_response(
                {"ok": True, "team_id": "TSOAK", "user_id": "UBOT", "bot_id": "BBOT", "user": "supportbot"}
            )
        if method == "chat.postMessage":
            roll = self.rng.random()
            if roll < self.faults.slack_429:
                self.injected["slack_429"] += 1
                return web.json_response(
                    {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
                )
            if roll < self.faults.slack_429 + self.faults.slack_5xx:
                self.injected["slack_5xx"] += 1
                return web.Response(status=self.rng.choice((500, 503)), text="upstream error")
            metadata = args.get("metadata")
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            ts = f"1800000000.{next(self._ts):06d}"
            self.posted.append(
                {
                    "channel": args.get("channel"),
                    "thread_ts": args.get("thread_ts"),
                    "ts": ts,
                    "text": args.get("text", ""),
                    "metadata": metadata,
                    "at": time.monotonic(),
                }
            )
            return web.json_response({"ok": True, "channel": args.get("channel"), "ts": ts})
        if method == "conversations.replies":
            oldest = float(args.get("oldest") or 0)
            messages = [
                {
                    "type": "message",
                    "user": "UBOT",
                    "bot_id": "BBOT",
                    "ts": m["ts"],
                    "text": m["text"],
                    "thread_ts": m["thread_ts"],
                    "metadata": m["metadata"],
                }
                for m in self.posted
                if m["channel"] == args.get("channel") and m["thread_ts"] == args.get("ts") and float(m["ts"]) >= oldest
            ]
            return web.json_response({"ok": True, "messages": messages, "has_more": False})
        return web.json_response({"ok": True})


class SoakGemini(FakeGeminiApi):
    """Gemini's generateContent with faults: some calls fail with 500, some outlast the bot's timeout."""

    shutdown_timeout = 5.0

    def __init__(self, faults: Faults, rng: random.Random, *, hold_s: float) -> None:
        super().__init__(gemini_answer)
        self.faults, self.rng, self.hold_s = faults, rng, hold_s
        self.injected: Counter[str] = Counter()

    async def _generate(self, request: web.Request) -> web.Response:
        await request.read()  # before holding it: the bot gives up on a held call and closes the connection
        roll = self.rng.random()
        if roll < self.faults.model_5xx:
            self.injected["model_5xx"] += 1
            return web.json_response({"error": {"code": 500, "message": "internal", "status": "INTERNAL"}}, status=500)
        if roll < self.faults.model_5xx + self.faults.model_timeout:
            self.injected["model_timeout"] += 1
            await asyncio.sleep(self.hold_s)
        await asyncio.sleep(0.02)  # a fast model: the run is about faults, not latency
        return await super()._generate(request)
