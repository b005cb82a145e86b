"""Runs the benchmarks in one process, one after another (so none competes with another), and
collects their figures into a `BenchReport`."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from . import console, faq, orchestration, rate_budget, scale_out, slack_ack, soak, throughput
from .report import BenchReport, Machine, finish

Benchmark = Literal["faq", "orchestration", "throughput", "slack_ack", "rate_budget", "scale_out", "console", "soak"]
BENCHMARKS: tuple[Benchmark, ...] = (
    "faq",
    "orchestration",
    "throughput",
    "slack_ack",
    "rate_budget",
    "scale_out",
    "console",
    "soak",
)
# The soak takes ten minutes: run with `--only soak`, not by default.
DEFAULT_BENCHMARKS: tuple[Benchmark, ...] = tuple(b for b in BENCHMARKS if b != "soak")


@dataclass(frozen=True)
class BenchConfig:
    latency_ms: float = 200.0
    only: tuple[Benchmark, ...] = DEFAULT_BENCHMARKS
    quick: bool = False
    faq_questions: int = 10
    repeats: int = 3
    throughput_messages: int = 2000
    throughput_concurrency: tuple[int, ...] = (1, 32)
    warmup_messages: int = 200
    growth_messages: int = 10_000
    slack_events: int = 100
    slack_bursts: int = 3
    slack_background: int = 32
    slack_workers: int = 1  # 0: acknowledgements and the pipeline in one process
    rate_messages: int = 100
    rate_rpm: int = 60
    rate_period_s: float = 2.0
    scale_messages: int = 2000
    scale_processes: tuple[int, ...] = (1, 2)
    console_cases: int = 100_000
    console_requests: int = 50
    postgres_url: str | None = None  # a server for the console benchmark's throw-away PostgreSQL database
    soak_minutes: float = 10.0
    soak_rate_per_s: float = 4.0

    @classmethod
    def quick_sizes(cls, **overrides: object) -> BenchConfig:
        """Tiny sizes: seconds instead of minutes; checks the machinery, the figures mean little."""
        values: dict[str, object] = dict(
            quick=True,
            latency_ms=20.0,
            faq_questions=3,
            repeats=1,
            throughput_messages=20,
            throughput_concurrency=(1, 4),
            warmup_messages=4,
            growth_messages=20,
            slack_events=8,
            slack_bursts=2,
            slack_background=2,
            rate_messages=6,
            rate_rpm=4,
            rate_period_s=0.4,
            scale_messages=40,
            console_cases=300,
            console_requests=5,
            soak_minutes=0.25,
        )
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


Progress = Callable[[str], None]


async def run_suite(config: BenchConfig, *, progress: Progress | None = None) -> BenchReport:
    say = progress or (lambda _message: None)
    latency_s = config.latency_ms / 1000
    report = BenchReport(machine=Machine.here(), parameters=dataclasses.asdict(config))
    started = time.perf_counter()
    if "faq" in config.only:
        say("FAQ chains …")
        report.faq = await faq.run(latency_s=latency_s, questions=config.faq_questions, repeats=config.repeats)
    if "orchestration" in config.only:
        say("orchestrated message …")
        report.orchestration = await orchestration.run(latency_s=latency_s, repeats=max(config.repeats, 3))
    if "throughput" in config.only:
        say("throughput and memory …")
        report.throughput = await throughput.run(
            messages=config.throughput_messages,
            concurrencies=config.throughput_concurrency,
            warmup=config.warmup_messages,
            growth_messages=config.growth_messages,
            growth_concurrency=max(config.throughput_concurrency),
        )
    if "slack_ack" in config.only:
        say("Slack acknowledgements …")
        report.slack_ack = await slack_ack.run(
            events=config.slack_events,
            bursts=config.slack_bursts,
            background_concurrency=config.slack_background,
            workers=config.slack_workers,
        )
    if "rate_budget" in config.only:
        say("request budget …")
        report.rate_budget = await rate_budget.run(
            messages=config.rate_messages, rpm=config.rate_rpm, period_s=config.rate_period_s
        )
    if "scale_out" in config.only:
        say("scale-out on PostgreSQL …")
        report.scale_out = await scale_out.run(
            messages=config.scale_messages, processes=config.scale_processes, warmup=10 if config.quick else 100
        )
    if "console" in config.only:
        say(f"staff console with {config.console_cases:,} cases …")
        report.console = await console.run(
            cases=config.console_cases, requests=config.console_requests, postgres_url=config.postgres_url, progress=say
        )
    if "soak" in config.only:
        say(f"soak: {config.soak_minutes:g} minutes of traffic with faults and one SIGKILL …")
        report.soak = await soak.run(minutes=config.soak_minutes, rate_per_s=config.soak_rate_per_s)
    report.seconds = round(time.perf_counter() - started, 1)
    return finish(report)
