"""The benchmark report as text for a terminal (`supportbot bench` without --json)."""

from __future__ import annotations

from .measure import CORES
from .report import BenchReport


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
