"""Small measuring helpers: percentiles, resident memory, a background RSS sampler, and the machine's CPU
use over a run (what a figure could be at most on this machine)."""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import psutil

_PROCESS = psutil.Process(os.getpid())
CORES = psutil.cpu_count() or 1  # logical CPUs, as the kernel's counters count them


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


@dataclass(frozen=True)
class CpuUse:
    """The whole machine's CPU over an interval: every process (the database's and any worker's
    included), so that what a run used can be set against what the machine has."""

    cores: int
    seconds: float  # wall time of the interval
    busy_s: float  # CPU time spent, all cores together

    @property
    def busy_cores(self) -> float:
        """Cores kept busy on average (at most `cores`)."""
        return self.busy_s / self.seconds if self.seconds > 0 else 0.0

    def ms_per(self, count: int) -> float:
        """CPU milliseconds per item (a message) of the interval."""
        return self.busy_s * 1000 / count if count else 0.0


class CpuMeter:
    """`with CpuMeter() as cpu: ...` then `cpu.use`. Read from the kernel's counters (psutil.cpu_times,
    /proc/stat on Linux: 10 ms ticks), so runs of a few seconds or more are what it measures well."""

    def __init__(self) -> None:
        self.use: CpuUse | None = None

    @staticmethod
    def _busy_s() -> float:
        t = psutil.cpu_times()
        # user includes guest time on Linux; steal is the hypervisor's, not ours; idle and iowait are idle
        return sum(getattr(t, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq"))

    def __enter__(self) -> CpuMeter:
        self._busy, self._wall = self._busy_s(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.use = CpuUse(
            cores=CORES,
            seconds=time.perf_counter() - self._wall,
            busy_s=max(0.0, self._busy_s() - self._busy),
        )
