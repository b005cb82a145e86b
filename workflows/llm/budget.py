"""The request budget: the provider never sees more than `max_rate` requests in any window of
`period_s` seconds.

A provider counts requests per minute where they arrive. A leaky bucket (aiolimiter's AsyncLimiter)
lets a full burst through and keeps refilling while it drains, so up to twice the budget can land
within one minute. A moving window over send times is not enough either: a request that spent longer
on the way (a new connection, a busy event loop) lands later than it left, and the next window's
requests can overtake it. So a request holds its place in the budget from when it is sent until one
full period after its answer came back — it certainly arrived by then — and a new request goes only
while fewer than `max_rate` places are held. Bursts up to the budget still go at once (an FAQ's
parallel calls are not spaced out); the window is only as much longer as one call takes.

Use as `async with budget:` around exactly one request. Waiters are served in order of arrival; time
is the event loop's clock.
"""

from __future__ import annotations

import asyncio
from collections import deque


class RequestBudget:
    def __init__(self, max_rate: int, period_s: float = 60.0) -> None:
        if max_rate < 1 or period_s <= 0:
            raise ValueError("a request budget needs max_rate >= 1 and period_s > 0")
        self.max_rate = max_rate
        self.period_s = period_s
        self._in_flight = 0
        self._returned: deque[float] = deque()  # when answers came back, oldest first
        self._turn = asyncio.Lock()  # first come, first served
        self._answer = asyncio.Event()  # an answer came back: a waiter may re-check

    @property
    def held(self) -> int:
        """Places taken now: requests in flight plus those answered less than a period ago."""
        self._expire(asyncio.get_running_loop().time())
        return self._in_flight + len(self._returned)

    def _expire(self, now: float) -> None:
        while self._returned and self._returned[0] + self.period_s <= now:
            self._returned.popleft()

    async def __aenter__(self) -> None:
        async with self._turn:
            loop = asyncio.get_running_loop()
            while self.held >= self.max_rate:
                self._answer.clear()
                # A place frees a period after the oldest answer; with all in flight, when one returns.
                timeout = self._returned[0] + self.period_s - loop.time() if self._returned else None
                try:
                    await asyncio.wait_for(self._answer.wait(), timeout)
                except TimeoutError:
                    pass
            self._in_flight += 1

    async def __aexit__(self, *exc: object) -> None:
        self._in_flight -= 1
        self._returned.append(asyncio.get_running_loop().time())
        self._answer.set()
