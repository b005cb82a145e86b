"""`supportbot bench --only console` at a tiny size: the history loads, the console's migration runs over
it, and every page answers a signed-in client. Figures only, never wall-clock limits."""

from __future__ import annotations

from bot.bench import console
from bot.bench.render import render_text
from bot.bench.report import BenchReport, Machine, targets


async def test_console_bench_measures_every_page() -> None:
    result = await console.run(cases=60, messages_per_case=4, requests=2)
    [sqlite] = result.backends
    assert (sqlite.database, sqlite.cases, sqlite.messages) == ("SQLite", 60, 240)
    assert [p.page for p in sqlite.pages] == list(console._paths(60, __import__("random").Random(0)))
    for page in sqlite.pages:
        assert page.requests == 2 and 0 < page.p50_ms <= page.p95_ms <= page.max_ms
    report = BenchReport(machine=Machine.here(), parameters={}, console=result)
    [target] = targets(report)
    assert target.name.startswith("console pages on SQLite") and target.target == "< 150 ms"
    assert "Staff console on SQLite: 60 cases, 240 messages" in render_text(report)
