"""The benchmark report: the machine, each benchmark's figures with their parameters, the
targets of docs/spec-notes.md (met or not), as JSON (`to_json`) or as text for a terminal (`render_text`)."""

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
            cpus=os.cpu_count() or 0,
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


def render_text(report: BenchReport) -> str:
    m = report.machine
    lines = [
        f"supportbot bench — {m.cpus} CPUs ({m.cpu_model}), {m.memory_gb} GB, Python {m.python}, "
        f"load {'/'.join(map(str, m.load_average_start))} → {'/'.join(map(str, m.load_average_end))}",
        "parameters: " + ", ".join(f"{k}={v}" for k, v in report.parameters.items()),
        "",
    ]
    if (faq := report.faq) is not None:
        lines.append(
            f"FAQ chains: N={faq.questions} questions, {faq.pages} pages, model latency "
            f"L={faq.latency_ms:g} ms, concurrency cap {faq.concurrency_cap}, median of {faq.repeats}"
        )
        for r in faq.runs:
            in_l = f"{r.wall_over_latency:.2f} L" if r.wall_over_latency is not None else "-"
            limit = (
                f", {r.over_critical_path_limit:.3f}× its {r.critical_path_calls}-call limit"
                if r.over_critical_path_limit is not None
                else ""
            )
            lines.append(
                f"  {r.chain:<10} {r.mode:<10} {r.page_cache:<4}  {r.wall_ms:8.1f} ms  {in_l:>8}  "
                f"{r.llm_calls} calls (expected {r.expected_calls}), {r.critical_path_calls} on the critical "
                f"path, {r.items} items{limit}"
            )
        lines.append(
            "  sequential / parallel: "
            + ", ".join(f"{c} {v}×" for c, v in faq.ratios.items())
            + f"   (reference: {faq.reference['llm_calls']:g} calls, "
            f"{faq.reference['sequential_over_latency']} L sequential, "
            f"{faq.reference['parallel_over_latency']} L parallel)"
        )
        lines.append("")
    if (o := report.orchestration) is not None:
        lines.append(
            f"Orchestrated three-request message: L={o.latency_ms:g} ms, median of {o.repeats}, {o.cases} cases"
        )
        for label, way in (("ours, to reply posted", o.ours), ("sequential baseline", o.sequential_baseline)):
            in_l = f"{way.wall_over_latency:.3f} L" if way.wall_over_latency is not None else "-"
            handled = f"; {way.handled_ms} ms with the bookkeeping after posting" if way.handled_ms is not None else ""
            lines.append(
                f"  {label:<22} {way.wall_ms:8.1f} ms  {in_l:>8}  {way.llm_calls} calls, "
                f"{way.critical_path_calls} on the critical path{handled}"
            )
        lines.append(
            f"  speed-up {o.speedup}×   (reference: {o.reference['llm_calls']:g} calls in sequence, "
            f"{o.reference['wall_over_latency']} L)"
        )
        lines.append("")
    if (t := report.throughput) is not None:
        lines.append(
            f"Throughput: {t.engine} engine, {t.database}, {t.message_mix} message kinds, one conversation per message"
        )
        for level in t.runs:
            lines.append(
                f"  concurrency {level.concurrency:>3}: {level.messages:,} messages in {level.elapsed_s} s = "
                f"{level.messages_per_s} messages/s, p50 {level.p50_ms} ms, p99 {level.p99_ms} ms, "
                f"max {level.max_ms} ms" + (f", {level.failed} failed" if level.failed else "")
            )
            lines.append(
                f"      machine CPU {level.cpu_ms_per_message} ms a message (event loop "
                f"{level.loop_cpu_ms_per_message} ms, encoder {level.encoder_cpu_ms_per_message} ms for "
                f"{level.encoded_per_message} texts), {level.busy_cores} of {CORES} cores "
                f"busy: at most {level.cpu_bound_messages_per_s} messages/s at that cost"
            )
        if (u := t.ungrouped) is not None:
            lines.append(
                f"  without group commit, concurrency {u.concurrency}: {u.messages_per_s} messages/s, "
                f"p50 {u.p50_ms} ms, p99 {u.p99_ms} ms"
            )
        if (a := t.stock_aiosqlite) is not None:
            lines.append(
                f"  on stock aiosqlite, concurrency {a.concurrency}: {a.messages_per_s} messages/s, "
                f"p50 {a.p50_ms} ms, p99 {a.p99_ms} ms"
            )
        lines.append(f"  peak RSS {t.peak_rss_mb} MB")
        if t.rss is not None:
            lines.append(
                f"  RSS over {t.rss.messages:,} more messages (after {t.rss.warmup_messages:,}): "
                f"{t.rss.start_mb} → {t.rss.end_mb} MB ({t.rss.growth_mb:+} MB)"
            )
        lines.append("")
    if (s := report.slack_ack) is not None:
        lines.append(
            f"Slack acknowledgements ({s.deployment}): {s.bursts} bursts of {s.events} signed events at "
            "once to /slack/events (HTTP mode) while "
            f"{s.background_concurrency} other conversations keep the pipeline busy "
            f"({s.background_messages_per_s} messages/s meanwhile)"
        )
        lines.append(
            f"  sender in {s.sender}: p50 {s.p50_ms} ms, p99 {s.p99_ms} ms, max {s.max_ms} ms "
            f"(p99 per burst {', '.join(map(str, s.burst_p99_ms))}); "
            f"sender inside this process: p50 {s.in_process_sender_p50_ms} ms, "
            f"p99 {s.in_process_sender_p99_ms} ms"
        )
        lines.append(
            f"  {s.non_200} answers not 200; {s.replies_posted} threaded replies posted for the "
            f"{(s.bursts + 1) * s.events} events"
        )
        lines.append("")
    if (b := report.rate_budget) is not None:
        lines.append(
            f"Request budget: {b.messages} messages, rpm {b.rpm}, window {b.period_s:g} s "
            f"(60 s scaled by 1/{b.time_scale:g}), real GeminiClient → local fake Gemini"
        )
        lines.append(
            f"  {b.requests} requests ({b.answered_by_model} answered by the model); most in any window "
            f"{b.max_in_any_window}; per window {b.per_window}"
        )
        lines.append(
            f"  {b.elapsed_s} s against the budget's minimum {b.min_elapsed_s:g} s; "
            f"{b.messages_per_budget_minute} messages per budget minute"
        )
        lines.append("")
    if (so := report.scale_out) is not None:
        lines.append(
            f"Scale-out: {so.database}, worker processes of {so.concurrency_per_process} messages at a "
            "time behind this process as the receiver" + (f" — skipped: {so.skipped}" if so.skipped else "")
        )
        for sr in so.runs:
            lines.append(
                f"  {sr.processes} process{'es' if sr.processes > 1 else ''}: {sr.messages:,} messages in "
                f"{sr.elapsed_s} s = {sr.messages_per_s} messages/s, claim to answer p50 {sr.p50_ms} ms, "
                f"p99 {sr.p99_ms} ms (per process {sr.per_process}); machine CPU {sr.cpu_ms_per_message} ms "
                f"a message, {sr.busy_cores} of {CORES} cores busy"
            )
        if so.speedup is not None:
            lines.append(
                f"  speed-up {so.speedup}×"
                + (f" (CPU allows at most {so.cpu_bound_speedup}×)" if so.cpu_bound_speedup is not None else "")
            )
        lines.append("")
    if (c := report.console) is not None:
        for backend in c.backends:
            lines.append(
                f"Staff console on {backend.database}: {backend.cases:,} cases, {backend.messages:,} messages "
                f"(loaded in {backend.load_s} s, console indexes built in {backend.index_s} s)"
            )
            lines.extend(
                f"  {p.page:<22} p50 {p.p50_ms:7.1f} ms  p95 {p.p95_ms:7.1f} ms  max {p.max_ms:7.1f} ms "
                f"({p.requests} requests)"
                for p in backend.pages
            )
        lines.append("")
    if (k := report.soak) is not None:
        lines.append(
            f"Soak: {k.minutes:g} min at {k.rate_per_s:g} messages/s into `supportbot run --slack` (HTTP "
            f"mode, SQLite), {k.kills} SIGKILL and restart; faults injected: "
            + ", ".join(f"{name} {count}" for name, count in sorted(k.faults_injected.items()))
        )
        lines.append(
            f"  {k.messages_sent} messages sent, {k.acknowledged} acknowledged ({k.redeliveries} "
            f"redeliveries, {k.never_acknowledged} never acknowledged), {k.answered} answered; "
            f"lost {k.lost}, duplicated {k.duplicated}; {k.queue_notices} queue notices"
        )
        lines.append(f"  answer time p50 {k.answer_p50_s} s, p99 {k.answer_p99_s} s; drained in {k.drain_s} s")
        lines.extend(
            f"  {name:<14} t={sample.at_s:>6} s  RSS {sample.rss_mb} MB  open fds {sample.open_fds}"
            for name, sample in k.samples.items()
        )
        if k.lost_examples:
            lines.append(f"  lost (channel:ts): {', '.join(k.lost_examples)}")
        lines.append(f"  bot log: {k.log_file}")
        lines.append("")
    if report.targets:
        lines.append("Targets:")
        lines.extend(
            f"  [{'met' if t.met else 'MISSED'}] {t.name}: {t.value} (target {t.target})"
            + (f"\n      {t.note}" if t.note else "")
            for t in report.targets
        )
    lines.append(f"(took {report.seconds:.0f} s)")
    return "\n".join(lines)
