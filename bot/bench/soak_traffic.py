"""The soak's customers: signed Slack `message` events at a steady rate (new threads and follow-ups in
earlier ones, over several channels), each delivered again when the bot does not acknowledge it, like
Slack's retries; and the tally that reads the threads back against what was sent."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import aiohttp

from .slack_ack import SIGNING_SECRET
from .slack_side import signed_headers
from .soak_fakes import SoakSlack

TEXTS = (
    "Where is my order #A-{n}? It was supposed to arrive on Monday.",
    "I was charged twice on invoice INV-{n}, please check.",
    "I want to return the Aurora Desk Lamp because it flickers all the time.",
    "Hi, I'm writing about invoice #INV-{n}. It seems higher than I expected. Also, I would like to return "
    "the 'SuperWidget 5000' I bought because it's not compatible with my system. Finally, can you give me "
    "an update on my order #A-{n}?",
    "My app crashes every time I open the settings page.",
    "Do you ship to Canada?",
    "Can I talk to a person please?",
)
FOLLOW_UPS = ("Any news?", "It broke again, the order number is A-{n}.", "Thanks!")
CHANNELS = ("CSOAK1", "CSOAK2", "CSOAK3", "CSOAK4")


@dataclass
class Sent:
    channel: str
    thread: str
    ts: str
    sent_at: float
    acknowledged: bool = False
    deliveries: int = 0


class Traffic:
    """Signed message events at `rate_per_s`: mostly new threads, some follow-ups in earlier ones."""

    def __init__(self, url: str, rng: random.Random, *, rate_per_s: float, follow_up: float = 0.2) -> None:
        self.url, self.rng, self.rate_per_s, self.follow_up = url, rng, rate_per_s, follow_up
        self.sent: list[Sent] = []
        self._ts = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: aiohttp.ClientSession | None = None

    async def run(self, stop: asyncio.Event) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            self._http = http
            interval = 1 / self.rate_per_s
            next_at = time.monotonic()
            while not stop.is_set():
                self._spawn(self._message())
                next_at += interval
                try:
                    await asyncio.wait_for(stop.wait(), max(0.0, next_at - time.monotonic()))
                except TimeoutError:
                    pass
            while self._tasks:  # deliveries (and their retries) still under way
                await asyncio.wait(set(self._tasks))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def warm_up(self, slack: SoakSlack, *, timeout_s: float = 120.0) -> None:
        """One message answered before the clock starts (not counted)."""
        async with aiohttp.ClientSession() as http:
            self._http = http
            await self._deliver(
                json.dumps(_event_body(0, "CWARM", "1600000000.000001", None, "Hi, any news?")),
                Sent(channel="CWARM", thread="1600000000.000001", ts="1600000000.000001", sent_at=time.monotonic()),
            )
        async with asyncio.timeout(timeout_s):
            while not any(p["channel"] == "CWARM" for p in slack.posted):
                await asyncio.sleep(0.1)

    async def _message(self) -> None:
        n = next(self._ts)
        ts = f"1700000000.{n:06d}"
        earlier = [s for s in self.sent[-200:] if s.thread == s.ts]
        if earlier and self.rng.random() < self.follow_up:
            parent = self.rng.choice(earlier)
            channel, thread, text = parent.channel, parent.thread, self.rng.choice(FOLLOW_UPS)
        else:
            channel, thread, text = self.rng.choice(CHANNELS), ts, self.rng.choice(TEXTS)
        record = Sent(channel=channel, thread=thread, ts=ts, sent_at=time.monotonic())
        self.sent.append(record)
        body = json.dumps(_event_body(n, channel, ts, thread if thread != ts else None, text.format(n=10000 + n)))
        await self._deliver(body, record)

    async def _deliver(self, body: str, record: Sent) -> None:
        # Slack retries an unacknowledged event three times; here after 1, 2 and 4 s (Slack: ~1 min, 5 min).
        for attempt in range(4):
            record.deliveries += 1
            headers = signed_headers(body, SIGNING_SECRET)
            if attempt:
                headers.update({"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "http_error"})
            try:
                assert self._http is not None
                async with self._http.post(self.url, data=body.encode(), headers=headers) as response:
                    await response.read()
                    if response.status == 200:
                        record.acknowledged = True
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(2**attempt)


def _event_body(n: int, channel: str, ts: str, thread: str | None, text: str) -> dict[str, Any]:
    event = {
        "type": "message",
        "channel_type": "channel",
        "user": f"UCUST{n % 97}",
        "channel": channel,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "team": "TSOAK",
        **({"thread_ts": thread} if thread else {}),
    }
    return {
        "token": "legacy",
        "team_id": "TSOAK",
        "api_app_id": "ASOAK",
        "type": "event_callback",
        "event": event,
        "event_id": f"EvSOAK{n:07d}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "TSOAK", "user_id": "UBOT", "is_bot": True}],
    }


def tally(sent: list[Sent], posted: list[dict[str, Any]]) -> tuple[int, int, int, list[float], list[str]]:
    """(answered, lost, duplicated, answer times, some lost messages) of the acknowledged messages, read
    from the threads."""
    pieces: Counter[tuple[str, int, int]] = Counter()
    replies: dict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
    notices = 0
    for post in posted:
        payload = (post.get("metadata") or {}).get("event_payload") or {}
        reply_id, piece = int(payload.get("reply_id") or 0), int(payload.get("piece") or 0)
        if reply_id < 0:
            notices += 1
            continue
        pieces[(post["channel"], reply_id, piece)] += 1
        if piece == 0:
            replies[(post["channel"], post["thread_ts"])].append((post["at"], reply_id))
    duplicated = sum(count - 1 for count in pieces.values())
    asked: dict[tuple[str, str], list[Sent]] = defaultdict(list)
    for s in sent:
        if s.acknowledged:
            asked[(s.channel, s.thread)].append(s)
    answered = lost = 0
    times: list[float] = []
    missing: list[str] = []
    for key, messages in asked.items():
        got = sorted({reply_id: at for at, reply_id in replies.get(key, [])}.items(), key=lambda kv: kv[1])
        answered += min(len(messages), len(got))
        lost += max(0, len(messages) - len(got))
        if len(messages) > len(got):
            missing += [f"{m.channel}:{m.ts}" for m in messages[len(got) :]]
        duplicated += max(0, len(got) - len(messages))
        times += [at - m.sent_at for m, (_, at) in zip(sorted(messages, key=lambda m: m.sent_at), got, strict=False)]
    return answered, lost, duplicated, times, missing[:10]
