"""The FAQ pipeline end to end against the local site: call counts and critical paths of both chains,
grounding of citations, the offline engine, partial failure, limits, progress and the page cache."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from workflows.faq import CachedPage, FaqError, MemoryPageCache, PageFetcher, ProgressEvent, build_faq
from workflows.faq.extract import extract_html
from workflows.llm.base import LLMRequest, LLMUnavailable
from workflows.llm.runner import StepRunner
from workflows.llm.scripted import FunctionLLM

SHARED_PAGES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pages"
L = 0.2  # simulated model latency (seconds) for the critical-path tests

RETURNS, BILLING = "/fixtures/returns.html", "/fixtures/billing.html"
QA = [  # question, page, the sentence that answers it
    ("How long do I have to return a product?", RETURNS, "You can return most products within 30 days of delivery."),
    ("Where can I find my invoices?", BILLING, "All invoices are listed under Billing in your account settings."),
    ("How do I start a return?", RETURNS, "Open your order history, choose the order and select Return items."),
    (
        "Which payment methods do you accept?",
        BILLING,
        "We accept credit cards, debit cards, PayPal and bank transfers.",
    ),
    (
        "When will I get my refund?",
        RETURNS,
        "Refunds are issued within 5 business days after the return arrives at our warehouse.",
    ),
    (
        "Why was I charged twice?",
        BILLING,
        "A double charge is usually a pending card authorization that your bank releases within three days.",
    ),
]


class Model:
    """A scripted model that knows the fixture pages; records when each call finished."""

    def __init__(self, base: str, *, latency: float = L, cite: str = "honest") -> None:
        self.base = base
        self.cite = cite
        self.finished: list[float] = []
        self.llm = FunctionLLM(self.respond, latency_s=latency)

    def _qa(self, question: str) -> tuple[str, str]:
        _, path, sentence = next(qa for qa in QA if qa[0] == question)
        return self.base + path, sentence

    def citations(self, question: str) -> list[dict[str, str]]:
        url, sentence = self._qa(question)
        honest = [{"url": url, "quote": sentence}]
        if self.cite == "honest":
            return honest
        fabricated = [
            {"url": url, "quote": "Returns are free forever and refunds arrive within one hour."},
            {"url": "https://evil.example/returns.html", "quote": sentence},
        ]
        if self.cite == "mixed":
            return honest + fabricated
        return fabricated  # "fabricated": nothing true

    def respond(self, request: LLMRequest[Any]) -> dict[str, Any]:
        self.finished.append(time.perf_counter())
        question = request.inputs.get("question", "")
        if request.step == "faq_questions":
            return {"questions": [q for q, _, _ in QA][: request.inputs["n"]]}
        if request.step == "faq_answer":
            return {"answer": f"In short: {self._qa(question)[1]}", "citations": self.citations(question)}
        if request.step == "faq_draft":
            return {"answer": self._qa(question)[1]}
        if request.step == "faq_sources":
            return {"citations": self.citations(question)}
        raise AssertionError(f"unexpected step {request.step}")

    def span(self) -> float:
        """Time from the first call's start to the last call's end, in units of the latency."""
        return (max(self.finished) - min(self.finished) + self.llm.latency_s) / self.llm.latency_s


def urls(site: str, *paths: str) -> list[str]:
    return [site + p for p in (paths or (RETURNS, BILLING))]


# --- call counts and critical paths ------------------------------------------------------------


@pytest.mark.parametrize(("chain", "calls", "path"), [("grounded", 6, 2), ("three-step", 11, 3)])
async def test_parallel_chains(site: str, fetcher: PageFetcher, chain: str, calls: int, path: int) -> None:
    model = Model(site)
    result = await build_faq(
        urls(site),
        questions=5,
        chain=chain,
        runner=StepRunner(model.llm),  # type: ignore[arg-type]
        fetcher=fetcher,
    )
    assert result.llm_calls == calls == len(model.llm.requests)
    assert path <= model.span() < path + 0.8, f"critical path {model.span():.2f} L"
    assert len(result.items) == 5 and result.unsupported == 0
    given = set(urls(site))
    for item, (question, page, sentence) in zip(result.items, QA, strict=False):
        assert item.question == question
        assert [(s.url, s.quote) for s in item.sources] == [(site + page, sentence)]
        assert all(s.url in given for s in item.sources)
    assert result.citations_verified == result.citations == 5
    # every call of the FAQ shares one system prompt and one context block under one key
    assert len({(r.system, r.context, r.context_key) for r in model.llm.requests}) == 1
    context = model.llm.requests[0].context or ""
    assert "Returns and refunds" in context and "Where can I find my invoices?" in context


@pytest.mark.parametrize(("chain", "calls"), [("grounded", 6), ("three-step", 11)])
async def test_sequential_chains(site: str, fetcher: PageFetcher, chain: str, calls: int) -> None:
    model = Model(site, latency=0.05)
    result = await build_faq(
        urls(site),
        questions=5,
        chain=chain,
        parallel=False,  # type: ignore[arg-type]
        runner=StepRunner(model.llm),
        fetcher=fetcher,
    )
    assert result.llm_calls == calls and not result.parallel
    assert model.span() >= calls * 0.95, f"{model.span():.2f} L for {calls} calls one after another"
    assert len(result.items) == 5


async def test_result_json_matches_the_spec(site: str, fetcher: PageFetcher) -> None:
    model = Model(site, latency=0)
    result = await build_faq(urls(site), questions=2, runner=StepRunner(model.llm), fetcher=fetcher)
    data = result.to_json_dict()
    assert set(data) == {"items", "failed_pages", "llm_calls"} and data["llm_calls"] == 3
    assert set(data["items"][0]) == {"question", "answer", "sources"}
    assert set(data["items"][0]["sources"][0]) == {"title", "url", "quote"}
    assert data["items"][0]["sources"][0]["title"] == "Returns and refunds"


# --- grounding ---------------------------------------------------------------------------------


async def test_fabricated_citations_are_dropped(site: str, fetcher: PageFetcher) -> None:
    model = Model(site, latency=0, cite="mixed")
    result = await build_faq(urls(site), questions=5, runner=StepRunner(model.llm), fetcher=fetcher)
    assert len(result.items) == 5
    for item in result.items:
        assert len(item.sources) == 1 and "evil.example" not in item.sources[0].url
        assert "forever" not in item.sources[0].quote
    assert (result.citations, result.citations_verified) == (15, 5)


async def test_answers_without_a_verified_citation_are_left_out(site: str, fetcher: PageFetcher) -> None:
    model = Model(site, latency=0, cite="fabricated")
    for chain in ("grounded", "three-step"):
        result = await build_faq(
            urls(site),
            questions=4,
            chain=chain,
            runner=StepRunner(model.llm),  # type: ignore[arg-type]
            fetcher=fetcher,
        )
        assert result.items == [] and result.unsupported == 4
        assert (result.citations, result.citations_verified) == (8, 0)


# --- offline engine and fallbacks --------------------------------------------------------------


async def test_offline_faq_cites_the_right_page(site: str, fetcher: PageFetcher) -> None:
    result = await build_faq(urls(site), questions=6, runner=StepRunner(None), fetcher=fetcher)
    assert result.llm_calls == 0 and len(result.items) == 6
    fixtures = Path(__file__).parent / "fixtures" / "faq"
    texts = {site + p: extract_html((fixtures / p.rsplit("/", 1)[1]).read_bytes()).text for p in (RETURNS, BILLING)}
    for item in result.items:
        (source,) = item.sources
        other = next(u for u in texts if u != source.url)
        assert source.quote in texts[source.url] and source.quote not in texts[other]
        assert source.quote.split(".")[0] in item.answer
    by_question = {i.question: i.sources[0].url for i in result.items}
    assert by_question["How long do I have to return a product?"] == site + RETURNS
    assert by_question["Where can I find my invoices?"] == site + BILLING
    assert by_question["Which payment methods do you accept?"] == site + BILLING
    # deterministic
    again = await build_faq(urls(site), questions=6, runner=StepRunner(None), fetcher=fetcher)
    assert again.items == result.items


async def test_model_failure_falls_back_per_step(site: str, fetcher: PageFetcher) -> None:
    model = Model(site, latency=0)

    def respond(request: LLMRequest[Any]) -> Any:
        return LLMUnavailable("down") if request.step == "faq_answer" else model.respond(request)

    llm = FunctionLLM(respond)
    result = await build_faq(urls(site), questions=3, runner=StepRunner(llm), fetcher=fetcher)
    assert result.llm_calls == 4 and result.fallbacks == 3
    assert [i.question for i in result.items] == [q for q, _, _ in QA[:3]]  # the model's questions
    assert [i.sources[0].url for i in result.items] == [site + RETURNS, site + BILLING, site + RETURNS]


async def test_offline_faq_on_shared_doc_pages(site: str, fetcher: PageFetcher) -> None:
    if not SHARED_PAGES.is_dir():
        pytest.skip(f"shared pages not present at {SHARED_PAGES}")
    pages = urls(site, "/shared/killbill/latest/faq.html", "/shared/auroraextensions-simplereturns/index.html")
    result = await build_faq(pages, questions=8, runner=StepRunner(None), fetcher=fetcher)
    assert len(result.items) == 8 and not result.failed_pages
    cited = {i.question: i.sources[0] for i in result.items}
    assert cited["What is Simple Returns?"].url == pages[1]
    assert cited["How stable are your APIs?"].url == pages[0]
    assert all(i.sources[0].url in pages for i in result.items)
    assert result.citations_verified == result.citations


# --- failures and limits -----------------------------------------------------------------------


async def test_a_failing_page_is_named_and_the_rest_used(site: str, fetcher: PageFetcher) -> None:
    given = urls(site, RETURNS, "/fixtures/missing.html", "/image.png")
    result = await build_faq(given, questions=3, runner=StepRunner(None), fetcher=fetcher)
    assert [(f.url, f.reason) for f in result.failed_pages] == [
        (given[1], f"{given[1]} answered 404 Not Found"),
        (given[2], f"{given[2]} is image/png, not an HTML or text page"),
    ]
    assert result.items and all(s.url == given[0] for i in result.items for s in i.sources)


async def test_all_pages_failing_is_a_clear_error(site: str, fetcher: PageFetcher) -> None:
    with pytest.raises(FaqError) as caught:
        await build_faq(urls(site, "/nope-1", "/nope-2"), runner=StepRunner(None), fetcher=fetcher)
    assert str(caught.value) == f"None of the pages could be used: {site}/nope-1 answered 404 Not Found (and 1 more)"
    assert len(caught.value.failed_pages) == 2


async def test_refused_page_is_reported_not_fetched(fetcher: PageFetcher) -> None:
    with pytest.raises(FaqError, match=r"169\.254\.169\.254/ is refused: it resolves to a link-local address"):
        await build_faq(["http://169.254.169.254/"], runner=StepRunner(None), fetcher=fetcher)


@pytest.mark.parametrize(
    ("given", "questions", "message"),
    [
        ([f"https://example.com/{i}" for i in range(11)], 5, "At most 10 links per FAQ (11 given)"),
        ([], 5, "Give at least one link"),
        (["https://example.com/"], 21, "between 1 and 20 (21 given)"),
        (["https://example.com/"], 0, "between 1 and 20 (0 given)"),
    ],
)
async def test_request_limits(given: list[str], questions: int, message: str) -> None:
    model = FunctionLLM(lambda r: AssertionError("no call expected"))
    with pytest.raises(FaqError, match=message.replace("(", r"\(").replace(")", r"\)")):
        await build_faq(given, questions=questions, runner=StepRunner(model), fetcher=PageFetcher())
    assert model.requests == []


# --- progress, page cache, context budget ------------------------------------------------------


async def test_progress_events(site: str, fetcher: PageFetcher) -> None:
    events: list[ProgressEvent] = []

    async def on_progress(event: ProgressEvent) -> None:
        events.append(event)

    model = Model(site, latency=0.01)
    result = await build_faq(
        urls(site),
        questions=3,
        chain="three-step",
        runner=StepRunner(model.llm),
        fetcher=fetcher,
        on_progress=on_progress,
    )
    stages = [e.stage for e in events]
    assert stages[0] == "fetch" and stages[-1] == "done"
    assert {"questions", "answers", "sources"} <= set(stages)
    assert events[-1].done == events[-1].total == len(result.items) == 3
    assert all(0 <= e.done <= e.total for e in events)


async def test_slow_or_failing_progress_callback_does_not_hold_the_faq(site: str, fetcher: PageFetcher) -> None:
    delivered: list[ProgressEvent] = []

    async def slow(event: ProgressEvent) -> None:
        delivered.append(event)
        await asyncio.sleep(0.3)  # a rate-limited chat message edit
        if event.stage == "fetch":
            raise RuntimeError("message edit failed")

    model = Model(site, latency=0.02)
    result = await build_faq(urls(site), questions=5, runner=StepRunner(model.llm), fetcher=fetcher, on_progress=slow)
    assert len(result.items) == 5
    assert delivered[-1].stage == "done"
    assert len(delivered) <= 4  # 12 events were emitted; the slow callback saw only the latest ones


async def test_page_cache_reuses_unchanged_pages(site: str, fetcher: PageFetcher) -> None:
    cache = MemoryPageCache()
    model = Model(site, latency=0)
    first = await build_faq(urls(site), questions=2, runner=StepRunner(model.llm), fetcher=fetcher, page_cache=cache)
    assert first.pages_reused == 0 and set(cache.pages) == set(urls(site))
    second = await build_faq(urls(site), questions=2, runner=StepRunner(model.llm), fetcher=fetcher, page_cache=cache)
    assert second.pages_reused == 2 and second.items == first.items
    assert len({r.context_key for r in model.llm.requests}) == 1
    stale = cache.pages[site + RETURNS]
    cache.pages[stale.url] = CachedPage(stale.url, "Old title", "Old text that is gone.", "0" * 64)
    third = await build_faq(urls(site), questions=2, runner=StepRunner(model.llm), fetcher=fetcher, page_cache=cache)
    assert third.pages_reused == 1 and cache.pages[stale.url].title == "Returns and refunds"


async def test_long_pages_are_cut_and_the_prompt_says_so(site: str, fetcher: PageFetcher) -> None:
    model = Model(site, latency=0)
    result = await build_faq(
        urls(site), questions=2, runner=StepRunner(model.llm), fetcher=fetcher, max_context_tokens=150
    )
    assert set(result.pages_cut) == set(urls(site))
    context = model.llm.requests[0].context or ""
    assert context.count("the rest of this page was cut") == 2
    assert len(context) < 600 + 700  # 150 tokens of page text plus the page headers
    assert 'marked "cut" shows only its beginning' in model.llm.requests[0].system
