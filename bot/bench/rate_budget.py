"""The request budget (SUPPORTBOT_LLM_RPM): customers' messages through the real GeminiClient, against
a local fake Gemini, with the budget's window shortened so the run takes seconds, not minutes.

Checked at the fake server, where requests arrive: the most requests in any window of one period
(the budget says at most `rpm`), the count in consecutive windows from the first request, and the
run's length against the shortest one the budget allows.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from dataclasses import dataclass

from workflows.llm.gemini import GeminiClient
from workflows.orchestrator import PLAN_SYSTEM
from workflows.synthesizer import SYNTH_SYSTEM

from .fakes import FakeGeminiApi
from .sandbox import bench_services, customer_message
from .simulated import plan_answer, reply_answer
from .throughput import MESSAGES

_NEW_MESSAGE = re.compile(r"New customer message:\n<<<\n(.*)\n>>>", re.S)


@dataclass
class RateBudgetResult:
    messages: int
    rpm: int
    period_s: float  # the budget's window as run (60 s scaled down)
    time_scale: float  # 60 / period_s
    requests: int
    answered_by_model: int  # model calls counted by the pipeline (a fallback would mean a failed request)
    max_in_any_window: int  # the budget: at most `rpm`
    per_window: list[int]  # windows of one period from the first request
    elapsed_s: float
    min_elapsed_s: float  # the shortest run the budget allows for this many requests
    budget_used: float  # min_elapsed_s / elapsed_s: 1.0 is the whole budget used, never more
    messages_per_budget_minute: float  # throughput in the budget's (scaled) minutes


async def _answer(system: str, prompt: str) -> dict[str, object]:
    if system.startswith(PLAN_SYSTEM[:60]):
        match = _NEW_MESSAGE.search(prompt)
        return (await plan_answer(match.group(1) if match else prompt)).model_dump()
    if system.startswith(SYNTH_SYSTEM[:60]):
        facts = json.loads(prompt.split("Facts (JSON):\n", 1)[1])
        return reply_answer([c["reference"] for c in facts.get("cases", [])]).model_dump()
    return {}


def max_in_window(times: list[float], period: float) -> int:
    """The most arrivals in any half-open window [t, t + period)."""
    times, best, lo = sorted(times), 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - period:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


async def run(*, messages: int = 100, rpm: int = 60, period_s: float = 2.0, concurrency: int = 8) -> RateBudgetResult:
    async with FakeGeminiApi(_answer) as fake:
        client = GeminiClient(
            api_key="bench-key",
            model="bench-main",
            router_model="bench-router",
            base_url=fake.base_url,
            rpm=rpm,
            rpm_period_s=period_s,
            concurrency=concurrency,
            timeout_s=max(30.0, 4 * period_s * messages / rpm),
        )
        async with bench_services(llm=client) as services:
            started = time.perf_counter()
            outcomes = await asyncio.gather(
                *(services.support.handle(customer_message(i, MESSAGES[i % len(MESSAGES)])) for i in range(messages))
            )
            elapsed = time.perf_counter() - started
        # open_services closed the client
    arrivals = sorted(fake.arrivals)
    first = arrivals[0] if arrivals else 0.0
    windows = math.floor((arrivals[-1] - first) / period_s) + 1 if arrivals else 0
    per_window = [
        sum(1 for t in arrivals if first + k * period_s <= t < first + (k + 1) * period_s) for k in range(windows)
    ]
    min_elapsed = max(0, math.ceil(len(arrivals) / rpm) - 1) * period_s
    return RateBudgetResult(
        messages=messages,
        rpm=rpm,
        period_s=period_s,
        time_scale=round(60 / period_s, 2),
        requests=len(arrivals),
        answered_by_model=sum(o.result.llm_calls for o in outcomes if o.result is not None),
        max_in_any_window=max_in_window(arrivals, period_s),
        per_window=per_window,
        elapsed_s=round(elapsed, 3),
        min_elapsed_s=min_elapsed,
        budget_used=round(min_elapsed / elapsed, 3) if elapsed else 0.0,
        messages_per_budget_minute=round(messages / (elapsed * 60 / period_s) * 60, 1),
    )
