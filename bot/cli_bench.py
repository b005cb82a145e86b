"""`supportbot bench`: the benchmark suite (see bot/bench). Runs in this process against a simulated
model, temporary SQLite files and local fakes; never touches the configured database or services."""

from __future__ import annotations

import json
import sys

import click

from .bench.suite import BENCHMARKS, BenchConfig, run_suite


@click.command("bench")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--latency-ms",
    type=click.FloatRange(min=0),
    default=None,
    help="Simulated model latency per call [default: 200; 20 with --quick]. 0 exposes our own overhead.",
)
@click.option("--quick", is_flag=True, help="Tiny sizes (a few seconds): checks the machinery, not the figures.")
@click.option(
    "--only", "only", multiple=True, type=click.Choice(BENCHMARKS), help="Run only these benchmarks (repeatable)."
)
@click.option(
    "--messages",
    type=click.IntRange(min=1),
    default=None,
    help="Throughput: messages per concurrency level [default: 2000].",
)
@click.option(
    "--growth-messages",
    type=click.IntRange(min=0),
    default=None,
    help="Messages for the RSS-growth run; 0 skips it [default: 10000].",
)
@click.option(
    "--console-cases",
    type=click.IntRange(min=10),
    default=None,
    help="Console: cases in the generated history (10 messages each) [default: 100000].",
)
@click.option(
    "--postgres-url",
    default=None,
    help="Console: also measure on PostgreSQL, in a throw-away database made on this server "
    "(e.g. postgresql+asyncpg://127.0.0.1:5432/test).",
)
@click.option(
    "--minutes",
    type=click.FloatRange(min=0.05),
    default=None,
    help="Soak: minutes of traffic [default: 10; 0.25 with --quick].",
)
def bench(
    as_json: bool,
    latency_ms: float | None,
    quick: bool,
    only: tuple[str, ...],
    messages: int | None,
    growth_messages: int | None,
    console_cases: int | None,
    postgres_url: str | None,
    minutes: float | None,
) -> None:
    """Measure FAQ chains, the orchestrated message, throughput, Slack acks, the request budget and the
    staff console's pages; with `--only soak`, a soak run with faults and a restart."""
    from .cli_common import run_async

    overrides: dict[str, object] = {}
    if latency_ms is not None:
        overrides["latency_ms"] = latency_ms
    if only:
        overrides["only"] = tuple(dict.fromkeys(only))
    if messages is not None:
        overrides["throughput_messages"] = messages
    if growth_messages is not None:
        overrides["growth_messages"] = growth_messages
    if console_cases is not None:
        overrides["console_cases"] = console_cases
    if postgres_url:
        overrides["postgres_url"] = postgres_url
    if minutes is not None:
        overrides["soak_minutes"] = minutes
    config = BenchConfig.quick_sizes(**overrides) if quick else BenchConfig(**overrides)  # type: ignore[arg-type]

    def progress(message: str) -> None:
        if not as_json:
            click.echo(message, err=True)

    report = run_async(run_suite(config, progress=progress))
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        from .bench.render import render_text

        click.echo(render_text(report))
    sys.stdout.flush()
