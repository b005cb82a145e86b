"""Slack's side of the acknowledgement benchmark, in processes of its own as Slack is
(`python -m bot.bench.slack_side EVENTS FIRST ROLE`), so that none of Slack's work is charged to the
bot: role `api` is the Web API the bot calls (a local fake), role `events` the sender of signed
`message` events. They are two processes because they are two systems at Slack: in one, the sender's
event loop also served the bot's :eyes:, status and reply calls, and its own queue showed up in the
acknowledgement times (p99 over 50 ms in 4 of 15 runs; 1 of 10 with the two apart). `Sender` is also
usable inside the bot's process.

Line protocol on stdin/stdout (the signing secret in SUPPORTBOT_BENCH_SECRET). `api`: prints
`api <base url>`; `calls` prints the Web API call counts as JSON. `events`: the parent sends the events
URL; the child opens its connections (url_verification requests, which need no pipeline work) and
prints `ready`; `go` sends a burst of new events (answer: one JSON line
`{"results": [[status, seconds], …]}`). `quit` (or end of input) stops either.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

import aiohttp
from slack_sdk.signature import SignatureVerifier

from .fakes import FakeSlackApi

SECRET_ENV = "SUPPORTBOT_BENCH_SECRET"


def signed_headers(body: str, secret: str) -> dict[str, str]:
    ts = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature, "Content-Type": "application/json"}


def event_body(i: int, text: str) -> str:
    ts = f"1700000000.{i:06d}"
    event = {
        "type": "message",
        "channel_type": "channel",
        "user": f"UCUST{i}",
        "text": text,
        "ts": ts,
        "channel": "CBENCH",
        "event_ts": ts,
        "team": "TBENCH",
    }
    return json.dumps(
        {
            "token": "legacy",
            "team_id": "TBENCH",
            "api_app_id": "ABENCH",
            "type": "event_callback",
            "event": event,
            "event_id": f"EvBENCH{i:06d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "TBENCH", "user_id": "UBOT", "is_bot": True}],
        }
    )


TEXTS = (
    "Where is my order #A-55120? It was supposed to arrive on Monday.",
    "I was charged twice on invoice INV-20431, please check.",
    "I want to return the Aurora Desk Lamp because it flickers all the time.",
)


class Sender:
    """Keeps `events` connections open to `url`; `send()` posts that many signed events at once."""

    def __init__(self, url: str, secret: str, events: int) -> None:
        self.url, self.secret, self.events = url, secret, events
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Sender:
        self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self.events))
        # Open the connections first, as Slack keeps its connections alive.
        challenge = json.dumps({"token": "legacy", "challenge": "warm", "type": "url_verification"})
        await asyncio.gather(
            *(self._post(challenge, signed_headers(challenge, self.secret)) for _ in range(self.events))
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.close()

    async def _post(self, body: str, headers: dict[str, str]) -> tuple[int, float]:
        assert self._http is not None
        started = time.perf_counter()
        async with self._http.post(self.url, data=body.encode(), headers=headers) as response:
            await response.read()
        return response.status, time.perf_counter() - started

    async def send(self, first: int) -> list[tuple[int, float]]:
        # Signed beforehand, as Slack signs on its side: only sending is inside the timing.
        bodies = [event_body(first + i, TEXTS[i % len(TEXTS)]) for i in range(self.events)]
        signed = [(body, signed_headers(body, self.secret)) for body in bodies]
        return list(await asyncio.gather(*(self._post(body, headers) for body, headers in signed)))


async def _child(events: int, first: int, role: str) -> None:
    loop = asyncio.get_running_loop()

    async def line() -> str:
        return (await loop.run_in_executor(None, sys.stdin.readline)).strip()

    if role == "api":
        async with FakeSlackApi() as api:
            print(f"api {api.base_url}", flush=True)
            while command := await line():
                if command == "calls":
                    print(json.dumps(api.calls), flush=True)
                elif command == "quit":
                    break
        return
    url = await line()
    async with Sender(url, os.environ[SECRET_ENV], events) as sender:
        print("ready", flush=True)
        while command := await line():
            if command == "go":  # each burst its own messages: a repeat would be deduplicated
                print(json.dumps({"results": await sender.send(first)}), flush=True)
                first += events
            elif command == "quit":
                break


if __name__ == "__main__":
    asyncio.run(_child(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))
