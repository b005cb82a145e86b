"""FAQ chains, N questions from a small local documentation site: wall time and model calls of the
grounded (1 + N calls, critical path 2) and three-step (1 + 2N calls, critical path 3) chains, each in
parallel and one step after another, against the simulated model.

The pages are served by a local aiohttp server (the fetcher's allow-list admits 127.0.0.1) and go
through the real fetch → extract → context → chain → grounding pipeline; the simulated model answers
each step from the offline FAQ engine over the same pages, so every citation verifies. The model's
concurrency cap is set to N, so every question of a step can be in flight at once.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from html import escape
from typing import Any

from aiohttp import web

from workflows.faq import FaqResult, MemoryPageCache, PageFetcher, build_faq
from workflows.faq.offline import OfflineFaq
from workflows.faq.pages import Page
from workflows.faq.pipeline import load_page
from workflows.faq.schemas import Chain
from workflows.llm.base import LLMRequest
from workflows.llm.runner import StepRunner

from .fakes import local_server
from .simulated import SimulatedLLM, call_depth

CRITICAL_PATH = {"grounded": 2, "three-step": 3}
EXPECTED_CALLS = {"grounded": lambda n: 1 + n, "three-step": lambda n: 1 + 2 * n}
REFERENCE = {"llm_calls": 21, "sequential_over_latency": 22.2, "parallel_over_latency": 3.4}

_TOPICS = [
    (
        "Returns",
        [
            ("How long do I have to return a product?", "You can return most products within 30 days of delivery."),
            ("How do I start a return?", "Open your order history, choose the order and select Return items."),
            ("When will I get my refund?", "Refunds are issued within 5 business days after the return arrives."),
            ("Can I return a product bought on sale?", "Sale items can be returned like any other product."),
            ("Who pays for return shipping?", "Return shipping is free when you use the prepaid label we send you."),
            ("Can I exchange a product instead?", "You can exchange a product for another size or colour at no cost."),
        ],
    ),
    (
        "Billing",
        [
            ("Where can I find my invoices?", "All invoices are listed under Billing in your account settings."),
            ("Which payment methods do you accept?", "We accept credit cards, debit cards, PayPal and bank transfers."),
            ("Why was I charged twice?", "A double charge is usually a card authorization your bank releases soon."),
            (
                "How do I update my billing address?",
                "Change the billing address in your account before the next order.",
            ),
            ("Can I get a VAT invoice?", "Every invoice shows VAT separately and can be downloaded as a PDF file."),
            ("When is my card charged?", "Your card is charged on the day your order ships from our warehouse."),
        ],
    ),
]


def page_html(title: str, items: list[tuple[str, str]]) -> str:
    sections = "\n".join(
        f"<h2>{escape(q)}</h2>\n<p>{escape(a)} Our support team can help with any detail of "
        f"this in the support channel.</p>"
        for q, a in items
    )
    return (
        f"<!doctype html><html><head><title>{escape(title)} help</title></head><body>"
        f"<nav><a href='/'>Home</a> | <a href='/returns'>Returns</a> | <a href='/billing'>Billing</a></nav>"
        f"<main><article><h1>{escape(title)} help</h1>\n{sections}\n</article></main>"
        f"<footer>© Example Shop. All rights reserved.</footer></body></html>"
    )


@asynccontextmanager
async def serve_docs() -> AsyncIterator[list[str]]:
    """The documentation site on 127.0.0.1; yields the pages' URLs."""
    pages = {f"/{title.lower()}": page_html(title, items) for title, items in _TOPICS}

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=pages[request.path], content_type="text/html")

    app = web.Application()
    for path in pages:
        app.router.add_get(path, page)
    async with local_server(app) as base:
        yield [base + path for path in pages]


def faq_responders(offline: OfflineFaq) -> dict[str, Any]:
    """The FAQ steps answered by the offline engine (over the same pages build_faq extracts)."""

    def questions(request: LLMRequest[Any]) -> Any:
        return offline.questions(int(request.inputs.get("n", 5)))

    def answer(request: LLMRequest[Any]) -> Any:
        return offline.answer(request.inputs.get("question", ""))

    def draft(request: LLMRequest[Any]) -> Any:
        return offline.draft(request.inputs.get("question", ""))

    def sources(request: LLMRequest[Any]) -> Any:
        return offline.sources(request.inputs.get("answer", ""))

    return {"faq_questions": questions, "faq_answer": answer, "faq_draft": draft, "faq_sources": sources}


