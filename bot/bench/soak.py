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
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .bot_process import Bot, Sample, bench_environment, free_port
from .measure import percentile
from .slack_ack import BOT_TOKEN, SIGNING_SECRET
from .soak_fakes import Faults, SoakGemini, SoakSlack
from .soak_traffic import Traffic, tally

RESUME_INTERVAL_S = 30.0  # the bot's periodic retry (bot.runtime)


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
        bot = Bot(folder, env, free_port())
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
            if tally(traffic.sent, slack.posted)[1] == 0:
                break
            await asyncio.sleep(1.0)
        drain_s = time.monotonic() - drain_started
        samples["end"] = bot.sample(started)
        await bot.stop()
    answered, lost, duplicated, times, missing = tally(traffic.sent, slack.posted)
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
