"""Small measuring helpers: percentiles, resident memory, and a background RSS sampler."""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import statistics
from collections.abc import Sequence

import psutil

_PROCESS = psutil.Process(os.getpid())


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100), linear between closest ranks; 0.0 for no values."""
    if not values:
        return 0.0
    if len(values) == 1:
        return float(values[0])
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[min(98, max(0, round(q) - 1))] if q < 100 else float(max(values))


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def rss_mb() -> float:
    return _PROCESS.memory_info().rss / 2**20


def settled_rss_mb() -> float:
    """RSS after a full collection, so garbage waiting for the collector is not counted as growth."""
    gc.collect()
    return rss_mb()


def peak_rss_mb() -> float:
    """The process's peak RSS so far (kernel high-water mark; kilobytes on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RssSampler:
    """Samples RSS every `interval_s` while running: the peak of one benchmark, not of the process."""

    def __init__(self, interval_s: float = 0.05) -> None:
        self.interval_s = interval_s
        self.peak_mb = 0.0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RssSampler:
        self.peak_mb = rss_mb()
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self.peak_mb = max(self.peak_mb, rss_mb())

    async def _run(self) -> None:
        while True:
            self.peak_mb = max(self.peak_mb, rss_mb())
            await asyncio.sleep(self.interval_s)
