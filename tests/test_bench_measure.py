"""The benchmark's CPU accounting: the machine's busy time over a run, what a message costs, and the
ceilings the report derives from them."""

from __future__ import annotations

import threading
import time

from bot.bench.measure import CORES, CpuMeter, CpuUse
from bot.bench.render import render_text
from bot.bench.report import BenchReport, Machine, targets
from bot.bench.scale_out import ScaleOutResult, ScaleRun
from bot.bench.throughput import Run, ThroughputResult
from tests.support import spin_cpu


def test_the_meter_counts_the_cpu_a_thread_spends() -> None:
    with CpuMeter() as meter:
        spinner = threading.Thread(target=spin_cpu, args=(0.4,))
        spinner.start()
        spinner.join()
    use = meter.use
    assert use is not None and use.cores == CORES >= 1
    assert use.busy_s >= 0.4 * 0.8  # the kernel counts in 10 ms ticks
    assert 0 < use.busy_cores <= CORES + 0.05
    assert use.ms_per(4) == use.busy_s * 250


def test_an_idle_interval_counts_little() -> None:
    with CpuMeter() as meter:
        time.sleep(0.3)
    assert meter.use is not None and meter.use.busy_s < 0.3 * CORES


def test_cpu_use_arithmetic() -> None:
    use = CpuUse(cores=2, seconds=10.0, busy_s=15.0)
    assert use.busy_cores == 1.5
    assert use.ms_per(1000) == 15.0
    assert use.ms_per(0) == 0.0 and CpuUse(cores=2, seconds=0.0, busy_s=1.0).busy_cores == 0.0


def _run(pace: float, **cpu: float) -> Run:
    return Run(32, 2000, 2000 / pace, pace, 180.0, 290.0, 300.0, 0, **cpu)


def test_the_report_says_what_the_machine_allows() -> None:
    report = BenchReport(machine=Machine.here(), parameters={})
    report.throughput = ThroughputResult(
        "offline",
        "SQLite",
        7,
        [_run(240.0, cpu_ms_per_message=7.1, busy_cores=1.7, cpu_bound_messages_per_s=281.7)],
        380.0,
        None,
    )
    report.scale_out = ScaleOutResult(
        "PostgreSQL",
        32,
        [
            ScaleRun(1, 2000, 12.0, 166.7, 200.0, 400.0, [2000], busy_cores=1.83),
            ScaleRun(2, 2000, 12.1, 165.0, 350.0, 840.0, [1000, 1000], busy_cores=1.98),
        ],
        speedup=0.99,
        cpu_bound_speedup=1.09,
    )
    judged = {t.name: t for t in targets(report)}
    pace = judged["throughput at concurrency 32"]
    assert not pace.met and "at most 281.7 messages/s" in pace.note
    p99 = judged["p99 latency at concurrency 32"]
    assert not p99.met and "133.33 ms at this pace" in p99.note  # 32 / 240 per s
    scale = judged["scale-out on PostgreSQL, 2 worker processes over 1"]
    assert not scale.met and "1.83 of" in scale.note and "at most 1.09×" in scale.note
    text = render_text(report)
    assert "at most 281.7 messages/s" in text and "CPU allows at most 1.09×" in text
