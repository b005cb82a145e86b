"""`supportbot faq` as a user runs it (a subprocess) on the shared documentation pages served on
127.0.0.1: six grounded items with the offline engine and with Gemini (the fake server), stored like a
/faq result; refused without the allow-list (exit 1, one line); usage limits; the progress bar."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from bot import cli_faq
from bot.cli import main
from storage import faqs as faq_store
from storage.db import Database
from tests.fakes.gemini import FakeGemini
from tests.fakes.site import serve_site
from tests.harness import LOCAL
from tests.harness.gemini import gemini_responder
from workflows.faq import MAX_URLS, PageFetcher, ProgressEvent
from workflows.faq.offline import OfflineFaq
from workflows.faq.pages import Page
from workflows.faq.pipeline import CHAINS, load_page
from workflows.faq.schemas import MAX_QUESTIONS

pytestmark = pytest.mark.slow  # subprocesses

KILLBILL, SIMPLE_RETURNS = "/shared/killbill/latest/faq.html", "/shared/auroraextensions-simplereturns/index.html"
L = 0.2  # the fake Gemini's latency per call


@pytest.fixture
async def docs(shared_data: Path) -> AsyncIterator[list[str]]:
    async with serve_site() as base:
        yield [base + KILLBILL, base + SIMPLE_RETURNS]


async def run_faq(tmp_path: Path, db_url: str, *args: str, **env: str) -> tuple[int, str, str, float]:
    """`python -m bot faq …` in a subprocess (the test's event loop keeps serving the pages meanwhile)."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SUPPORTBOT_", "SLACK_", "DISCORD_", "GEMINI_", "GOOGLE_"))
    }
    environment.update({"SUPPORTBOT_DATABASE_URL": db_url, "SUPPORTBOT_LLM": "offline", **env})
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "faq",
        *args,
        cwd=tmp_path,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode(), time.perf_counter() - started


async def stored_sets(db_url: str) -> list[tuple[Any, list[Any]]]:
    db = Database(db_url)
    try:
        async with db.session() as s:
            return [await faq_store.get_faq_set(s, f.id) for f in await faq_store.list_faq_sets(s)]  # type: ignore[misc]
    finally:
        await db.aclose()


def check_grounded(data: dict[str, Any], urls: list[str], n: int) -> None:
    assert set(data) == {"items", "failed_pages", "llm_calls"} and data["failed_pages"] == []
    assert len(data["items"]) == n
    for item in data["items"]:
        assert item["question"] and item["answer"] and item["sources"]
        for source in item["sources"]:
            assert source["url"] in urls and source["title"] and source["quote"]
    assert {s["url"] for i in data["items"] for s in i["sources"]} == set(urls)  # both pages are used


async def test_offline_faq_json_is_grounded_and_stored(tmp_path: Path, db_url: str, docs: list[str]) -> None:
    code, out, err, wall = await run_faq(
        tmp_path, db_url, *docs, "--questions", "6", "--json", SUPPORTBOT_FAQ_ALLOWED_HOSTS="127.0.0.1"
    )
    assert code == 0, err
    assert err == ""  # no progress bar when stderr is not a terminal
    data = json.loads(out)
    check_grounded(data, docs, 6)
    assert data["llm_calls"] == 0
    print(f"\nsupportbot faq (offline, 2 pages, 6 questions): {wall:.2f} s wall including start-up")
    [(faq_set, items)] = await stored_sets(db_url)
    assert faq_set.platform == "cli" and faq_set.requested_by.startswith("cli:") and faq_set.urls == docs
    assert [i.question for i in items] == [i["question"] for i in data["items"]]


