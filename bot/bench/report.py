"""The benchmark report: the machine, each benchmark's figures with their parameters, and the targets
of docs/spec-notes.md judged on them (met or not), as JSON (`to_json`); render.py writes it as text."""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
from dataclasses import dataclass, field
from typing import Any

import psutil

from .console import ConsoleBenchResult
from .faq import FaqBenchResult
from .measure import CORES, ms
from .orchestration import OrchestrationResult
from .rate_budget import RateBudgetResult
from .scale_out import ScaleOutResult
from .slack_ack import SlackAckResult
from .soak import SoakResult
from .throughput import ThroughputResult


@dataclass
class Machine:
    cpus: int
    cpu_model: str
    memory_gb: float
    python: str
    platform: str
    load_average_start: list[float]
    load_average_end: list[float] = field(default_factory=list)

    @classmethod
    def here(cls) -> Machine:
        return cls(
            cpus=CORES,
            cpu_model=_cpu_model(),
            memory_gb=round(psutil.virtual_memory().total / 2**30, 1),
            python=sys.version.split()[0],
            platform=platform.platform(),
            load_average_start=_load(),
        )


@dataclass
class Target:
    name: str
    target: str
    value: str
    met: bool
    note: str = ""  # what this machine allows at most, where the figure is bound by it


@dataclass
class BenchReport:
    machine: Machine
    parameters: dict[str, Any]
    faq: FaqBenchResult | None = None
    orchestration: OrchestrationResult | None = None
    throughput: ThroughputResult | None = None
    slack_ack: SlackAckResult | None = None
    rate_budget: RateBudgetResult | None = None
    scale_out: ScaleOutResult | None = None
    console: ConsoleBenchResult | None = None
    soak: SoakResult | None = None
    targets: list[Target] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _load() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def finish(report: BenchReport) -> BenchReport:
    report.machine.load_average_end = _load()
    report.targets = targets(report)
    return report


def targets(report: BenchReport) -> list[Target]:
    """The targets (docs/spec-notes.md), judged on this report's figures (ratios of latency only when it is > 0)."""
    out: list[Target] = []
    if report.faq is not None:
        n = report.faq.questions
        for run in report.faq.runs:
            if run.mode != "parallel" or run.page_cache != "warm":
                continue
            limit = 2.1 if run.chain == "grounded" else 3.15
            if run.chain == "grounded":
                out.append(
                    Target(
                        f"FAQ grounded parallel calls (N={n})",
                        f"== {1 + n}",
                        str(run.llm_calls),
                        run.llm_calls == 1 + n,
                    )
                )
            if run.wall_over_latency is not None:
                out.append(
                    Target(
                        f"FAQ {run.chain} parallel, in call latencies (N={n})",
                        f"<= {limit}",
                        f"{run.wall_over_latency:.3f}",
                        run.wall_over_latency <= limit,
                    )
                )
    if report.orchestration is not None:
        ours = report.orchestration.ours
        out.append(
            Target(
                "orchestrated message: calls on the critical path",
                "== 2",
                str(ours.critical_path_calls),
                ours.critical_path_calls == 2 and ours.llm_calls == 2,
            )
        )
        if ours.wall_over_latency is not None:
            out.append(
                Target(
                    "orchestrated message, in call latencies",
                    "<= 2.1",
                    f"{ours.wall_over_latency:.3f}",
                    ours.wall_over_latency <= 2.1,
                )
            )
    if report.throughput is not None:
        for level in report.throughput.runs:
            if level.concurrency == 32:
                out.append(
                    Target(
                        "throughput at concurrency 32",
                        ">= 300 messages/s",
                        f"{level.messages_per_s}",
                        level.messages_per_s >= 300,
                        f"{level.cpu_ms_per_message} ms of the machine's CPU a message ({level.busy_cores} cores "
                        f"busy): its {CORES} cores allow at most {level.cpu_bound_messages_per_s} messages/s",
                    )
                )
                out.append(
                    Target(
                        "p99 latency at concurrency 32",
                        "< 100 ms",
                        f"{level.p99_ms} ms",
                        level.p99_ms < 100,
                        "32 senders each wait for their answer, so mean latency = 32 / pace (Little's law): "
                        f"{ms(32 / level.messages_per_s) if level.messages_per_s else 0} ms at this pace; "
                        "under 100 ms needs over 320 messages/s",
                    )
                )
        if report.throughput.rss is not None:
            rss = report.throughput.rss
            out.append(
                Target(
                    f"RSS growth over {rss.messages:,} messages", "< 10 MB", f"{rss.growth_mb} MB", rss.growth_mb < 10
                )
            )
    if report.slack_ack is not None:
        out.append(
            Target(
                f"Slack ack p99 ({report.slack_ack.events} concurrent events × {report.slack_ack.bursts}, "
                "pipeline busy)",
                "<= 50 ms",
                f"{report.slack_ack.p99_ms} ms",
                report.slack_ack.p99_ms <= 50,
            )
        )
    if report.rate_budget is not None:
        rb = report.rate_budget
        out.append(
            Target(
                f"requests in any budget window (rpm {rb.rpm})",
                f"<= {rb.rpm}",
                str(rb.max_in_any_window),
                rb.max_in_any_window <= rb.rpm,
            )
        )
    if report.scale_out is not None and (speedup := report.scale_out.speedup) is not None:
        so = report.scale_out
        out.append(
            Target(
                f"scale-out on PostgreSQL, {so.runs[-1].processes} worker processes over {so.runs[0].processes}",
                ">= 1.6×",
                f"{speedup}×",
                speedup >= 1.6,
                f"{so.runs[0].processes} process kept {so.runs[0].busy_cores} of {CORES} cores busy (PostgreSQL "
                f"included): at its CPU a message, more processes can give at most {so.cpu_bound_speedup}×"
                if so.cpu_bound_speedup is not None
                else "",
            )
        )
    if report.console is not None:
        for backend in report.console.backends:
            worst = max(backend.pages, key=lambda p: p.p95_ms)
            out.append(
                Target(
                    f"console pages on {backend.database}, {backend.cases:,} cases: slowest p95 ({worst.page})",
                    f"< {report.console.target_p95_ms:g} ms",
                    f"{worst.p95_ms} ms",
                    worst.p95_ms < report.console.target_p95_ms,
                )
            )
    if report.soak is not None:
        out.append(Target("soak: messages lost", "== 0", str(report.soak.lost), report.soak.lost == 0))
        duplicated = report.soak.duplicated
        out.append(Target("soak: messages duplicated", "== 0", str(duplicated), duplicated == 0))
    return out
