"""`supportbot bench` at tiny sizes: every benchmark runs and reports sane figures. Structure and
invariants only (call counts, critical paths, the request budget) — never wall-clock limits."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.bench.render import render_text
from bot.bench.report import BenchReport
from bot.bench.suite import BenchConfig, run_suite
from bot.cli_bench import bench


@pytest.fixture(scope="module")
def report() -> BenchReport:
    import asyncio

    return asyncio.run(run_suite(BenchConfig.quick_sizes()))


def test_faq_chains_make_the_calls_their_shape_promises(report: BenchReport) -> None:
    faq = report.faq
    assert faq is not None
    n = faq.questions
    runs = {(r.chain, r.mode, r.page_cache): r for r in faq.runs}
    assert set(runs) == {
        ("grounded", "parallel", "warm"),
        ("grounded", "parallel", "cold"),
        ("grounded", "sequential", "warm"),
        ("three-step", "parallel", "warm"),
        ("three-step", "parallel", "cold"),
        ("three-step", "sequential", "warm"),
    }
    for (chain, mode, _), run in runs.items():
        assert run.llm_calls == run.expected_calls == (1 + n if chain == "grounded" else 1 + 2 * n)
        assert run.items == n  # every answer's citation verified against the pages
        if mode == "parallel":
            assert run.critical_path_calls == (2 if chain == "grounded" else 3)
            assert run.over_critical_path_limit is not None and run.over_critical_path_limit > 0
        else:
            assert run.critical_path_calls == run.llm_calls
    assert set(faq.ratios) == {"grounded", "three-step"} and all(v > 0 for v in faq.ratios.values())


def test_orchestrated_message_takes_two_calls_against_four_in_sequence(report: BenchReport) -> None:
    o = report.orchestration
    assert o is not None
    assert o.cases == 3
    assert (o.ours.llm_calls, o.ours.critical_path_calls) == (2, 2)
    assert (o.sequential_baseline.llm_calls, o.sequential_baseline.critical_path_calls) == (4, 4)
    assert o.ours.handled_ms is not None and o.ours.handled_ms >= o.ours.wall_ms > 0


def test_throughput_and_memory_figures_are_sane(report: BenchReport) -> None:
    t = report.throughput
    assert t is not None
    assert [r.concurrency for r in t.runs] == list(BenchConfig.quick_sizes().throughput_concurrency)
    for run in t.runs:
        assert run.failed == 0 and run.messages_per_s > 0
        assert 0 < run.p50_ms <= run.p99_ms <= run.max_ms
    assert t.peak_rss_mb > 0
    assert t.rss is not None and t.rss.messages == BenchConfig.quick_sizes().growth_messages


def test_slack_events_are_all_acknowledged_and_answered(report: BenchReport) -> None:
    s = report.slack_ack
    assert s is not None
    assert s.non_200 == 0
    assert s.replies_posted == (s.bursts + 1) * s.events  # every burst and the in-process one
    assert 0 < s.p50_ms <= s.p99_ms <= s.max_ms


def test_request_budget_is_never_exceeded(report: BenchReport) -> None:
    b = report.rate_budget
    assert b is not None
    assert b.requests == b.answered_by_model == 2 * b.messages  # plan + synthesis, all by the model
    assert b.max_in_any_window <= b.rpm
    assert all(count <= b.rpm for count in b.per_window)
    assert sum(b.per_window) == b.requests


def test_report_renders_and_serialises(report: BenchReport) -> None:
    payload = json.loads(json.dumps(report.to_json()))
    assert set(payload) >= {
        "machine",
        "parameters",
        "faq",
        "orchestration",
        "throughput",
        "slack_ack",
        "rate_budget",
        "targets",
    }
    assert payload["machine"]["cpus"] >= 1
    assert {t["name"] for t in payload["targets"]}  # judged, whatever the verdict at tiny sizes
    text = render_text(report)
    assert "FAQ chains" in text and "Targets:" in text


def test_cli_prints_json_for_the_chosen_benchmarks() -> None:
    result = CliRunner().invoke(bench, ["--quick", "--json", "--only", "orchestration", "--latency-ms", "5"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["orchestration"]["ours"]["llm_calls"] == 2
    assert payload["parameters"]["latency_ms"] == 5
    assert payload["faq"] is None and payload["throughput"] is None
