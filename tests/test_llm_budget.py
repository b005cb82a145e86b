"""The request budget: a burst up to the budget goes at once, and no window of one period ever holds
more than the budget — counted where requests land, even when some spend longer on the way."""

from __future__ import annotations

import asyncio
import random

from bot.bench.rate_budget import max_in_window
from workflows.llm.budget import RequestBudget

PERIOD = 0.3


async def test_a_burst_up_to_the_budget_goes_at_once_and_the_next_waits_a_period() -> None:
    budget = RequestBudget(3, PERIOD)
    loop = asyncio.get_running_loop()
    started = loop.time()
    sent: list[float] = []

    async def request() -> None:
        async with budget:
            sent.append(loop.time() - started)

    await asyncio.gather(*(request() for _ in range(4)))
    assert max(sent[:3]) < PERIOD / 3
    assert sent[3] >= PERIOD


async def test_no_window_at_the_receiver_holds_more_than_the_budget() -> None:
    budget = RequestBudget(5, PERIOD)
    loop = asyncio.get_running_loop()
    rng = random.Random(7)
    arrived: list[float] = []

    async def request() -> None:
        async with budget:
            await asyncio.sleep(rng.uniform(0, 0.05))  # on the way: some requests take longer
            arrived.append(loop.time())
            await asyncio.sleep(0.01)  # the answer

    await asyncio.gather(*(request() for _ in range(17)))
    assert len(arrived) == 17
    assert max_in_window(arrived, PERIOD) <= 5
