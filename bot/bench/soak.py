"""The soak: `supportbot run --slack` (HTTP mode, a real subprocess on a temporary SQLite file) under
minutes of mixed customer traffic with faults injected, and one SIGKILL and restart in the middle.

This process plays Slack and Google: it sends signed `message` events (new threads and follow-ups in
earlier ones, several channels; an event the bot does not acknowledge is delivered again, like Slack's
retries, with X-Slack-Retry-Num), answers the Web API the bot calls — `chat.postMessage` refuses some
posts with 429 (Retry-After) or 500/503 before storing them — and answers Gemini's
`generateContent`, failing some calls with 500 and holding some past the bot's model timeout.

At the end the sender stops, the bot gets time to drain (its periodic retry runs every 30 s), and the
threads are read back: a message acknowledged by the bot and never answered is lost; a reply posted
twice (the same reply and piece), or two replies for one message, is duplicated. RSS and open file
descriptors of the bot are sampled when it is ready, before the kill, after the restart and at the end.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import signal
import socket
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from aiohttp import web

from .fakes import FakeGeminiApi, LocalServer
from .measure import percentile
from .rate_budget import _answer as gemini_answer
from .sandbox import bench_environment
from .slack_ack import BOT_TOKEN, SIGNING_SECRET
from .slack_side import signed_headers

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
RESUME_INTERVAL_S = 30.0  # the bot's periodic retry (bot.runtime)


@dataclass(frozen=True)
class Faults:
    slack_429: float = 0.05
    slack_5xx: float = 0.03
    model_5xx: float = 0.05
    model_timeout: float = 0.02


@dataclass
class Sample:
    at_s: float
    rss_mb: float
    open_fds: int


@dataclass
class SoakResult:
    minutes: float
    rate_per_s: float
    messages_sent: int
    acknowledged: int  # the bot answered the event 200 (at some delivery)
    never_acknowledged: int  # every delivery failed (Slack would give up too); not counted as lost
    redeliveries: int
    answered: int
    lost: int  # acknowledged, never answered — want 0
    duplicated: int  # answered more than once — want 0
    queue_notices: int
    kills: int
    faults_injected: dict[str, int]
    answer_p50_s: float
    answer_p99_s: float
    drain_s: float
    samples: dict[str, Sample] = field(default_factory=dict)  # ready, before_kill, after_restart, end
    lost_examples: list[str] = field(default_factory=list)  # channel:ts of some lost messages
    log_file: str = ""


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


class Bot:
    """`supportbot run --slack --slack-mode http` as a subprocess; restartable on the same database."""

    def __init__(self, folder: Path, env: dict[str, str], port: int) -> None:
        self.folder, self.env, self.port = folder, env, port
        self.process: asyncio.subprocess.Process | None = None
        self.log = folder / "bot.log"

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                "--slack",
                "--slack-mode",
                "http",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                cwd=self.folder,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        async with aiohttp.ClientSession() as http, asyncio.timeout(60):
            while True:
                if self.process.returncode is not None:
                    raise RuntimeError(f"the bot exited with {self.process.returncode}; see {self.log}")
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)

    def sample(self, started: float) -> Sample:
        assert self.process is not None
        proc = psutil.Process(self.process.pid)
        return Sample(
            at_s=round(time.monotonic() - started, 1),
            rss_mb=round(proc.memory_info().rss / 2**20, 1),
            open_fds=proc.num_fds(),
        )

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 40)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


def _tally(sent: list[Sent], posted: list[dict[str, Any]]) -> tuple[int, int, int, list[float], list[str]]:
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


async def run(
    *,
    minutes: float = 10.0,
    rate_per_s: float = 4.0,
    kill_at: float = 0.4,
    seed: int = 7,
    faults: Faults = Faults(),
    drain_timeout_s: float = 3 * RESUME_INTERVAL_S + 30,
) -> SoakResult:
    rng = random.Random(seed)
    duration = minutes * 60
    folder = Path(tempfile.mkdtemp(prefix="supportbot-soak-"))
    model_timeout_s = 2.0
    async with SoakSlack(faults, rng) as slack, SoakGemini(faults, rng, hold_s=model_timeout_s + 1) as gemini:
        env = bench_environment(
            **{
                "SUPPORTBOT_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'soak.db'}",
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SUPPORTBOT_SLACK_API_URL": slack.base_url,
                "SUPPORTBOT_LLM": "gemini",
                "GEMINI_API_KEY": "soak-key",
                "SUPPORTBOT_GEMINI_BASE_URL": gemini.base_url,
                "SUPPORTBOT_LLM_TIMEOUT_S": str(model_timeout_s),
                "SUPPORTBOT_LLM_RPM": "100000",
            }
        )
        bot = Bot(folder, env, _free_port())
        started = time.monotonic()
        await bot.start()
        traffic = Traffic(f"http://127.0.0.1:{bot.port}/slack/events", rng, rate_per_s=rate_per_s)
        await traffic.warm_up(slack)  # a running bot is warm: its first answer loads what it loads lazily
        samples = {"ready": bot.sample(started)}
        stop = asyncio.Event()
        sending = asyncio.create_task(traffic.run(stop))
        try:
            await asyncio.sleep(duration * kill_at)
            samples["before_kill"] = bot.sample(started)
            await bot.kill()
            await bot.start()
            samples["after_restart"] = bot.sample(started)
            await asyncio.sleep(max(0.0, duration - (time.monotonic() - started)))
        finally:
            stop.set()
            await sending
        drain_started = time.monotonic()
        while time.monotonic() - drain_started < drain_timeout_s:
            if _tally(traffic.sent, slack.posted)[1] == 0:
                break
            await asyncio.sleep(1.0)
        drain_s = time.monotonic() - drain_started
        samples["end"] = bot.sample(started)
        await bot.stop()
    answered, lost, duplicated, times, missing = _tally(traffic.sent, slack.posted)
    acknowledged = sum(1 for s in traffic.sent if s.acknowledged)
    return SoakResult(
        minutes=minutes,
        rate_per_s=rate_per_s,
        messages_sent=len(traffic.sent),
        acknowledged=acknowledged,
        never_acknowledged=len(traffic.sent) - acknowledged,
        redeliveries=sum(s.deliveries - 1 for s in traffic.sent),
        answered=answered,
        lost=lost,
        duplicated=duplicated,
        queue_notices=sum(
            1
            for p in slack.posted
            if int(((p.get("metadata") or {}).get("event_payload") or {}).get("reply_id") or 0) < 0
        ),
        kills=1,
        faults_injected=dict(slack.injected + gemini.injected),
        answer_p50_s=round(percentile(times, 50), 2),
        answer_p99_s=round(percentile(times, 99), 2),
        drain_s=round(drain_s, 1),
        samples=samples,
        lost_examples=missing,
        log_file=str(bot.log),
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
