"""The FAQ chains through the real GeminiClient (google-genai over HTTP) against the fake Gemini server:
1 + N calls (grounded) and 1 + 2N calls (three-step), a parallel wall time near two and three call
latencies, made-up citations from the model dropped, and the pages sent once as an explicit context
cache that every call references and that is deleted when the FAQ is done."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.gemini import FakeGemini
from tests.harness.gemini import gemini_responder
from workflows.faq import FaqResult, PageFetcher, build_faq
from workflows.faq.offline import OfflineFaq
from workflows.faq.pages import Page
from workflows.faq.pipeline import load_page
from workflows.llm.gemini import GeminiClient
from workflows.llm.runner import StepRunner

L = 0.25  # the fake server's latency per generate call (seconds)
FIXTURES = ["/fixtures/returns.html", "/fixtures/billing.html"]
SHARED = [
    "killbill/latest/faq.html",
    "killbill/latest/invoice_templates.html",
    "killbill/latest/shopping_cart.html",
    "killbill/latest/stripe_plugin.html",
    "auroraextensions-simplereturns/index.html",
    "auroraextensions-simplereturns/configuration.html",
]
PATH = {"grounded": 2, "three-step": 3}


async def pages_of(urls: list[str], fetcher: PageFetcher) -> list[Page]:
    return [p for p in [await load_page(u, fetcher) for u in urls] if isinstance(p, Page)]


def client_for(fake: FakeGemini, **options: Any) -> GeminiClient:
    return GeminiClient(
        **(
            {
                "api_key": "test-key",
                "model": "gemini-main",
                "router_model": "gemini-router",
                "base_url": fake.base_url,
                "concurrency": 10,
                "timeout_s": 10,
            }
            | options
        )
    )


async def run(
    urls: list[str], fetcher: PageFetcher, fake: FakeGemini, *, client: GeminiClient, **options: Any
) -> tuple[FaqResult, float]:
    started = time.perf_counter()
    result = await build_faq(urls, runner=StepRunner(client), fetcher=fetcher, **options)
    return result, time.perf_counter() - started


def span(fake: FakeGemini) -> float:
    """From the first generate request's arrival to the last one's answer, in call latencies."""
    generate = fake.generate_requests
    return (generate[-1].at - generate[0].at + L) / L


@pytest.mark.parametrize("chain", ["grounded", "three-step"])
async def test_parallel_chain_calls_critical_path_grounding_and_cache(
    site: str, fetcher: PageFetcher, chain: str
) -> None:
    urls = [site + p for p in FIXTURES]
    n = 5
    async with FakeGemini(respond=gemini_responder(OfflineFaq(await pages_of(urls, fetcher))), latency_s=L) as fake:
        client = client_for(fake, cache_min_tokens=0)  # the fixture pages are small: cache them anyway
        try:
            result, wall = await run(urls, fetcher, fake, client=client, questions=n, chain=chain)
            caches_left = dict(fake.caches)
        finally:
            await client.aclose()
    calls = 1 + n if chain == "grounded" else 1 + 2 * n
    assert result.llm_calls == calls == len(fake.generate_requests) and result.fallbacks == 0
    path = PATH[chain]
    # Parallel: all n questions were in flight at once, and no step ran before the one it needs (the span
    # is at least the critical path). How close to the path it runs is the bench's figure, not a test's.
    assert span(fake) >= path, f"{span(fake):.2f} L"
    assert wall >= path * L
    assert fake.max_in_flight == n
    # every answer came with one made-up citation (a page that was not given): all dropped
    assert len(result.items) == n and result.unsupported == 0
    assert all(s.url in urls for i in result.items for s in i.sources)
    assert result.citations - result.citations_verified == n
    # the pages went up once, as a cache every call referenced, deleted when the FAQ was done
    (create,) = fake.cache_creates
    name = "cachedContents/fake-1"
    assert "Returns and refunds" in create.text and "Invoices and payments" in create.text
    assert all(r.cached_content == name and r.system is None for r in fake.generate_requests)
    assert all("Returns and refunds" not in r.text for r in fake.generate_requests)
    assert caches_left == {} and len(fake.cache_deletes) == 1
    assert client.stats.cached_tokens == calls * client.stats.cache_tokens


@pytest.mark.parametrize("chain", ["grounded", "three-step"])
async def test_sequential_chain_pays_every_call(site: str, fetcher: PageFetcher, chain: str) -> None:
    urls = [site + p for p in FIXTURES]
    n = 3
    async with FakeGemini(respond=gemini_responder(OfflineFaq(await pages_of(urls, fetcher))), latency_s=L) as fake:
        client = client_for(fake)
        try:
            result, _ = await run(urls, fetcher, fake, client=client, questions=n, chain=chain, parallel=False)
        finally:
            await client.aclose()
    calls = 1 + n if chain == "grounded" else 1 + 2 * n
    assert result.llm_calls == calls == len(fake.generate_requests)
    assert fake.max_in_flight == 1 and span(fake) >= calls * 0.95
    assert len(result.items) == n
    assert fake.cache_creates == []  # two short pages: below the size where a cache pays off


async def test_failed_cache_creation_sends_the_pages_with_each_call(site: str, fetcher: PageFetcher) -> None:
    urls = [site + p for p in FIXTURES]
    async with FakeGemini(respond=gemini_responder(OfflineFaq(await pages_of(urls, fetcher)))) as fake:
        fake.fail_cache_create = 400
        client = client_for(fake, cache_min_tokens=0)
        try:
            result, _ = await run(urls, fetcher, fake, client=client, questions=3)
        finally:
            await client.aclose()
    assert len(fake.cache_creates) == 1 and len(result.items) == 3 and result.fallbacks == 0
    for sent in fake.generate_requests:
        assert sent.cached_content is None and "Returns and refunds" in (sent.first_part or "")
    assert client.stats.cached_tokens == 0


async def test_two_faqs_on_the_same_pages_share_one_cache(site: str, fetcher: PageFetcher) -> None:
    urls = [site + p for p in FIXTURES]
    async with FakeGemini(respond=gemini_responder(OfflineFaq(await pages_of(urls, fetcher))), latency_s=0.05) as fake:
        client = client_for(fake, cache_min_tokens=0)
        try:
            first, second = await asyncio.gather(
                run(urls, fetcher, fake, client=client, questions=3),
                run(urls, fetcher, fake, client=client, questions=4),
            )
            caches_left = dict(fake.caches)
        finally:
            await client.aclose()
    assert (len(first[0].items), len(second[0].items)) == (3, 4)
    assert len(fake.cache_creates) == 1 and caches_left == {} and len(fake.cache_deletes) == 1
    assert all(r.cached_content == "cachedContents/fake-1" for r in fake.generate_requests)


async def test_shared_pages_are_cached_and_cost_fewer_tokens(
    site: str, fetcher: PageFetcher, shared_data: Path
) -> None:
    """N = 10 on the six shared documentation pages (≈ 6,500 tokens): above the default threshold."""
    urls = [f"{site}/shared/{p}" for p in SHARED]
    responder = gemini_responder(OfflineFaq(await pages_of(urls, fetcher)))
    sent: dict[str, int] = {}
    for caching in (True, False):
        async with FakeGemini(respond=responder) as fake:
            client = client_for(fake, **({} if caching else {"cache_min_tokens": None}))
            try:
                result, _ = await run(urls, fetcher, fake, client=client, questions=10)
            finally:
                await client.aclose()
        stats = client.stats
        assert result.llm_calls == 11 and len(result.items) == 10 and not result.failed_pages
        assert len(fake.cache_creates) == (1 if caching else 0)
        # tokens billed at the full input rate: the cache's contents once, then what each call adds
        sent["cached" if caching else "plain"] = stats.prompt_tokens - stats.cached_tokens + stats.cache_tokens
    print(
        f"\nFAQ on 6 shared pages, N=10, 11 calls: {sent['plain']:,} input tokens without the cache, "
        f"{sent['cached']:,} with it ({sent['cached'] / sent['plain']:.0%})"
    )
    assert sent["cached"] < sent["plain"] / 5