@pytest.mark.parametrize(("chain", "sequential", "calls"), [("grounded", False, 7), ("three-step", True, 13)])
async def test_gemini_faq_json_against_the_fake_server(
    tmp_path: Path, db_url: str, docs: list[str], chain: str, sequential: bool, calls: int
) -> None:
    async with PageFetcher(allowed_hosts=LOCAL) as fetcher:
        pages = [p for p in [await load_page(u, fetcher) for u in docs] if isinstance(p, Page)]
    async with FakeGemini(respond=gemini_responder(OfflineFaq(pages)), latency_s=L) as fake:
        code, out, err, wall = await run_faq(
            tmp_path,
            db_url,
            *docs,
            "--questions",
            "6",
            "--chain",
            chain,
            *(["--sequential"] if sequential else []),
            "--json",
            SUPPORTBOT_FAQ_ALLOWED_HOSTS="127.0.0.1",
            SUPPORTBOT_LLM="gemini",
            GEMINI_API_KEY="x",
            SUPPORTBOT_GEMINI_BASE_URL=fake.base_url,
        )
        generate = fake.generate_requests
    assert code == 0, err
    data = json.loads(out)
    check_grounded(data, docs, 6)
    assert data["llm_calls"] == calls == len(generate)
    assert all("evil.example" not in s["url"] for i in data["items"] for s in i["sources"])  # made-up citation dropped
    span = (generate[-1].at - generate[0].at + L) / L
    print(
        f"\nsupportbot faq --chain {chain}{' --sequential' if sequential else ''} (fake Gemini, L={L:g} s): "
        f"{len(generate)} calls, model span {span:.2f} L, {fake.max_in_flight} in flight at most, "
        f"{len(fake.cache_creates)} context caches, {wall:.2f} s wall including start-up"
    )
    if sequential:
        assert fake.max_in_flight == 1 and span >= calls * 0.95
    else:
        assert fake.max_in_flight == 6  # the six answers were asked at once: a critical path of two calls
    [(faq_set, items)] = await stored_sets(db_url)
    assert faq_set.chain == chain and faq_set.llm_calls == calls and len(items) == 6


async def test_refused_without_the_allow_list(tmp_path: Path, db_url: str, docs: list[str]) -> None:
    code, out, err, _ = await run_faq(tmp_path, db_url, *docs, "--questions", "6", "--json")
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"error: None of the pages could be used: {docs[0]} is refused: it resolves to a loopback address "
        "(add the host to SUPPORTBOT_FAQ_ALLOWED_HOSTS to allow it) (and 1 more)"
    ]
    assert await stored_sets(db_url) == []


async def test_text_output_names_failed_pages(tmp_path: Path, db_url: str) -> None:
    async with serve_site() as base:
        code, out, err, _ = await run_faq(
            tmp_path,
            db_url,
            f"{base}/fixtures/returns.html",
            f"{base}/missing.html",
            "--questions",
            "2",
            SUPPORTBOT_FAQ_ALLOWED_HOSTS="127.0.0.1",
        )
    assert code == 0, err
    assert err.splitlines() == [f"warning: not used: {base}/missing.html answered 404 Not Found"]
    assert out.startswith("1. How long do I have to return a product?\n")
    assert f"   Source: Returns and refunds <{base}/fixtures/returns.html>" in out
    assert "2 questions · grounded chain, parallel · 0 model calls" in out


@pytest.fixture
def cli(env_clean: Path, db_url: str) -> Iterator[Any]:
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    runner = CliRunner()
    yield lambda *args: runner.invoke(
        main, list(args), env={"SUPPORTBOT_DATABASE_URL": db_url, "SUPPORTBOT_LLM": "offline"}
    )
    root.handlers[:], root.level = handlers, level


def test_usage_errors_exit_2(cli: Any) -> None:
    result = cli("faq", "https://a.test/", "--questions", "1000")
    assert result.exit_code == 2 and "1000 is not in the range 1<=x<=20" in result.stderr
    result = cli("faq", *(f"https://a.test/{n}" for n in range(11)))
    assert result.exit_code == 2 and "at most 10 links per FAQ (11 given)" in result.stderr
    result = cli("faq", "https://a.test/", "--chain", "fast")
    assert result.exit_code == 2
    assert cli("faq").exit_code == 2


def test_cli_limits_match_the_pipeline() -> None:
    assert (cli_faq.MAX_QUESTIONS, cli_faq.CHAINS, MAX_URLS) == (MAX_QUESTIONS, CHAINS, 10)


async def test_progress_bar_draws_the_pipeline_events() -> None:
    with cli_faq.progress_bar(False) as off:
        assert off is None
    screen = io.StringIO()
    with cli_faq.progress_bar(True, console=Console(file=screen, force_terminal=True, width=100)) as on_progress:
        assert on_progress is not None
        await on_progress(ProgressEvent("fetch", 2, 2, "Read 2 of 2 pages"))
        await on_progress(ProgressEvent("answers", 3, 6, "Answered 3 of 6"))
    drawn = screen.getvalue()
    assert "Answered 3 of 6" in drawn and "3/6" in drawn