@dataclass
class ChainRun:
    chain: str
    mode: str  # parallel | sequential
    page_cache: str  # warm: extraction reused (pages still fetched); cold: fetched and extracted
    wall_ms: float  # median over the repeats
    llm_calls: int
    expected_calls: int
    critical_path_calls: int
    items: int
    wall_over_latency: float | None
    over_critical_path_limit: float | None  # parallel only: wall / (critical path × latency)


@dataclass
class FaqBenchResult:
    questions: int
    latency_ms: float
    concurrency_cap: int
    pages: int
    repeats: int
    runs: list[ChainRun]
    ratios: dict[str, float]  # per chain: sequential wall / parallel wall
    reference: dict[str, float]


async def _one(
    urls: list[str],
    *,
    chain: Chain,
    parallel: bool,
    questions: int,
    llm: SimulatedLLM,
    fetcher: PageFetcher,
    cache: MemoryPageCache | None,
) -> tuple[float, FaqResult, int]:
    llm.reset()
    started = time.perf_counter()
    result = await build_faq(
        urls,
        questions=questions,
        chain=chain,
        parallel=parallel,
        runner=StepRunner(llm),
        fetcher=fetcher,
        page_cache=cache,
    )
    return time.perf_counter() - started, result, call_depth(llm.spans)


async def run(*, latency_s: float, questions: int = 10, repeats: int = 3) -> FaqBenchResult:
    runs: list[ChainRun] = []
    walls: dict[tuple[str, str], float] = {}
    async with serve_docs() as urls, PageFetcher(allowed_hosts=["127.0.0.1"]) as fetcher:
        loaded = await asyncio.gather(*(load_page(url, fetcher) for url in urls))
        pages = [p for p in loaded if isinstance(p, Page)]
        llm = SimulatedLLM(latency_s, extra=faq_responders(OfflineFaq(pages)), concurrency=questions)
        cache = MemoryPageCache()
        await _one(
            urls, chain="grounded", parallel=True, questions=questions, llm=llm, fetcher=fetcher, cache=cache
        )  # warm-up: fills the page cache, as a second /faq on the same pages would find it
        plan: list[tuple[Chain, bool, bool]] = [
            ("grounded", True, True),
            ("grounded", True, False),
            ("grounded", False, True),
            ("three-step", True, True),
            ("three-step", True, False),
            ("three-step", False, True),
        ]
        for chain, parallel, warm in plan:
            mode = "parallel" if parallel else "sequential"
            samples = [
                await _one(
                    urls,
                    chain=chain,
                    parallel=parallel,
                    questions=questions,
                    llm=llm,
                    fetcher=fetcher,
                    cache=cache if warm else None,
                )
                for _ in range(repeats if parallel else 1)
            ]
            wall = statistics.median(s[0] for s in samples)
            _, result, depth = samples[-1]
            if warm:
                walls[(chain, mode)] = wall
            limit = CRITICAL_PATH[chain] * latency_s
            runs.append(
                ChainRun(
                    chain=chain,
                    mode=mode,
                    page_cache="warm" if warm else "cold",
                    wall_ms=round(wall * 1000, 1),
                    llm_calls=result.llm_calls,
                    expected_calls=EXPECTED_CALLS[chain](questions),
                    critical_path_calls=depth,
                    items=len(result.items),
                    wall_over_latency=round(wall / latency_s, 3) if latency_s else None,
                    over_critical_path_limit=round(wall / limit, 3) if latency_s and parallel else None,
                )
            )
    ratios = {
        chain: round(walls[(chain, "sequential")] / walls[(chain, "parallel")], 2)
        for chain in ("grounded", "three-step")
    }
    return FaqBenchResult(
        questions=questions,
        latency_ms=latency_s * 1000,
        concurrency_cap=questions,
        pages=len(urls),
        repeats=repeats,
        runs=runs,
        ratios=ratios,
        reference=REFERENCE,
    )
